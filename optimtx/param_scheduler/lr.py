"""Learning-rate schedulers: the generic schedulers with ``param_name`` fixed to ``"lr"``.

Each class takes the arguments of its ``*ParamScheduler`` counterpart minus
``param_name``, in the same order.
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


class LRSchedulerMixin:
    """Mixin that passes ``param_name="lr"`` to the scheduler it precedes in the bases.

    Example:
        >>> LinearLR.__mro__[1].__name__
        'LRSchedulerMixin'
    """

    def __init__(self, optimizer: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(optimizer, "lr", *args, **kwargs)  # type: ignore[call-arg]


class ConstantLR(LRSchedulerMixin, ConstantParamScheduler):
    """Scale the learning rate by ``factor`` until step ``end - 1``; see :class:`ConstantParamScheduler`.

    Example:
        >>> import torch
        >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
        >>> sched = ConstantLR(opt, factor=0.5, end=2)
        >>> values = []
        >>> for _ in range(3):
        ...     values.append(round(opt.param_groups[0]["lr"], 6))
        ...     opt.step(); sched.step()
        >>> values
        [0.5, 1.0, 1.0]
    """


class CosineAnnealingLR(LRSchedulerMixin, CosineAnnealingParamScheduler):
    """Cosine annealing of the learning rate; see :class:`CosineAnnealingParamScheduler`.

    Example:
        >>> import torch
        >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
        >>> sched = CosineAnnealingLR(opt, T_max=2, eta_min=0.0)
        >>> values = []
        >>> for _ in range(3):
        ...     values.append(round(opt.param_groups[0]["lr"], 6))
        ...     opt.step(); sched.step()
        >>> values
        [1.0, 0.5, 0.0]
    """


class CosineRestartLR(LRSchedulerMixin, CosineRestartParamScheduler):
    """Cosine annealing of the learning rate with warm restarts; see :class:`CosineRestartParamScheduler`.

    Example:
        >>> import torch
        >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
        >>> sched = CosineRestartLR(opt, periods=[2, 1], restart_weights=[1, 0.5], eta_min=0)
        >>> values = []
        >>> for _ in range(3):
        ...     values.append(round(opt.param_groups[0]["lr"], 6))
        ...     opt.step(); sched.step()
        >>> values
        [1.0, 0.5, 0.5]
    """


class ExponentialLR(LRSchedulerMixin, ExponentialParamScheduler):
    """Multiply the learning rate by ``gamma`` each step; see :class:`ExponentialParamScheduler`.

    Example:
        >>> import torch
        >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
        >>> sched = ExponentialLR(opt, gamma=0.5)
        >>> values = []
        >>> for _ in range(3):
        ...     values.append(round(opt.param_groups[0]["lr"], 6))
        ...     opt.step(); sched.step()
        >>> values
        [1.0, 0.5, 0.25]
    """


class LinearLR(LRSchedulerMixin, LinearParamScheduler):
    """Linear learning-rate warmup (or decay) by a factor; see :class:`LinearParamScheduler`.

    Example:
        >>> import torch
        >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
        >>> sched = LinearLR(opt, start_factor=0.5, end=2)
        >>> values = []
        >>> for _ in range(3):
        ...     values.append(round(opt.param_groups[0]["lr"], 6))
        ...     opt.step(); sched.step()
        >>> values
        [0.5, 1.0, 1.0]
    """


class MultiStepLR(LRSchedulerMixin, MultiStepParamScheduler):
    """Decay the learning rate by ``gamma`` at each milestone; see :class:`MultiStepParamScheduler`.

    Example:
        >>> import torch
        >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
        >>> sched = MultiStepLR(opt, milestones=[1], gamma=0.5)
        >>> values = []
        >>> for _ in range(3):
        ...     values.append(round(opt.param_groups[0]["lr"], 6))
        ...     opt.step(); sched.step()
        >>> values
        [1.0, 0.5, 0.5]
    """


class OneCycleLR(LRSchedulerMixin, OneCycleParamScheduler):
    """The 1cycle learning-rate policy; see :class:`OneCycleParamScheduler`.

    Example:
        >>> import torch
        >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
        >>> sched = OneCycleLR(opt, eta_max=1.0, total_steps=3, pct_start=0.5, anneal_strategy="linear",
        ...                    div_factor=2.0, final_div_factor=5.0)
        >>> sched = sched
        >>> values = []
        >>> for _ in range(3):
        ...     values.append(round(opt.param_groups[0]["lr"], 6))
        ...     opt.step(); sched.step()
        >>> values
        [0.5, 0.7, 0.1]
    """


class PolyLR(LRSchedulerMixin, PolyParamScheduler):
    """Polynomial decay of the learning rate; see :class:`PolyParamScheduler`.

    Example:
        >>> import torch
        >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
        >>> sched = PolyLR(opt, eta_min=0.0, end=3)
        >>> values = []
        >>> for _ in range(3):
        ...     values.append(round(opt.param_groups[0]["lr"], 6))
        ...     opt.step(); sched.step()
        >>> values
        [1.0, 0.5, 0.0]
    """


class ReduceOnPlateauLR(LRSchedulerMixin, ReduceOnPlateauParamScheduler):
    """Reduce the learning rate when a metric plateaus; see :class:`ReduceOnPlateauParamScheduler`.

    Example:
        >>> import torch
        >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
        >>> sched = ReduceOnPlateauLR(opt, monitor="acc", rule="greater", factor=0.5, patience=0)
        >>> sched.step({"acc": 0.9}); sched.step({"acc": 0.8})
        >>> opt.param_groups[0]["lr"]
        0.5
    """


class StepLR(LRSchedulerMixin, StepParamScheduler):
    """Decay the learning rate by ``gamma`` every ``step_size`` steps; see :class:`StepParamScheduler`.

    Example:
        >>> import torch
        >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
        >>> sched = StepLR(opt, step_size=2, gamma=0.5)
        >>> values = []
        >>> for _ in range(3):
        ...     values.append(round(opt.param_groups[0]["lr"], 6))
        ...     opt.step(); sched.step()
        >>> values
        [1.0, 1.0, 0.5]
    """
