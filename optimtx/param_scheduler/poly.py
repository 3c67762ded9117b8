"""Polynomial decay towards ``eta_min`` over ``[begin, end)``."""

from __future__ import annotations

from typing import Any

from optimtx.core.validation import check_finite_non_negative
from optimtx.param_scheduler.base import INF, _ParamScheduler, check_window

__all__ = ["PolyParamScheduler"]


class PolyParamScheduler(_ParamScheduler):
    """Decay ``param_name`` polynomially (with exponent ``power``) to ``eta_min`` at ``end - 1`` (chainable).

    Args:
        optimizer: a ``torch.optim.Optimizer`` or an OptimWrapper-like object.
        param_name: the ``param_groups`` key to schedule.
        eta_min: the final value (a finite number >= 0).
        power: the polynomial's exponent (a finite number >= 0).
        begin, end, last_step, by_epoch, verbose, count_skipped_steps: see `_ParamScheduler`.

    Example:
        >>> import torch
        >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
        >>> sched = PolyParamScheduler(opt, "lr", eta_min=0.0, power=1.0, end=5)
        >>> values = []
        >>> for _ in range(5):
        ...     values.append(round(opt.param_groups[0]["lr"], 6))
        ...     opt.step(); sched.step()
        >>> values
        [1.0, 0.75, 0.5, 0.25, 0.0]
    """

    def __init__(
        self,
        optimizer: Any,
        param_name: str,
        eta_min: float = 0,
        power: float = 1.0,
        begin: int = 0,
        end: int = INF,
        last_step: int = -1,
        by_epoch: bool = True,
        verbose: bool = False,
        *,
        count_skipped_steps: bool = False,
    ) -> None:
        check_window(begin, end, last_step)  # before any arithmetic on the window
        check_finite_non_negative("eta_min", eta_min)
        check_finite_non_negative("power", power)
        self.eta_min = eta_min
        self.power = power
        self.total_iters = end - begin - 1
        super().__init__(
            optimizer, param_name, begin, end, last_step, by_epoch, verbose, count_skipped_steps=count_skipped_steps
        )

    def _get_value(self) -> list[Any]:
        if self.last_step == 0:
            return self._current_values()
        decay = (1 - 1 / (self.total_iters - self.last_step + 1)) ** self.power
        return [(value - self.eta_min) * decay + self.eta_min for value in self._current_values()]
