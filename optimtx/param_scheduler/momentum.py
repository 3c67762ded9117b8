"""Momentum schedulers: the generic schedulers on ``momentum`` (``betas[0]`` for Adam-like optimizers).

Each class takes the arguments of its ``*ParamScheduler`` counterpart minus
``param_name``, in the same order; it is generated from that class by
`make_variant`, so each curve is defined once.
There is no one-cycle momentum scheduler.
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
from optimtx.param_scheduler.variants import make_variant

__all__ = [
    "ConstantMomentum",
    "CosineAnnealingMomentum",
    "CosineRestartMomentum",
    "ExponentialMomentum",
    "LinearMomentum",
    "MomentumSchedulerMixin",
    "MultiStepMomentum",
    "PolyMomentum",
    "ReduceOnPlateauMomentum",
    "StepMomentum",
]


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
        added = []
        if self.use_betas:
            for group in optimizer.param_groups:
                added.append("momentum" not in group)
                group["momentum"] = group["betas"][0]
        try:
            super().__init__(optimizer, "momentum", *args, **kwargs)  # type: ignore[call-arg]
        except BaseException:  # a refused argument leaves the optimizer as it was
            # Same length by construction; strict=False so that this clean-up can never mask the original error.
            for group, was_added in zip(optimizer.param_groups, added, strict=False):
                if was_added:
                    del group["momentum"]
            raise

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


def _momentum(base: type) -> type[Any]:
    return make_variant(base, MomentumSchedulerMixin, "Momentum", "momentum", __name__)


ConstantMomentum = _momentum(ConstantParamScheduler)
CosineAnnealingMomentum = _momentum(CosineAnnealingParamScheduler)
CosineRestartMomentum = _momentum(CosineRestartParamScheduler)
ExponentialMomentum = _momentum(ExponentialParamScheduler)
LinearMomentum = _momentum(LinearParamScheduler)
MultiStepMomentum = _momentum(MultiStepParamScheduler)
PolyMomentum = _momentum(PolyParamScheduler)
ReduceOnPlateauMomentum = _momentum(ReduceOnPlateauParamScheduler)
StepMomentum = _momentum(StepParamScheduler)
