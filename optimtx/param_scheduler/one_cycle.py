"""The 1cycle policy: warm up to ``eta_max`` then anneal far below the start (not chainable)."""

from __future__ import annotations

import math
from typing import Any

from optimtx.core.validation import check_bool, check_choice, check_finite, check_finite_non_negative, check_positive
from optimtx.param_scheduler.base import INF, _ParamScheduler, check_common_args, check_optimizer, check_window

__all__ = ["OneCycleParamScheduler"]

_ANNEAL_STRATEGIES = ("cos", "linear")


def _anneal(strategy: str, start: float, end: float, pct: float) -> float:
    if strategy == "cos":
        return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
    return (end - start) * pct + start


def _phases(param_name: str, total_steps: int, pct_start: float, three_phase: bool) -> list[dict[str, Any]]:
    """Each phase: the step it ends at and the group keys holding its start and end values."""
    initial, peak, low = f"initial_{param_name}", f"max_{param_name}", f"min_{param_name}"
    start_key, end_key = f"start_{param_name}", f"end_{param_name}"  # MMEngine's keys, so its states load
    up_end = float(pct_start * total_steps) - 1
    if three_phase:
        stops = [(up_end, initial, peak), (float(2 * pct_start * total_steps) - 2, peak, initial)]
        stops.append((total_steps - 1, initial, low))
    else:
        stops = [(up_end, initial, peak), (total_steps - 1, peak, low)]
    return [{"end_step": stop, start_key: start, end_key: end} for stop, start, end in stops]


