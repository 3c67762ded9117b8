"""Step decays: multiply by ``gamma`` every ``step_size`` steps, or at given milestones."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from optimtx.core.validation import check_finite_non_negative, check_int_at_least, check_int_list
from optimtx.param_scheduler.base import INF, _ParamScheduler

__all__ = ["MultiStepParamScheduler", "StepParamScheduler"]


class StepParamScheduler(_ParamScheduler):
    """Multiply ``param_name`` by ``gamma`` every ``step_size`` steps (chainable).

    Args:
        optimizer: a ``torch.optim.Optimizer`` or an OptimWrapper-like object.
        param_name: the ``param_groups`` key to schedule.
        step_size: the decay period, in steps (an integer >= 1).
        gamma: the multiplicative decay (a finite number >= 0).
        begin, end, last_step, by_epoch, verbose, count_skipped_steps: see `_ParamScheduler`.

    Example:
        >>> import torch
        >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
        >>> sched = StepParamScheduler(opt, "lr", step_size=2, gamma=0.5)
        >>> values = []
        >>> for _ in range(5):
        ...     values.append(opt.param_groups[0]["lr"])
        ...     opt.step(); sched.step()
        >>> values
        [1.0, 1.0, 0.5, 0.5, 0.25]
    """

    epoch_args = ("step_size",)
    required_epoch_args = ("step_size",)

    def __init__(
        self,
        optimizer: Any,
        param_name: str,
        step_size: int,
        gamma: float = 0.1,
        begin: int = 0,
        end: int = INF,
        last_step: int = -1,
        by_epoch: bool = True,
        verbose: bool = False,
        *,
        count_skipped_steps: bool = False,
    ) -> None:
        check_int_at_least("step_size", step_size, 1)
        check_finite_non_negative("gamma", gamma)
        self.step_size = step_size
        self.gamma = gamma
        super().__init__(
            optimizer, param_name, begin, end, last_step, by_epoch, verbose, count_skipped_steps=count_skipped_steps
        )

    def _get_value(self) -> list[Any]:
        if self.last_step == 0 or self.last_step % self.step_size != 0:
            return self._current_values()
        return self._scaled_current(self.gamma)


class MultiStepParamScheduler(_ParamScheduler):
    """Multiply ``param_name`` by ``gamma`` at each milestone step (chainable).

    A milestone listed k times multiplies by ``gamma ** k``. Note that
    ``last_step`` comes before ``begin`` in the positional order, as in MMEngine.

    Args:
        optimizer: a ``torch.optim.Optimizer`` or an OptimWrapper-like object.
        param_name: the ``param_groups`` key to schedule.
        milestones: the steps at which to decay (a list of integers >= 0).
        gamma: the multiplicative decay.
        last_step, begin, end, by_epoch, verbose, count_skipped_steps: see `_ParamScheduler`.

    Example:
        >>> import torch
        >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
        >>> sched = MultiStepParamScheduler(opt, "lr", milestones=[1, 3], gamma=0.5)
        >>> values = []
        >>> for _ in range(4):
        ...     values.append(opt.param_groups[0]["lr"])
        ...     opt.step(); sched.step()
        >>> values
        [1.0, 0.5, 0.5, 0.25]
    """

    epoch_args = ("milestones",)
    required_epoch_args = ("milestones",)

    def __init__(
        self,
        optimizer: Any,
        param_name: str,
        milestones: Iterable[int],
        gamma: float = 0.1,
        last_step: int = -1,
        begin: int = 0,
        end: int = INF,
        by_epoch: bool = True,
        verbose: bool = False,
        *,
        count_skipped_steps: bool = False,
    ) -> None:
        # A plain dict (milestone -> multiplicity) keeps state_dict loadable with weights_only=True.
        check_finite_non_negative("gamma", gamma)
        self.milestones: dict[int, int] = {}
        for milestone in check_int_list("milestones", milestones, 0):
            self.milestones[milestone] = self.milestones.get(milestone, 0) + 1
        self.gamma = gamma
        super().__init__(
            optimizer, param_name, begin, end, last_step, by_epoch, verbose, count_skipped_steps=count_skipped_steps
        )

    def _get_value(self) -> list[Any]:
        if self.last_step not in self.milestones:
            return self._current_values()
        return self._scaled_current(self.gamma ** self.milestones[self.last_step])
