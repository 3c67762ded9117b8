"""MMEngine-style import path: port ``from mmengine.optim import X`` by renaming ``mmengine`` to ``optimtx``."""

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

# -- parameter schedulers (optimtx.param_scheduler) --
from optimtx.param_scheduler import INF as INF  # noqa: E402
from optimtx.param_scheduler import ConstantLR as ConstantLR  # noqa: E402
from optimtx.param_scheduler import ConstantMomentum as ConstantMomentum  # noqa: E402
from optimtx.param_scheduler import ConstantParamScheduler as ConstantParamScheduler  # noqa: E402
from optimtx.param_scheduler import CosineAnnealingLR as CosineAnnealingLR  # noqa: E402
from optimtx.param_scheduler import CosineAnnealingMomentum as CosineAnnealingMomentum  # noqa: E402
from optimtx.param_scheduler import CosineAnnealingParamScheduler as CosineAnnealingParamScheduler  # noqa: E402
from optimtx.param_scheduler import CosineRestartLR as CosineRestartLR  # noqa: E402
from optimtx.param_scheduler import CosineRestartMomentum as CosineRestartMomentum  # noqa: E402
from optimtx.param_scheduler import CosineRestartParamScheduler as CosineRestartParamScheduler  # noqa: E402
from optimtx.param_scheduler import ExponentialLR as ExponentialLR  # noqa: E402
from optimtx.param_scheduler import ExponentialMomentum as ExponentialMomentum  # noqa: E402
from optimtx.param_scheduler import ExponentialParamScheduler as ExponentialParamScheduler  # noqa: E402
from optimtx.param_scheduler import LinearLR as LinearLR  # noqa: E402
from optimtx.param_scheduler import LinearMomentum as LinearMomentum  # noqa: E402
from optimtx.param_scheduler import LinearParamScheduler as LinearParamScheduler  # noqa: E402
from optimtx.param_scheduler import LRSchedulerMixin as LRSchedulerMixin  # noqa: E402
from optimtx.param_scheduler import MomentumSchedulerMixin as MomentumSchedulerMixin  # noqa: E402
from optimtx.param_scheduler import MultiStepLR as MultiStepLR  # noqa: E402
from optimtx.param_scheduler import MultiStepMomentum as MultiStepMomentum  # noqa: E402
from optimtx.param_scheduler import MultiStepParamScheduler as MultiStepParamScheduler  # noqa: E402
from optimtx.param_scheduler import OneCycleLR as OneCycleLR  # noqa: E402
from optimtx.param_scheduler import OneCycleParamScheduler as OneCycleParamScheduler  # noqa: E402
from optimtx.param_scheduler import PolyLR as PolyLR  # noqa: E402
from optimtx.param_scheduler import PolyMomentum as PolyMomentum  # noqa: E402
from optimtx.param_scheduler import PolyParamScheduler as PolyParamScheduler  # noqa: E402
from optimtx.param_scheduler import ReduceOnPlateauLR as ReduceOnPlateauLR  # noqa: E402
from optimtx.param_scheduler import ReduceOnPlateauMomentum as ReduceOnPlateauMomentum  # noqa: E402
from optimtx.param_scheduler import ReduceOnPlateauParamScheduler as ReduceOnPlateauParamScheduler  # noqa: E402
from optimtx.param_scheduler import StepLR as StepLR  # noqa: E402
from optimtx.param_scheduler import StepMomentum as StepMomentum  # noqa: E402
from optimtx.param_scheduler import StepParamScheduler as StepParamScheduler  # noqa: E402
from optimtx.param_scheduler import _ParamScheduler as _ParamScheduler  # noqa: E402
from optimtx.param_scheduler import __all__ as _scheduler_names  # noqa: E402

__all__ += [name for name in _scheduler_names if name != "SCHEDULER_CLASSES"]
__all__.sort()
# -- end parameter schedulers --
