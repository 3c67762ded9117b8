"""Momentum schedulers: the generic schedulers on ``momentum`` (``betas[0]`` for Adam-like optimizers).

Each class takes the arguments of its ``*ParamScheduler`` counterpart minus
``param_name``, in the same order. There is no one-cycle momentum scheduler.
"""

from __future__ import annotations

from typing import Any

from optimtx.param_scheduler.base import check_optimizer
from optimtx.param_scheduler.constant import ConstantParamScheduler
from optimtx.param_scheduler.cosine import CosineAnnealingParamScheduler, CosineRestartParamScheduler
from optimtx.param_scheduler.exponential import ExponentialParamScheduler
from optimtx.param_scheduler.linear import LinearParamScheduler
from optimtx.param_scheduler.poly import PolyParamScheduler
from optimtx.param_scheduler.reduce_on_plateau import ReduceOnPlateauParamScheduler
from optimtx.param_scheduler.step import MultiStepParamScheduler, StepParamScheduler


class MomentumSchedulerMixin:
    """Mixin that schedules ``momentum``, mirrored into ``betas[0]`` when the optimizer has betas.

    For an optimizer whose defaults hold ``momentum`` (SGD, RMSprop) it is scheduled
    directly. For one with ``betas`` (Adam, AdamW, ...) each group gets a
    ``momentum`` entry copied from ``betas[0]``; after every step the scheduled value
    is written back as ``betas = (momentum, betas[1])``.

    Raises:
        ValueError: the optimizer has neither ``momentum`` nor ``betas``.

    Example:
        >>> import torch
        >>> opt = torch.optim.Adam([torch.zeros(1, requires_grad=True)], betas=(0.8, 0.99))
        >>> sched = StepMomentum(opt, step_size=1, gamma=0.5)
        >>> opt.step(); sched.step()
        >>> opt.param_groups[0]["betas"]
        (0.4, 0.99)
    """

    def __init__(self, optimizer: Any, *args: Any, **kwargs: Any) -> None:
        check_optimizer(optimizer)
        defaults = optimizer.defaults
        self.use_betas = "momentum" not in defaults and "betas" in defaults
        if "momentum" not in defaults and not self.use_betas:
            raise ValueError(
                "The optimizer must support momentum to use a momentum scheduler: its defaults have neither "
                f"'momentum' nor 'betas' (got keys {sorted(defaults)})."
            )
        if self.use_betas:
            for group in optimizer.param_groups:
                group["momentum"] = group["betas"][0]
        super().__init__(optimizer, "momentum", *args, **kwargs)  # type: ignore[call-arg]

    def step(self, *args: Any, **kwargs: Any) -> None:
        """Step the scheduler, then copy ``momentum`` into ``betas[0]`` if needed.

        Example:
            >>> import torch
            >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1, momentum=0.8)
            >>> sched = ExponentialMomentum(opt, gamma=0.5)
            >>> opt.step(); sched.step()
            >>> opt.param_groups[0]["momentum"]
            0.4
        """
        super().step(*args, **kwargs)  # type: ignore[misc]
        if self.use_betas:
            for group in self.optimizer.param_groups:  # type: ignore[attr-defined]
                group["betas"] = (group["momentum"], group["betas"][1])


class ConstantMomentum(MomentumSchedulerMixin, ConstantParamScheduler):
    """Scale the momentum by ``factor`` until step ``end - 1``; see :class:`ConstantParamScheduler`.

    Example:
        >>> import torch
        >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1, momentum=0.8)
        >>> sched = ConstantMomentum(opt, factor=0.5, end=2)
        >>> values = []
        >>> for _ in range(3):
        ...     values.append(round(opt.param_groups[0]["momentum"], 6))
        ...     opt.step(); sched.step()
        >>> values
        [0.4, 0.8, 0.8]
    """


class CosineAnnealingMomentum(MomentumSchedulerMixin, CosineAnnealingParamScheduler):
    """Cosine annealing of the momentum; see :class:`CosineAnnealingParamScheduler`.

    Example:
        >>> import torch
        >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1, momentum=0.8)
        >>> sched = CosineAnnealingMomentum(opt, T_max=2, eta_min=0.0)
        >>> values = []
        >>> for _ in range(3):
        ...     values.append(round(opt.param_groups[0]["momentum"], 6))
        ...     opt.step(); sched.step()
        >>> values
        [0.8, 0.4, 0.0]
    """


