"""Linear factor: move the multiplier from ``start_factor`` to ``end_factor`` over ``[begin, end)``."""

from __future__ import annotations

from typing import Any

from optimtx.core.validation import check_number_in
from optimtx.param_scheduler.base import INF, _ParamScheduler, check_window

__all__ = ["LinearParamScheduler"]


class LinearParamScheduler(_ParamScheduler):
    """Scale ``param_name`` by a factor going linearly from ``start_factor`` to ``end_factor`` (chainable).

    The factor is ``start_factor`` at ``begin`` and ``end_factor`` at ``end - 1``
    (the usual linear warmup when ``end_factor=1``).

    Args:
        optimizer: a ``torch.optim.Optimizer`` or an OptimWrapper-like object.
        param_name: the ``param_groups`` key to schedule.
        start_factor: the first multiplier, in ``(0, 1]`` (each value is derived from the previous one).
        end_factor: the last multiplier, in ``[0, 1]``.
        begin, end, last_step, by_epoch, verbose, count_skipped_steps: see `_ParamScheduler`.

    Example:
        >>> import torch
        >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
        >>> sched = LinearParamScheduler(opt, "lr", start_factor=0.25, end=4)
        >>> values = []
        >>> for _ in range(5):
        ...     values.append(round(opt.param_groups[0]["lr"], 6))
        ...     opt.step(); sched.step()
        >>> values
        [0.25, 0.5, 0.75, 1.0, 1.0]
    """

    def __init__(
        self,
        optimizer: Any,
        param_name: str,
        start_factor: float = 1.0 / 3,
        end_factor: float = 1.0,
        begin: int = 0,
        end: int = INF,
        last_step: int = -1,
        by_epoch: bool = True,
        verbose: bool = False,
        *,
        count_skipped_steps: bool = False,
    ) -> None:
        check_window(begin, end, last_step)  # before any arithmetic on the window
        check_number_in("start_factor", start_factor, 0.0, 1.0, open_low=True)
        check_number_in("end_factor", end_factor, 0.0, 1.0)
        self.start_factor = start_factor
        self.end_factor = end_factor
        self.total_iters = end - begin - 1
        super().__init__(
            optimizer, param_name, begin, end, last_step, by_epoch, verbose, count_skipped_steps=count_skipped_steps
        )

    def _get_value(self) -> list[Any]:
        if self.last_step == 0:
            return self._scaled_current(self.start_factor)
        # Ratio of the factor at last_step to the factor at last_step - 1.
        slope = self.end_factor - self.start_factor
        ratio = 1.0 + slope / (self.total_iters * self.start_factor + (self.last_step - 1) * slope)
        return self._scaled_current(ratio)
