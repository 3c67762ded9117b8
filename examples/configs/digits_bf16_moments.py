"""``digits_transform_adamw.py`` with the first moments stored in bfloat16 (``mu_dtype``)."""

import copy as _copy
import runpy as _runpy
from pathlib import Path as _Path

_base = _runpy.run_path(str(_Path(__file__).with_name("digits_transform_adamw.py")))
globals().update({k: v for k, v in _base.items() if not k.startswith("_")})

optim_wrapper = _copy.deepcopy(_base["optim_wrapper"])
optim_wrapper["optimizer"]["transform"]["mu_dtype"] = "bfloat16"
