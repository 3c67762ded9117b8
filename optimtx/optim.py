"""MMEngine-style import path: ``from optimtx.optim import OptimWrapper`` (port code by renaming ``mmengine``)."""

from __future__ import annotations

from optimtx.wrapper.amp_optim_wrapper import AmpOptimWrapper as AmpOptimWrapper
from optimtx.wrapper.optim_wrapper import OptimWrapper as OptimWrapper
from optimtx.wrapper.builder import build_optim_wrapper as build_optim_wrapper
from optimtx.wrapper.constructor import DefaultOptimWrapperConstructor as DefaultOptimWrapperConstructor
from optimtx.wrapper.optim_wrapper_dict import OptimWrapperDict as OptimWrapperDict
from optimtx.wrapper.registries import OPTIM_WRAPPER_CONSTRUCTORS as OPTIM_WRAPPER_CONSTRUCTORS
from optimtx.wrapper.registries import OPTIM_WRAPPERS as OPTIM_WRAPPERS
from optimtx.wrapper.registries import OPTIMIZERS as OPTIMIZERS
from optimtx.wrapper.zero_optimizer import ZeroRedundancyOptimizer as ZeroRedundancyOptimizer

__all__ = [
    "OPTIMIZERS",
    "OPTIM_WRAPPERS",
    "OPTIM_WRAPPER_CONSTRUCTORS",
    "AmpOptimWrapper",
    "DefaultOptimWrapperConstructor",
    "OptimWrapper",
    "OptimWrapperDict",
    "ZeroRedundancyOptimizer",
    "build_optim_wrapper",
]
