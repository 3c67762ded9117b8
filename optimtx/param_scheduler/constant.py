"""Constant factor: scale by ``factor`` from ``begin`` until the last step before ``end``."""

from __future__ import annotations

from typing import Any

from optimtx.core.validation import check_number_in
from optimtx.param_scheduler.base import INF, _ParamScheduler, check_window

__all__ = ["ConstantParamScheduler"]


class ConstantParamScheduler(_ParamScheduler):
    """Multiply ``param_name`` by ``factor`` at ``begin`` and undo it at ``end - 1`` (chainable).

    With the default ``end=INF`` the factor is never undone.

    Args:
        optimizer: a ``torch.optim.Optimizer`` or an OptimWrapper-like object.
        param_name: the ``param_groups`` key to schedule.
        factor: the multiplier, in ``(0, 1]`` (``[0, 1]`` when ``end`` is ``INF``).
        begin, end, last_step, by_epoch, verbose, count_skipped_steps: see `_ParamScheduler`.

    Example:
        >>> import torch
        >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
        >>> sched = ConstantParamScheduler(opt, "lr", factor=0.5, end=3)
        >>> values = []
        >>> for _ in range(4):
        ...     values.append(opt.param_groups[0]["lr"])
        ...     opt.step(); sched.step()
        >>> values
        [0.5, 0.5, 1.0, 1.0]
    """

    def __init__(
        self,
        optimizer: Any,
        param_name: str,
        factor: float = 1.0 / 3,
        begin: int = 0,
        end: int = INF,
        last_step: int = -1,
        by_epoch: bool = True,
        verbose: bool = False,
        *,
        count_skipped_steps: bool = False,
    ) -> None:
        check_window(begin, end, last_step)  # before any arithmetic on the window
        # 0 is allowed only when the factor is never undone (end=INF): undoing divides by it.
        check_number_in("factor", factor, 0.0, 1.0, open_low=end != INF)
        self.factor = factor
        self.total_iters = end - begin - 1
        super().__init__(
            optimizer, param_name, begin, end, last_step, by_epoch, verbose, count_skipped_steps=count_skipped_steps
        )

    def _get_value(self) -> list[Any]:
        if self.last_step == 0:
            return self._scaled_current(self.factor)
        if self.last_step == self.total_iters:
            return self._scaled_current(1.0 / self.factor)
        return self._current_values()
