"""optimtx: pure, composable gradient transforms for PyTorch, and an MMEngine-style facade.

Example:
    >>> import torch, optimtx as otx
    >>> params = {"w": torch.tensor([1.0, -2.0])}
    >>> tx = otx.chain(otx.clip_by_global_norm(1.0), otx.scale(-0.1))
    >>> state = tx.init(params)
    >>> updates, state = tx.update({"w": torch.tensor([3.0, 4.0])}, state, params)
    >>> otx.apply_updates(params, updates)
    {'w': tensor([ 0.9400, -2.0800])}
"""

from __future__ import annotations

import logging as _logging

__version__ = "0.1.0"

_logging.getLogger("optimtx").addHandler(_logging.NullHandler())

import warnings as _warnings  # noqa: E402

with _warnings.catch_warnings():
    # Without numpy, `import torch` warns "Failed to initialize NumPy"; optimtx never needs numpy.
    _warnings.filterwarnings("ignore", message="Failed to initialize NumPy", category=UserWarning)
    import torch as _torch  # noqa: F401

from optimtx import _old_paths  # noqa: E402

_old_paths.install()  # before anything else: a module loaded below may still use an old path

# The public surface is declared once, by each layer's ``__all__``; this package re-exports them all.
from optimtx import compile as _compile  # noqa: E402
from optimtx import core as _core  # noqa: E402
from optimtx import param_scheduler as _param_scheduler  # noqa: E402
from optimtx import schedules as schedules  # noqa: E402
from optimtx.compile import *  # noqa: E402, F403
from optimtx.config import exports as _config  # noqa: E402
from optimtx.config.exports import *  # noqa: E402, F403
from optimtx.core import *  # noqa: E402, F403
from optimtx.param_scheduler import *  # noqa: E402, F403
from optimtx.transforms import exports as _transforms  # noqa: E402
from optimtx.transforms.exports import *  # noqa: E402, F403
from optimtx.wrapper import exports as _wrapper  # noqa: E402
from optimtx.wrapper.exports import *  # noqa: E402, F403

__all__ = sorted(
    {
        "__version__",
        "schedules",
        *_core.__all__,
        *_transforms.__all__,
        *_compile.__all__,
        *_wrapper.__all__,
        *_param_scheduler.__all__,
        *_config.__all__,
    }
)
