"""Layer 4, parameter schedulers with MMEngine's names, arguments and step semantics (the curves and their stepping).

May import: core (building schedulers from configs is in ``optimtx.config.scheduler_builder``).

Three forms of each schedule: ``*ParamScheduler`` (any ``param_groups`` key, given
as ``param_name``), ``*LR`` (the learning rate) and ``*Momentum`` (momentum, or
``betas[0]`` for Adam-like optimizers; there is no one-cycle momentum form).

Example:
    >>> import torch
    >>> from optimtx.param_scheduler import LinearLR, MultiStepLR
    >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    >>> warmup = LinearLR(opt, start_factor=0.5, end=2)
    >>> decay = MultiStepLR(opt, milestones=[3])
    >>> lrs = []
    >>> for _ in range(4):
    ...     lrs.append(round(opt.param_groups[0]["lr"], 6))
    ...     opt.step(); warmup.step(); decay.step()
    >>> lrs
    [0.5, 1.0, 1.0, 0.1]
"""

from __future__ import annotations

from optimtx.param_scheduler.base import INF as INF
from optimtx.param_scheduler.base import _ParamScheduler as _ParamScheduler
from optimtx.param_scheduler.constant import ConstantParamScheduler as ConstantParamScheduler
from optimtx.param_scheduler.cosine import CosineAnnealingParamScheduler as CosineAnnealingParamScheduler
from optimtx.param_scheduler.cosine import CosineRestartParamScheduler as CosineRestartParamScheduler
from optimtx.param_scheduler.exponential import ExponentialParamScheduler as ExponentialParamScheduler
from optimtx.param_scheduler.linear import LinearParamScheduler as LinearParamScheduler
from optimtx.param_scheduler.lr import ConstantLR as ConstantLR
from optimtx.param_scheduler.lr import CosineAnnealingLR as CosineAnnealingLR
from optimtx.param_scheduler.lr import CosineRestartLR as CosineRestartLR
from optimtx.param_scheduler.lr import ExponentialLR as ExponentialLR
from optimtx.param_scheduler.lr import LinearLR as LinearLR
from optimtx.param_scheduler.lr import LRSchedulerMixin as LRSchedulerMixin
from optimtx.param_scheduler.lr import MultiStepLR as MultiStepLR
from optimtx.param_scheduler.lr import OneCycleLR as OneCycleLR
from optimtx.param_scheduler.lr import PolyLR as PolyLR
from optimtx.param_scheduler.lr import ReduceOnPlateauLR as ReduceOnPlateauLR
from optimtx.param_scheduler.lr import StepLR as StepLR
from optimtx.param_scheduler.momentum import ConstantMomentum as ConstantMomentum
from optimtx.param_scheduler.momentum import CosineAnnealingMomentum as CosineAnnealingMomentum
from optimtx.param_scheduler.momentum import CosineRestartMomentum as CosineRestartMomentum
from optimtx.param_scheduler.momentum import ExponentialMomentum as ExponentialMomentum
from optimtx.param_scheduler.momentum import LinearMomentum as LinearMomentum
from optimtx.param_scheduler.momentum import MomentumSchedulerMixin as MomentumSchedulerMixin
from optimtx.param_scheduler.momentum import MultiStepMomentum as MultiStepMomentum
from optimtx.param_scheduler.momentum import PolyMomentum as PolyMomentum
from optimtx.param_scheduler.momentum import ReduceOnPlateauMomentum as ReduceOnPlateauMomentum
from optimtx.param_scheduler.momentum import StepMomentum as StepMomentum
from optimtx.param_scheduler.one_cycle import OneCycleParamScheduler as OneCycleParamScheduler
from optimtx.param_scheduler.poly import PolyParamScheduler as PolyParamScheduler
from optimtx.param_scheduler.reduce_on_plateau import ReduceOnPlateauParamScheduler as ReduceOnPlateauParamScheduler
from optimtx.param_scheduler.step import MultiStepParamScheduler as MultiStepParamScheduler
from optimtx.param_scheduler.step import StepParamScheduler as StepParamScheduler

# Every public scheduler class, for registration in a PARAM_SCHEDULERS registry.
SCHEDULER_CLASSES: tuple[type, ...] = (
    ConstantParamScheduler,
    CosineAnnealingParamScheduler,
    CosineRestartParamScheduler,
    ExponentialParamScheduler,
    LinearParamScheduler,
    MultiStepParamScheduler,
    OneCycleParamScheduler,
    PolyParamScheduler,
    ReduceOnPlateauParamScheduler,
    StepParamScheduler,
    ConstantLR,
    CosineAnnealingLR,
    CosineRestartLR,
    ExponentialLR,
    LinearLR,
    MultiStepLR,
    OneCycleLR,
    PolyLR,
    ReduceOnPlateauLR,
    StepLR,
    ConstantMomentum,
    CosineAnnealingMomentum,
    CosineRestartMomentum,
    ExponentialMomentum,
    LinearMomentum,
    MultiStepMomentum,
    PolyMomentum,
    ReduceOnPlateauMomentum,
    StepMomentum,
)

__all__ = [
    "INF",
    "ConstantLR",
    "ConstantMomentum",
    "ConstantParamScheduler",
    "CosineAnnealingLR",
    "CosineAnnealingMomentum",
    "CosineAnnealingParamScheduler",
    "CosineRestartLR",
    "CosineRestartMomentum",
    "CosineRestartParamScheduler",
    "ExponentialLR",
    "ExponentialMomentum",
    "ExponentialParamScheduler",
    "LRSchedulerMixin",
    "LinearLR",
    "LinearMomentum",
    "LinearParamScheduler",
    "MomentumSchedulerMixin",
    "MultiStepLR",
    "MultiStepMomentum",
    "MultiStepParamScheduler",
    "OneCycleLR",
    "OneCycleParamScheduler",
    "PolyLR",
    "PolyMomentum",
    "PolyParamScheduler",
    "ReduceOnPlateauLR",
    "ReduceOnPlateauMomentum",
    "ReduceOnPlateauParamScheduler",
    "StepLR",
    "StepMomentum",
    "StepParamScheduler",
]
