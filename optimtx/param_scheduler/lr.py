"""Learning-rate schedulers: the generic schedulers with ``param_name`` fixed to ``"lr"``.

Each class takes the arguments of its ``*ParamScheduler`` counterpart minus
``param_name``, in the same order; it is generated from that class by
`make_variant`, so each curve is defined once.
"""

from __future__ import annotations

from typing import Any

from optimtx.param_scheduler.constant import ConstantParamScheduler
from optimtx.param_scheduler.cosine import CosineAnnealingParamScheduler, CosineRestartParamScheduler
from optimtx.param_scheduler.exponential import ExponentialParamScheduler
from optimtx.param_scheduler.linear import LinearParamScheduler
from optimtx.param_scheduler.one_cycle import OneCycleParamScheduler
from optimtx.param_scheduler.poly import PolyParamScheduler
from optimtx.param_scheduler.reduce_on_plateau import ReduceOnPlateauParamScheduler
from optimtx.param_scheduler.step import MultiStepParamScheduler, StepParamScheduler
from optimtx.param_scheduler.variants import make_variant

__all__ = [
    "ConstantLR",
    "CosineAnnealingLR",
    "CosineRestartLR",
    "ExponentialLR",
    "LRSchedulerMixin",
    "LinearLR",
    "MultiStepLR",
    "OneCycleLR",
    "PolyLR",
    "ReduceOnPlateauLR",
    "StepLR",
]


class LRSchedulerMixin:
    """Mixin that passes ``param_name="lr"`` to the scheduler it precedes in the bases.

    Example:
        >>> LinearLR.__mro__[1].__name__
        'LRSchedulerMixin'
    """

    def __init__(self, optimizer: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(optimizer, "lr", *args, **kwargs)  # type: ignore[call-arg]


def _lr(base: type) -> type[Any]:
    return make_variant(base, LRSchedulerMixin, "LR", "lr", __name__)


ConstantLR = _lr(ConstantParamScheduler)
CosineAnnealingLR = _lr(CosineAnnealingParamScheduler)
CosineRestartLR = _lr(CosineRestartParamScheduler)
ExponentialLR = _lr(ExponentialParamScheduler)
LinearLR = _lr(LinearParamScheduler)
MultiStepLR = _lr(MultiStepParamScheduler)
OneCycleLR = _lr(OneCycleParamScheduler)
PolyLR = _lr(PolyParamScheduler)
ReduceOnPlateauLR = _lr(ReduceOnPlateauParamScheduler)
StepLR = _lr(StepParamScheduler)
