"""MMEngine-style import path: port ``from mmengine.optim import X`` by renaming ``mmengine`` to ``optimtx``."""

from __future__ import annotations

from optimtx.config.builder import build_optim_wrapper as build_optim_wrapper
from optimtx.config.constructor import DefaultOptimWrapperConstructor as DefaultOptimWrapperConstructor
from optimtx.config.multi_constructor import MultiOptimWrapperConstructor as MultiOptimWrapperConstructor
from optimtx.config.registries import OPTIM_WRAPPER_CONSTRUCTORS as OPTIM_WRAPPER_CONSTRUCTORS
from optimtx.config.registries import OPTIM_WRAPPERS as OPTIM_WRAPPERS
from optimtx.config.registries import OPTIMIZERS as OPTIMIZERS
from optimtx.wrapper.amp_optim_wrapper import AmpOptimWrapper as AmpOptimWrapper
from optimtx.wrapper.optim_wrapper import OptimWrapper as OptimWrapper
from optimtx.wrapper.optim_wrapper_dict import OptimWrapperDict as OptimWrapperDict
from optimtx.wrapper.zero_optimizer import ZeroRedundancyOptimizer as ZeroRedundancyOptimizer

__all__ = [
    "AmpOptimWrapper",
    "DefaultOptimWrapperConstructor",
    "MultiOptimWrapperConstructor",
    "OPTIMIZERS",
    "OPTIM_WRAPPERS",
    "OPTIM_WRAPPER_CONSTRUCTORS",
    "OptimWrapper",
    "OptimWrapperDict",
    "ZeroRedundancyOptimizer",
    "build_optim_wrapper",
]

# -- parameter schedulers (optimtx.param_scheduler) --
from optimtx.config.scheduler_builder import build_param_schedulers as build_param_schedulers
from optimtx.config.scheduler_builder import build_scheduler_from_cfg as build_scheduler_from_cfg
from optimtx.param_scheduler import INF as INF
from optimtx.param_scheduler import ConstantLR as ConstantLR
from optimtx.param_scheduler import ConstantMomentum as ConstantMomentum
from optimtx.param_scheduler import ConstantParamScheduler as ConstantParamScheduler
from optimtx.param_scheduler import CosineAnnealingLR as CosineAnnealingLR
from optimtx.param_scheduler import CosineAnnealingMomentum as CosineAnnealingMomentum
from optimtx.param_scheduler import CosineAnnealingParamScheduler as CosineAnnealingParamScheduler
from optimtx.param_scheduler import CosineRestartLR as CosineRestartLR
from optimtx.param_scheduler import CosineRestartMomentum as CosineRestartMomentum
from optimtx.param_scheduler import CosineRestartParamScheduler as CosineRestartParamScheduler
from optimtx.param_scheduler import ExponentialLR as ExponentialLR
from optimtx.param_scheduler import ExponentialMomentum as ExponentialMomentum
from optimtx.param_scheduler import ExponentialParamScheduler as ExponentialParamScheduler
from optimtx.param_scheduler import LinearLR as LinearLR
from optimtx.param_scheduler import LinearMomentum as LinearMomentum
from optimtx.param_scheduler import LinearParamScheduler as LinearParamScheduler
from optimtx.param_scheduler import LRSchedulerMixin as LRSchedulerMixin
from optimtx.param_scheduler import MomentumSchedulerMixin as MomentumSchedulerMixin
from optimtx.param_scheduler import MultiStepLR as MultiStepLR
from optimtx.param_scheduler import MultiStepMomentum as MultiStepMomentum
from optimtx.param_scheduler import MultiStepParamScheduler as MultiStepParamScheduler
from optimtx.param_scheduler import OneCycleLR as OneCycleLR
from optimtx.param_scheduler import OneCycleParamScheduler as OneCycleParamScheduler
from optimtx.param_scheduler import PolyLR as PolyLR
from optimtx.param_scheduler import PolyMomentum as PolyMomentum
from optimtx.param_scheduler import PolyParamScheduler as PolyParamScheduler
from optimtx.param_scheduler import ReduceOnPlateauLR as ReduceOnPlateauLR
from optimtx.param_scheduler import ReduceOnPlateauMomentum as ReduceOnPlateauMomentum
from optimtx.param_scheduler import ReduceOnPlateauParamScheduler as ReduceOnPlateauParamScheduler
from optimtx.param_scheduler import StepLR as StepLR
from optimtx.param_scheduler import StepMomentum as StepMomentum
from optimtx.param_scheduler import StepParamScheduler as StepParamScheduler
from optimtx.param_scheduler import __all__ as _scheduler_names
from optimtx.param_scheduler import _ParamScheduler as _ParamScheduler

__all__ += _scheduler_names
__all__ += ["_ParamScheduler", "build_param_schedulers", "build_scheduler_from_cfg"]
__all__.sort()
# -- end parameter schedulers --
