"""Reduce a hyperparameter when a validation metric stops improving."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from optimtx.core.logging import print_log
from optimtx.core.validation import check_choice, check_finite_non_negative, check_int_at_least, check_number_in
from optimtx.param_scheduler.base import INF, _ParamScheduler, record_initial_values

__all__ = ["ReduceOnPlateauParamScheduler"]

_RULES = ("less", "greater")
_THRESHOLD_RULES = ("rel", "abs")


def _raw_group_count(optimizer: Any) -> int:
    """Param groups of the optimizer itself (a wrapper's ``param_groups`` may add a base-settings entry)."""
    inner: Any = getattr(optimizer, "optimizer", None)
    return len(inner.param_groups) if hasattr(inner, "param_groups") else len(optimizer.param_groups)


class ReduceOnPlateauParamScheduler(_ParamScheduler):
    """Multiply ``param_name`` by ``factor`` after ``patience`` steps without improvement of ``monitor``.

    Like torch's ``ReduceLROnPlateau``, driven by ``step(metrics)`` with a dict of
    validation results; ``step()`` without metrics only counts an epoch (the
    ``[begin, end)`` window is measured in those epochs). Only epoch-based use is
    supported. The class attribute ``need_val_args`` tells a training loop to call
    ``step(metrics)`` after validation.

    Args:
        optimizer: a ``torch.optim.Optimizer`` or an OptimWrapper-like object.
        param_name: the ``param_groups`` key to schedule.
        monitor: the key of the metric to watch in ``metrics``.
        rule: ``"less"`` (lower is better) or ``"greater"``.
        factor: the multiplier applied on a plateau (< 1).
        patience: steps without improvement tolerated before reducing.
        threshold: the least change that counts as an improvement (>= 0).
        threshold_rule: ``"rel"`` (relative to the best) or ``"abs"``.
        cooldown: steps to wait after a reduction before counting again.
        min_value: a lower bound, or one per param group of the optimizer itself
            (for a wrapper with a base-settings entry, the last bound is reused for it).
        eps: reductions smaller than this are skipped.
        begin, end, last_step, by_epoch, verbose, count_skipped_steps: see `_ParamScheduler`.

    Example:
        >>> import torch
        >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
        >>> sched = ReduceOnPlateauParamScheduler(opt, "lr", factor=0.5, patience=1)
        >>> for loss in [1.0, 1.0, 1.0]:
        ...     opt.step(); sched.step(); sched.step({"loss": loss})
        >>> sched.get_last_value()
        [0.5]
    """

    need_val_args = True

    def __init__(
        self,
        optimizer: Any,
        param_name: str,
        monitor: str = "loss",
        rule: str = "less",
        factor: float = 0.1,
        patience: int = 10,
        threshold: float = 1e-4,
        threshold_rule: str = "rel",
        cooldown: int = 0,
        min_value: float | Sequence[float] = 0.0,
        eps: float = 1e-8,
        begin: int = 0,
        end: int = INF,
        last_step: int = -1,
        by_epoch: bool = True,
        verbose: bool = False,
        *,
        count_skipped_steps: bool = False,
    ) -> None:
        self._attach(optimizer, param_name, begin, end, last_step, by_epoch, verbose, count_skipped_steps)
        if not by_epoch:
            raise ValueError(f"{type(self).__name__} only supports by_epoch=True, got by_epoch={by_epoch!r}.")
        if not isinstance(monitor, str):
            raise TypeError(f"monitor must be a str (a key of the metrics dict), got {monitor!r}.")
        check_number_in("factor", factor, 0.0, 1.0)
        if factor >= 1.0:
            raise ValueError(f"Invalid factor: {factor!r}. It must be < 1.0.")
        self.patience = check_int_at_least("patience", patience, 0)
        self.cooldown = check_int_at_least("cooldown", cooldown, 0)
        check_finite_non_negative("eps", eps)
        self.min_values = self._min_values(optimizer, min_value)
        self._init_is_better(rule, threshold, threshold_rule)
        record_initial_values(optimizer, param_name, last_step)
        self._global_step = 0
        self.factor = factor
        self.cooldown_counter = 0
        self.eps = eps
        self.monitor = monitor
        self._reset()
        self._last_value = self._current_values()

    @staticmethod
    def _min_values(optimizer: Any, min_value: Any) -> list[Any]:
        for value in min_value if isinstance(min_value, (list, tuple)) else [min_value]:
            check_finite_non_negative("min_value", value)
        if not isinstance(min_value, (list, tuple)):
            return [min_value] * len(optimizer.param_groups)
        expected = _raw_group_count(optimizer)
        if len(min_value) != expected:
            raise ValueError(f"expected {expected} min_values (one per optimizer param group), got {len(min_value)}.")
        values = list(min_value)
        # An OptimWrapper lists its base settings as a trailing group: bound it like the last real group.
        values += values[-1:] * (len(optimizer.param_groups) - expected)
        return values

    def _init_is_better(self, rule: str, threshold: float, threshold_rule: str) -> None:
        check_finite_non_negative("threshold", threshold)
        check_choice("rule", rule, _RULES)
        check_choice("threshold_rule", threshold_rule, _THRESHOLD_RULES)
        self.rule_worse = INF if rule == "less" else -INF
        self.rule = rule
        self.threshold = threshold
        self.threshold_rule = threshold_rule

    def _reset(self) -> None:
        self.best = self.rule_worse
        self.cooldown_counter = 0
        self.num_bad_epochs = 0

    def _is_better(self, a: Any, best: Any) -> bool:
        if self.rule == "less":
            return a < (best * (1.0 - self.threshold) if self.threshold_rule == "rel" else best - self.threshold)
        return a > (best * (self.threshold + 1.0) if self.threshold_rule == "rel" else best + self.threshold)

    def _in_cooldown(self) -> bool:
        return self.cooldown_counter > 0

    def step(self, metrics: dict[str, Any] | None = None) -> None:
        """Count an epoch (``metrics=None``) or judge ``metrics[monitor]`` and maybe reduce.

        Raises:
            TypeError: ``metrics`` is not a dict.
            KeyError: ``monitor`` is missing from ``metrics``.

        Example:
            >>> import torch
            >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
            >>> ReduceOnPlateauParamScheduler(opt, "lr").step({"acc": 0.5})
            Traceback (most recent call last):
            ...
            KeyError: "Expected key 'loss' in metrics, got keys ['acc']."
        """
        if metrics is None:
            self._global_step += 1
            return
        if not isinstance(metrics, dict):
            raise TypeError(f"metrics must be a dict, got {type(metrics).__name__}.")
        if self.begin <= self._global_step < self.end:
            self.last_step += 1
            if self.monitor not in metrics or metrics[self.monitor] is None:
                raise KeyError(f"Expected key {self.monitor!r} in metrics, got keys {list(metrics)}.")
            self._judge(metrics[self.monitor])
        self._last_value = self._current_values()

    def _judge(self, metric: Any) -> None:
        if self._is_better(metric, self.best):
            self.best = metric
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self._in_cooldown():
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # bad epochs during cooldown do not count
        if self.num_bad_epochs > self.patience:
            for i, (group, value) in enumerate(zip(self.optimizer.param_groups, self._get_value(), strict=True)):
                if group[self.param_name] - value > self.eps:
                    group[self.param_name] = value
                    self.print_value(self.verbose, i, value)
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0

    def _get_value(self) -> list[Any]:
        reduced = [float(value) * self.factor for value in self._current_values()]
        return [max(value, floor) for value, floor in zip(reduced, self.min_values, strict=True)]

    def print_value(self, is_verbose: bool, group: int, value: float) -> None:
        """Log the new value of ``group`` with the current step (only when ``is_verbose``).

        Example:
            >>> import torch
            >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
            >>> ReduceOnPlateauParamScheduler(opt, "lr").print_value(False, 0, 0.1)  # silent
        """
        if is_verbose:
            unit = "epoch" if self.by_epoch else "iter"
            print_log(
                f"Adjusting parameter value of group {group} to {value:.4e} in {unit} {self.last_step}.",
                logger="current",
            )
