"""``digits_transform_adamw.py`` with AdamW's moments stored in 8 bits (``quantize_state``).

Both moments of every tensor with at least 4096 values (the second conv kernel and the head:
98 % of the parameters) are kept as block-wise 8-bit codes; the rest stay in float32.
Compare the final test accuracy and the state bytes per parameter with
``digits_transform_adamw.py`` (docs/frontier.md).
"""

import copy as _copy
import runpy as _runpy
from pathlib import Path as _Path

_base = _runpy.run_path(str(_Path(__file__).with_name("digits_transform_adamw.py")))
globals().update({k: v for k, v in _base.items() if not k.startswith("_")})

optim_wrapper = _copy.deepcopy(_base["optim_wrapper"])
optim_wrapper["optimizer"]["transform"] = dict(
    type="quantize_state", inner=optim_wrapper["optimizer"]["transform"], bits=8, min_size=4096
)
