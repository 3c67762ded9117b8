"""The rule for each hyperparameter name the built-in factories take, and the range checks only those rules use.

Values set after construction (``set_hyperparams``, param-group values) are checked here exactly as the
factories check them, through the primitives of [`optimtx.core.validation`][optimtx.core.validation].
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from optimtx.core.validation import (
    _check_finite_number,
    _check_type,
    _same_kind,
    check_betas,
    check_finite,
    check_non_negative,
    check_unit_interval,
    is_number,
)

__all__ = [
    "HYPERPARAMETER_CHECKS",
    "check_at_least_one",
    "check_at_most_zero",
    "check_etas",
    "check_hyperparameter",
    "check_pair",
    "check_step_sizes",
]


def check_at_most_zero(name: str, value: Any) -> None:
    """Raise unless ``value`` is a finite number <= 0 (a 0-d tensor is accepted unchecked).

    Example:
        >>> check_at_most_zero("beta2_decay", 0.8)
        Traceback (most recent call last):
        ...
        ValueError: Invalid beta2_decay: 0.8. It must be a number <= 0.
    """
    check_finite(name, value)
    if is_number(value) and value > 0:
        raise ValueError(f"Invalid {name}: {value!r}. It must be a number <= 0.")


def check_at_least_one(name: str, value: Any) -> None:
    """Raise unless ``value`` is a finite number >= 1 (a 0-d tensor is accepted unchecked).

    Example:
        >>> check_at_least_one("d", 0.0)
        Traceback (most recent call last):
        ...
        ValueError: Invalid d: 0.0. It must be a number >= 1.
    """
    check_finite(name, value)
    if is_number(value) and not value >= 1:
        raise ValueError(f"Invalid {name}: {value!r}. It must be a number >= 1.")


def check_pair(name: str, value: Any) -> tuple[Any, Any]:
    """Return ``value`` as a pair if it is a sequence (not a string) of two entries, else raise ``ValueError``.

    Example:
        >>> check_pair("etas", (0.5,))
        Traceback (most recent call last):
        ...
        ValueError: Invalid etas: (0.5,). It must be a pair of numbers.
    """
    if isinstance(value, (str, bytes)) or not isinstance(value, (tuple, list)) or len(value) != 2:
        raise ValueError(f"Invalid {name}: {value!r}. It must be a pair of numbers.")
    _same_kind(name, value)
    return value[0], value[1]


def check_etas(etas: Any, name: str = "etas") -> tuple[Any, Any]:
    """Return Rprop's ``etas`` as a pair after checking ``0 < etas[0] < 1 < etas[1]``.

    Example:
        >>> check_etas((1.0, 0.5))
        Traceback (most recent call last):
        ...
        ValueError: Invalid etas: (1.0, 0.5). They must satisfy 0 < etas[0] < 1 < etas[1].
    """
    minus, plus = check_pair(name, etas)
    check_non_negative(f"{name}[0]", minus)
    check_non_negative(f"{name}[1]", plus)
    if is_number(minus) and is_number(plus) and not 0.0 < minus < 1.0 < plus:
        raise ValueError(f"Invalid {name}: {etas!r}. They must satisfy 0 < etas[0] < 1 < etas[1].")
    return minus, plus


def check_step_sizes(step_sizes: Any, name: str = "step_sizes") -> tuple[Any, Any]:
    """Return Rprop's ``step_sizes`` as a (minimum, maximum) pair of numbers >= 0, minimum <= maximum.

    Example:
        >>> check_step_sizes((2.0, 1.0))
        Traceback (most recent call last):
        ...
        ValueError: Invalid step_sizes: (2.0, 1.0). The minimum must not exceed the maximum.
    """
    low, high = check_pair(name, step_sizes)
    check_non_negative(f"{name}[0]", low)
    check_non_negative(f"{name}[1]", high)
    if is_number(low) and is_number(high) and low > high:
        raise ValueError(f"Invalid {name}: {step_sizes!r}. The minimum must not exceed the maximum.")
    return low, high


def _unit(name: str, value: Any) -> None:
    check_unit_interval(name, value)


def _closed_unit(name: str, value: Any) -> None:
    check_unit_interval(name, value, closed_right=True)


# The rule for each hyperparameter name the built-in factories take, so values set after
# construction (``set_hyperparams``) are checked exactly as the factories check them.
HYPERPARAMETER_CHECKS: dict[str, Callable[[str, Any], Any]] = {
    "lr": check_non_negative,
    "learning_rate": check_non_negative,
    "weight_decay": check_non_negative,
    "eps": check_non_negative,
    "momentum": check_non_negative,
    "dampening": check_finite,
    "lr_decay": check_non_negative,
    "initial_accumulator_value": check_non_negative,
    "b1": _unit,
    "b2": _unit,
    "alpha": _closed_unit,
    "rho": _closed_unit,
    "momentum_decay": check_non_negative,
    "lambd": check_non_negative,
    "t0": check_non_negative,
    "weight_lr_power": check_non_negative,
    "trust_coefficient": check_non_negative,
    "beta2_decay": check_at_most_zero,
    "d": check_at_least_one,
    "etas": lambda name, value: check_etas(value, name),
    "step_sizes": lambda name, value: check_step_sizes(value, name),
    "factor": check_finite,
    "max_norm": lambda name, value: check_non_negative(name, value, allow_inf=True),
    "clip_value": lambda name, value: check_non_negative(name, value, allow_inf=True),
    "betas": lambda name, value: check_betas(value, name),
    # muon_with_adamw passes these on to adamw as lr, betas, eps, weight_decay: the same rules.
    "adamw_lr": check_non_negative,
    "adamw_eps": check_non_negative,
    "adamw_weight_decay": check_non_negative,
    "adamw_betas": lambda name, value: check_betas(value, name),
}


def check_hyperparameter(name: str, value: Any, rules: Mapping[str, Callable[[str, Any], Any]] | None = None) -> None:
    """Check ``value`` by the rule the built-in factories use for a hyperparameter called ``name``.

    Names without a rule only need to be numbers or 0-d tensors (or sequences of them, not mixed).
    ``rules`` replaces ``HYPERPARAMETER_CHECKS`` (a transform whose
    factory checks a name differently passes its own rules).

    Example:
        >>> check_hyperparameter("betas", (2.0, 3.0))
        Traceback (most recent call last):
        ...
        ValueError: Invalid betas[0]: 2.0. It must be in [0, 1).
    """
    rule = (HYPERPARAMETER_CHECKS if rules is None else rules).get(name)
    if rule is not None:
        rule(name, value)
    elif isinstance(value, (tuple, list)):
        _same_kind(name, value)
        for i, v in enumerate(value):
            _check_type(f"{name}[{i}]", v, schedule=False)
            _check_finite_number(f"{name}[{i}]", v, allow_inf=False)
    else:
        _check_type(name, value, schedule=False)
        _check_finite_number(name, value, allow_inf=False)
