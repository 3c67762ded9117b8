"""Cosine annealing, without and with warm restarts (SGDR)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from optimtx.core.validation import check_finite_non_negative, check_int_at_least, check_int_list
from optimtx.param_scheduler.base import INF, _ParamScheduler, check_window

__all__ = ["CosineAnnealingParamScheduler", "CosineRestartParamScheduler"]


def _check_eta_min(eta_min: float | None, eta_min_ratio: float | None) -> None:
    if (eta_min is None) == (eta_min_ratio is None):
        raise ValueError(
            f"Give exactly one of eta_min and eta_min_ratio, got eta_min={eta_min!r}, eta_min_ratio={eta_min_ratio!r}."
        )
    for name, value in (("eta_min", eta_min), ("eta_min_ratio", eta_min_ratio)):
        if value is not None:
            check_finite_non_negative(name, value)


def _floor_value(base_value: Any, eta_min: float | None, eta_min_ratio: float | None) -> Any:
    return eta_min if eta_min_ratio is None else base_value * eta_min_ratio


def _cosine_ratio(step: int, period: int) -> float:
    """Ratio of the cosine curve's height above its floor at ``step`` to that at ``step - 1``."""
    return (1 + math.cos(math.pi * step / period)) / (1 + math.cos(math.pi * (step - 1) / period))


class CosineAnnealingParamScheduler(_ParamScheduler):
    """Anneal ``param_name`` from its initial value to ``eta_min`` along a half cosine (chainable).

    Past ``T_max`` steps the curve continues (rising again), as torch's
    ``CosineAnnealingLR`` does; set ``end`` to stop it.

    Args:
        optimizer: a ``torch.optim.Optimizer`` or an OptimWrapper-like object.
        param_name: the ``param_groups`` key to schedule.
        T_max: the half period in steps; ``None`` (or 0) means ``end - begin``.
        eta_min: the lowest value (default 0 when ``eta_min_ratio`` is not given).
        begin, end, last_step, by_epoch, verbose, count_skipped_steps: see `_ParamScheduler`.
        eta_min_ratio: the lowest value as a fraction of the initial one
            (give it instead of ``eta_min``).

    Example:
        >>> import torch
        >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
        >>> sched = CosineAnnealingParamScheduler(opt, "lr", T_max=2, end=3)
        >>> values = []
        >>> for _ in range(3):
        ...     values.append(round(opt.param_groups[0]["lr"], 6))
        ...     opt.step(); sched.step()
        >>> values
        [1.0, 0.5, 0.0]
    """

    epoch_args = ("T_max",)

    def __init__(
        self,
        optimizer: Any,
        param_name: str,
        T_max: int | None = None,
        eta_min: float | None = None,
        begin: int = 0,
        end: int = INF,
        last_step: int = -1,
        by_epoch: bool = True,
        verbose: bool = False,
        eta_min_ratio: float | None = None,
        *,
        count_skipped_steps: bool = False,
    ) -> None:
        check_window(begin, end, last_step)  # before any arithmetic on the window
        if eta_min is None and eta_min_ratio is None:
            eta_min = 0.0
        _check_eta_min(eta_min, eta_min_ratio)
        if T_max is not None:
            check_int_at_least("T_max", T_max, 0)
        self.T_max = T_max or (end - begin)
        self.eta_min = eta_min
        self.eta_min_ratio = eta_min_ratio
        super().__init__(
            optimizer, param_name, begin, end, last_step, by_epoch, verbose, count_skipped_steps=count_skipped_steps
        )

    def _get_value(self) -> list[Any]:
        if self.last_step == 0:
            return self._current_values()
        pairs = list(zip(self.base_values, self._current_values(), strict=True))
        if (self.last_step - 1 - self.T_max) % (2 * self.T_max) == 0:
            # At the trough the ratio form divides by zero; step up by the curve's first increment instead.
            rise = (1 - math.cos(math.pi / self.T_max)) / 2
            return [value + (base - self._floor(base)) * rise for base, value in pairs]
        ratio = _cosine_ratio(self.last_step, self.T_max)
        return [ratio * (value - self._floor(base)) + self._floor(base) for base, value in pairs]

    def _floor(self, base_value: Any) -> Any:
        return _floor_value(base_value, self.eta_min, self.eta_min_ratio)


