"""Exponential decay: multiply by ``gamma`` at every step after the first."""

from __future__ import annotations

from typing import Any

from optimtx.core.validation import check_finite_non_negative
from optimtx.param_scheduler.base import INF, _ParamScheduler

__all__ = ["ExponentialParamScheduler"]


class ExponentialParamScheduler(_ParamScheduler):
    """Multiply ``param_name`` by ``gamma`` at every step (chainable).

    Args:
        optimizer: a ``torch.optim.Optimizer`` or an OptimWrapper-like object.
        param_name: the ``param_groups`` key to schedule.
        gamma: the multiplicative decay per step (a finite number >= 0).
        begin, end, last_step, by_epoch, verbose, count_skipped_steps: see `_ParamScheduler`.

    Example:
        >>> import torch
        >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
        >>> sched = ExponentialParamScheduler(opt, "lr", gamma=0.5)
        >>> for _ in range(3):
        ...     opt.step(); sched.step()
        >>> sched.get_last_value()
        [0.125]
    """

    def __init__(
        self,
        optimizer: Any,
        param_name: str,
        gamma: float,
        begin: int = 0,
        end: int = INF,
        last_step: int = -1,
        by_epoch: bool = True,
        verbose: bool = False,
        *,
        count_skipped_steps: bool = False,
    ) -> None:
        check_finite_non_negative("gamma", gamma)
        self.gamma = gamma
        super().__init__(
            optimizer, param_name, begin, end, last_step, by_epoch, verbose, count_skipped_steps=count_skipped_steps
        )

    def _get_value(self) -> list[Any]:
        if self.last_step == 0:
            return self._current_values()
        return self._scaled_current(self.gamma)
