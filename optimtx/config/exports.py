"""The public names of the config layer, re-exported by ``optimtx``.

Kept out of ``config/__init__.py`` so that the functions ``explain`` and ``paramwise`` do not hide
the modules of the same name (``optimtx.config.explain``, ``optimtx.config.paramwise``).
"""

from __future__ import annotations

from optimtx.config.builder import build_optim_wrapper as build_optim_wrapper
from optimtx.config.constructor import DefaultOptimWrapperConstructor as DefaultOptimWrapperConstructor
from optimtx.config.explain import ExplainRow as ExplainRow
from optimtx.config.explain import explain as explain
from optimtx.config.explain import param_group_names as param_group_names
from optimtx.config.factory import create_optimizer as create_optimizer
from optimtx.config.multi_constructor import MultiOptimWrapperConstructor as MultiOptimWrapperConstructor
from optimtx.config.paramwise import paramwise as paramwise
from optimtx.config.paramwise import paramwise_labels as paramwise_labels
from optimtx.config.registries import OPTIM_WRAPPER_CONSTRUCTORS as OPTIM_WRAPPER_CONSTRUCTORS
from optimtx.config.registries import OPTIM_WRAPPERS as OPTIM_WRAPPERS
from optimtx.config.registries import OPTIMIZERS as OPTIMIZERS
from optimtx.config.registries import PARAM_SCHEDULERS as PARAM_SCHEDULERS
from optimtx.config.registries import SCHEDULES as SCHEDULES
from optimtx.config.registries import TRANSFORMS as TRANSFORMS
from optimtx.config.scheduler_builder import build_param_schedulers as build_param_schedulers

__all__ = [
    "DefaultOptimWrapperConstructor",
    "ExplainRow",
    "MultiOptimWrapperConstructor",
    "OPTIMIZERS",
    "OPTIM_WRAPPERS",
    "OPTIM_WRAPPER_CONSTRUCTORS",
    "PARAM_SCHEDULERS",
    "SCHEDULES",
    "TRANSFORMS",
    "build_optim_wrapper",
    "build_param_schedulers",
    "create_optimizer",
    "explain",
    "param_group_names",
    "paramwise",
    "paramwise_labels",
]
