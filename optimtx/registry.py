"""MMEngine-style import path for registries: ``from optimtx.registry import OPTIM_WRAPPER_CONSTRUCTORS``.

Example:
    >>> from optimtx.registry import OPTIMIZERS
    >>> OPTIMIZERS.get("SGD")
    <class 'torch.optim.sgd.SGD'>
"""

from __future__ import annotations

import optimtx.config.constructor
import optimtx.config.multi_constructor  # noqa: F401  (registers MultiOptimWrapperConstructor)
from optimtx.config.registries import OPTIM_WRAPPER_CONSTRUCTORS as OPTIM_WRAPPER_CONSTRUCTORS
from optimtx.config.registries import OPTIM_WRAPPERS as OPTIM_WRAPPERS
from optimtx.config.registries import OPTIMIZERS as OPTIMIZERS
from optimtx.config.registries import PARAM_SCHEDULERS as PARAM_SCHEDULERS
from optimtx.config.registries import SCHEDULES as SCHEDULES
from optimtx.config.registries import TRANSFORMS as TRANSFORMS
from optimtx.core.registry import Registry as Registry
from optimtx.core.registry import allow_imports as allow_imports
from optimtx.core.registry import build_from_cfg as build_from_cfg

__all__ = [
    "OPTIMIZERS",
    "OPTIM_WRAPPERS",
    "OPTIM_WRAPPER_CONSTRUCTORS",
    "PARAM_SCHEDULERS",
    "SCHEDULES",
    "TRANSFORMS",
    "Registry",
    "allow_imports",
    "build_from_cfg",
]