class CosineRestartMomentum(MomentumSchedulerMixin, CosineRestartParamScheduler):
    """Cosine annealing of the momentum with warm restarts; see :class:`CosineRestartParamScheduler`.

    Example:
        >>> import torch
        >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1, momentum=0.8)
        >>> sched = CosineRestartMomentum(opt, periods=[2, 1], restart_weights=[1, 0.5], eta_min=0)
        >>> values = []
        >>> for _ in range(3):
        ...     values.append(round(opt.param_groups[0]["momentum"], 6))
        ...     opt.step(); sched.step()
        >>> values
        [0.8, 0.4, 0.4]
    """


class ExponentialMomentum(MomentumSchedulerMixin, ExponentialParamScheduler):
    """Multiply the momentum by ``gamma`` each step; see :class:`ExponentialParamScheduler`.

    Example:
        >>> import torch
        >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1, momentum=0.8)
        >>> sched = ExponentialMomentum(opt, gamma=0.5)
        >>> values = []
        >>> for _ in range(3):
        ...     values.append(round(opt.param_groups[0]["momentum"], 6))
        ...     opt.step(); sched.step()
        >>> values
        [0.8, 0.4, 0.2]
    """


class LinearMomentum(MomentumSchedulerMixin, LinearParamScheduler):
    """Linear momentum ramp by a factor; see :class:`LinearParamScheduler`.

    Example:
        >>> import torch
        >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1, momentum=0.8)
        >>> sched = LinearMomentum(opt, start_factor=0.5, end=2)
        >>> values = []
        >>> for _ in range(3):
        ...     values.append(round(opt.param_groups[0]["momentum"], 6))
        ...     opt.step(); sched.step()
        >>> values
        [0.4, 0.8, 0.8]
    """


class MultiStepMomentum(MomentumSchedulerMixin, MultiStepParamScheduler):
    """Decay the momentum by ``gamma`` at each milestone; see :class:`MultiStepParamScheduler`.

    Example:
        >>> import torch
        >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1, momentum=0.8)
        >>> sched = MultiStepMomentum(opt, milestones=[1], gamma=0.5)
        >>> values = []
        >>> for _ in range(3):
        ...     values.append(round(opt.param_groups[0]["momentum"], 6))
        ...     opt.step(); sched.step()
        >>> values
        [0.8, 0.4, 0.4]
    """


class PolyMomentum(MomentumSchedulerMixin, PolyParamScheduler):
    """Polynomial decay of the momentum; see :class:`PolyParamScheduler`.

    Example:
        >>> import torch
        >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1, momentum=0.8)
        >>> sched = PolyMomentum(opt, eta_min=0.0, end=3)
        >>> values = []
        >>> for _ in range(3):
        ...     values.append(round(opt.param_groups[0]["momentum"], 6))
        ...     opt.step(); sched.step()
        >>> values
        [0.8, 0.4, 0.0]
    """


class ReduceOnPlateauMomentum(MomentumSchedulerMixin, ReduceOnPlateauParamScheduler):
    """Reduce the momentum when a metric plateaus; see :class:`ReduceOnPlateauParamScheduler`.

    Example:
        >>> import torch
        >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1, momentum=0.8)
        >>> sched = ReduceOnPlateauMomentum(opt, factor=0.5, patience=0)
        >>> sched.step({"loss": 1.0}); sched.step({"loss": 2.0})
        >>> opt.param_groups[0]["momentum"]
        0.4
    """


class StepMomentum(MomentumSchedulerMixin, StepParamScheduler):
    """Decay the momentum by ``gamma`` every ``step_size`` steps; see :class:`StepParamScheduler`.

    Example:
        >>> import torch
        >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1, momentum=0.8)
        >>> sched = StepMomentum(opt, step_size=2, gamma=0.5)
        >>> values = []
        >>> for _ in range(3):
        ...     values.append(round(opt.param_groups[0]["momentum"], 6))
        ...     opt.step(); sched.step()
        >>> values
        [0.8, 0.8, 0.4]
    """
