"""The digits demo with optimtx's pure ``adamw`` inside ``TransformOptimizer`` (float32 moments).

Everything but the optimizer comes from ``digits.py`` beside this file. Compare with
``digits_bf16_moments.py`` to see what bfloat16 moments cost in accuracy
(docs/optimizers_torch.md, ``mu_dtype``).
"""

import copy as _copy
import runpy as _runpy
from pathlib import Path as _Path

_base = _runpy.run_path(str(_Path(__file__).with_name("digits.py")))
globals().update({k: v for k, v in _base.items() if not k.startswith("_")})

optim_wrapper = _copy.deepcopy(_base["optim_wrapper"])
optim_wrapper["optimizer"] = dict(type="TransformOptimizer", transform=dict(type="adamw", lr=4e-3, weight_decay=0.05))