class CosineRestartParamScheduler(_ParamScheduler):
    """Cosine annealing restarted at the start of each period (SGDR).

    Period ``i`` lasts ``periods[i]`` steps and starts from the initial value times
    ``restart_weights[i]``. After the last period the value is left alone.

    Args:
        optimizer: a ``torch.optim.Optimizer`` or an OptimWrapper-like object.
        param_name: the ``param_groups`` key to schedule.
        periods: the length of each cosine cycle, in steps.
        restart_weights: the weight of each cycle's starting value (same length as ``periods``).
        eta_min: the lowest value.
        eta_min_ratio: the lowest value as a fraction of the initial one
            (give exactly one of ``eta_min`` and ``eta_min_ratio``).
        begin, end, last_step, by_epoch, verbose, count_skipped_steps: see `_ParamScheduler`.

    Example:
        >>> import torch
        >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
        >>> sched = CosineRestartParamScheduler(opt, "lr", periods=[2, 2], restart_weights=[1, 0.5], eta_min=0)
        >>> values = []
        >>> for _ in range(4):
        ...     values.append(round(opt.param_groups[0]["lr"], 6))
        ...     opt.step(); sched.step()
        >>> values
        [1.0, 0.5, 0.5, 0.25]
    """

    epoch_args = ("periods",)
    required_epoch_args = ("periods",)

    def __init__(
        self,
        optimizer: Any,
        param_name: str,
        periods: Sequence[int],
        restart_weights: Sequence[float] = (1,),
        eta_min: float | None = None,
        eta_min_ratio: float | None = None,
        begin: int = 0,
        end: int = INF,
        last_step: int = -1,
        by_epoch: bool = True,
        verbose: bool = False,
        *,
        count_skipped_steps: bool = False,
    ) -> None:
        _check_eta_min(eta_min, eta_min_ratio)
        check_int_list("periods", periods, 1, non_empty=True)
        if isinstance(restart_weights, (str, bytes)) or not isinstance(restart_weights, (list, tuple)):
            raise TypeError(f"restart_weights must be a list of numbers >= 0, got {restart_weights!r}.")
        for weight in restart_weights:
            check_finite_non_negative("restart_weights", weight)
        if len(periods) != len(restart_weights):
            raise ValueError(
                f"periods and restart_weights must have the same length, got {len(periods)} period(s) "
                f"{list(periods)!r} and {len(restart_weights)} weight(s) {list(restart_weights)!r}."
            )
        self.periods = list(periods)
        self.eta_min = eta_min
        self.eta_min_ratio = eta_min_ratio
        self.restart_weights = list(restart_weights)
        self.cumulative_periods = [sum(self.periods[: i + 1]) for i in range(len(self.periods))]
        super().__init__(
            optimizer, param_name, begin, end, last_step, by_epoch, verbose, count_skipped_steps=count_skipped_steps
        )

    @staticmethod
    def get_position_from_periods(iteration: int, cumulative_periods: list[int]) -> int | None:
        """Index of the first cumulative period end greater than ``iteration`` (``None`` past the last).

        Example:
            >>> CosineRestartParamScheduler.get_position_from_periods(210, [100, 200, 300])
            2
        """
        for i, period_end in enumerate(cumulative_periods):
            if iteration < period_end:
                return i
        return None

    def _get_value(self) -> list[Any]:
        idx = self.get_position_from_periods(self.last_step, self.cumulative_periods)
        if idx is None:
            return self._current_values()
        weight = self.restart_weights[idx]
        step = self.last_step - (0 if idx == 0 else self.cumulative_periods[idx - 1])
        period = self.periods[idx]
        values = []
        for base, value in zip(self.base_values, self._current_values(), strict=True):
            if step == 0:
                values.append(base * weight)
                continue
            floor = _floor_value(base, self.eta_min, self.eta_min_ratio)
            values.append(_cosine_ratio(step, period) * (value - floor) + floor)
        return values