class OneCycleParamScheduler(_ParamScheduler):
    """The 1cycle schedule (Smith & Topin, "Super-Convergence"), for ``lr`` only.

    The value starts at ``eta_max / div_factor``, rises to ``eta_max`` over the
    first ``pct_start`` of ``total_steps``, then falls to
    ``eta_max / div_factor / final_div_factor`` (with ``three_phase``, it first
    returns to the start value, then falls). Each value is computed from the
    step count alone, so this scheduler is not chainable.

    Args:
        optimizer: a ``torch.optim.Optimizer`` or an OptimWrapper-like object.
        param_name: must be ``"lr"``.
        eta_max: the peak value, or one per param group.
        total_steps: the cycle's length; ``None`` means ``end - begin``.
        pct_start: the fraction of the cycle spent rising (a float in ``[0, 1]``).
        anneal_strategy: ``"cos"`` or ``"linear"``.
        div_factor: start value = ``eta_max / div_factor``.
        final_div_factor: final value = start value / ``final_div_factor``.
        three_phase: use the three-phase variant of the original paper.
        begin, end, last_step, by_epoch, verbose, count_skipped_steps: see `_ParamScheduler`.

    Example:
        >>> import torch
        >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
        >>> sched = OneCycleParamScheduler(opt, "lr", eta_max=1.0, total_steps=4, pct_start=0.5,
        ...                                anneal_strategy="linear", div_factor=4.0, final_div_factor=2.5)
        >>> values = []
        >>> for _ in range(4):
        ...     values.append(round(opt.param_groups[0]["lr"], 6))
        ...     opt.step(); sched.step()
        >>> values
        [0.25, 1.0, 0.55, 0.1]
    """

    epoch_args = ("total_steps",)

    def __init__(
        self,
        optimizer: Any,
        param_name: str,
        eta_max: float | list[float] = 0,
        total_steps: int | None = None,
        pct_start: float = 0.3,
        anneal_strategy: str = "cos",
        div_factor: float = 25.0,
        final_div_factor: float = 1e4,
        three_phase: bool = False,
        begin: int = 0,
        end: int = INF,
        last_step: int = -1,
        by_epoch: bool = True,
        verbose: bool = False,
        *,
        count_skipped_steps: bool = False,
    ) -> None:
        check_optimizer(optimizer)
        check_window(begin, end, last_step)
        check_common_args(param_name, by_epoch, verbose, count_skipped_steps)
        if param_name != "lr":
            raise ValueError(f"OneCycle only schedules the learning rate: param_name must be 'lr', got {param_name!r}.")
        for peak in eta_max if isinstance(eta_max, (list, tuple)) else [eta_max]:
            check_finite_non_negative("eta_max", peak)
        for name, value in (("div_factor", div_factor), ("final_div_factor", final_div_factor)):
            check_positive(name, value)
            check_finite(name, value)
        check_bool("three_phase", three_phase)
        self.eta_max = list(eta_max) if isinstance(eta_max, (list, tuple)) else eta_max  # not the caller's list
        self.div_factor = div_factor
        self.final_div_factor = final_div_factor
        self.total_steps = self._check_total_steps(total_steps, begin, end)
        if not isinstance(pct_start, float) or not 0 <= pct_start <= 1:
            raise ValueError(f"Invalid pct_start: {pct_start!r}. It must be a float in [0, 1].")
        check_choice("anneal_strategy", anneal_strategy, _ANNEAL_STRATEGIES)
        self.anneal_strategy = anneal_strategy
        self._schedule_phases = _phases(param_name, self.total_steps, pct_start, three_phase)
        if last_step == -1:
            self._set_cycle_bounds(optimizer, param_name, eta_max)
        super().__init__(
            optimizer, param_name, begin, end, last_step, by_epoch, verbose, count_skipped_steps=count_skipped_steps
        )

    @staticmethod
    def _check_total_steps(total_steps: Any, begin: int, end: int) -> int:
        if total_steps is None:
            return end - begin
        if isinstance(total_steps, bool) or not isinstance(total_steps, int) or total_steps <= 0:
            raise ValueError(f"Invalid total_steps: {total_steps!r}. It must be an integer >= 1 or None.")
        return total_steps

    def _set_cycle_bounds(self, optimizer: Any, param_name: str, eta_max: Any) -> None:
        groups = optimizer.param_groups
        if isinstance(eta_max, (list, tuple)):
            if len(eta_max) != len(groups):
                raise ValueError(f"expected {len(groups)} values for max_{param_name}, got {len(eta_max)}.")
            peaks = list(eta_max)
        else:
            peaks = [eta_max] * len(groups)
        for group, peak in zip(groups, peaks, strict=True):
            group[f"initial_{param_name}"] = peak / self.div_factor
            group[f"max_{param_name}"] = peak
            group[f"min_{param_name}"] = group[f"initial_{param_name}"] / self.final_div_factor

    def _get_value(self) -> list[Any]:
        step = self.last_step
        if step > self.total_steps:
            raise ValueError(
                f"Tried to step {step + 1} times. The specified number of total steps is {self.total_steps}."
            )
        return [self._value_in_group(group, step) for group in self.optimizer.param_groups]

    def _value_in_group(self, group: dict[str, Any], step: int) -> Any:
        start_step: float = 0
        for phase in self._schedule_phases[:-1]:
            if step <= phase["end_step"]:
                break
            start_step = phase["end_step"]
        else:
            phase = self._schedule_phases[-1]
        pct = (step - start_step) / (phase["end_step"] - start_step)
        start, end = group[phase[f"start_{self.param_name}"]], group[phase[f"end_{self.param_name}"]]
        return _anneal(self.anneal_strategy, start, end, pct)

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a state; one saved by MMEngine (holding ``anneal_func``) is accepted too.

        Example:
            >>> import torch
            >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
            >>> sched = OneCycleParamScheduler(opt, "lr", eta_max=1.0, total_steps=10)
            >>> sched.load_state_dict({"anneal_func": OneCycleParamScheduler._annealing_linear})
            >>> sched.anneal_strategy
            'linear'
        """
        state = dict(state_dict) if isinstance(state_dict, dict) else state_dict
        func = state.pop("anneal_func", None) if isinstance(state, dict) else None
        if func is not None:
            state.setdefault("anneal_strategy", "linear" if "linear" in getattr(func, "__name__", "") else "cos")
        super().load_state_dict(state)

    @staticmethod
    def _annealing_cos(start: float, end: float, pct: float) -> float:
        """Cosine interpolation from ``start`` (pct=0) to ``end`` (pct=1).

        Example:
            >>> OneCycleParamScheduler._annealing_cos(1.0, 0.0, 0.5)
            0.5
        """
        return _anneal("cos", start, end, pct)

    @staticmethod
    def _annealing_linear(start: float, end: float, pct: float) -> float:
        """Linear interpolation from ``start`` (pct=0) to ``end`` (pct=1).

        Example:
            >>> OneCycleParamScheduler._annealing_linear(1.0, 0.0, 0.25)
            0.75
        """
        return _anneal("linear", start, end, pct)
