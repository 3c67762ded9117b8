"""Construction-time checks of hyperparameters, with errors that name the bad value.

This is the one home of argument checks (one wording: ``Invalid <name>: <value!r>. It
must be ...`` for a bad value, ``<name> must be ..., got <value!r>.`` for a bad type).
Python numbers are checked eagerly: NaN is always refused, infinity unless the caller
allows it (``allow_inf=True``, e.g. ``max_norm``). 0-d tensors (as ``inject_hyperparams``
passes them) are checked for shape only, since reading a tensor would sync with the
device; tensors of other shapes are refused. Schedules (callables) are accepted only
where the caller says the hyperparameter supports one (``schedule=True``, e.g. a learning
rate); elsewhere they are a ``TypeError`` at once. Bools are never numbers here, and
flags accept only ``True``/``False`` (``"no"`` is a ``TypeError``, not a truthy value).
"""

from __future__ import annotations

import contextlib
import math
import numbers
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeGuard

import torch
from torch import Tensor

__all__ = [
    "check_betas",
    "check_bool",
    "check_choice",
    "check_finite",
    "check_finite_non_negative",
    "check_int_at_least",
    "check_int_list",
    "check_loss_scaling_args",
    "check_mask",
    "check_non_negative",
    "check_non_negative_int",
    "check_norm_type",
    "check_number_in",
    "check_positive",
    "check_positive_int",
    "check_real",
    "check_state_dtype",
    "check_unit_interval",
    "is_number",
]


def is_number(value: Any) -> TypeGuard[float]:
    """Whether ``value`` is a real Python (or NumPy) number; bools are not numbers here.

    For type checkers it narrows ``value`` to ``float`` (ints and NumPy reals act as floats in arithmetic).

    Example:
        >>> is_number(0.5), is_number(True), is_number("1")
        (True, False, False)
    """
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


@contextlib.contextmanager
def prefixed_arguments(prefix: str) -> Iterator[None]:
    """Re-raise the block's argument errors with ``prefix`` on the argument's name.

    For a factory that passes its ``adamw_lr`` on as another factory's ``lr``: the error the
    inner factory raises in this module's wording names ``adamw_lr``, the argument the user wrote.

    Example:
        >>> with prefixed_arguments("adamw_"):
        ...     check_non_negative("lr", -1.0)
        Traceback (most recent call last):
        ...
        ValueError: Invalid adamw_lr: -1.0. It must be a number >= 0.
    """
    try:
        yield
    except (TypeError, ValueError) as error:
        message = str(error)
        renamed = re.sub(r"^Invalid (\w)", rf"Invalid {prefix}\1", message, count=1)
        if renamed == message:
            renamed = re.sub(r"^(\w+(\[\d+\])?) must be ", rf"{prefix}\1 must be ", message, count=1)
        if renamed == message:
            raise
        raise type(error)(renamed) from error


def _check_type(name: str, value: Any, schedule: bool) -> None:
    if isinstance(value, Tensor):
        if value.ndim != 0 or not value.is_floating_point():
            raise ValueError(
                f"Invalid {name}: a {value.dtype} tensor of shape {tuple(value.shape)}. "
                "It must be a number or a 0-d floating tensor."
            )
        return
    if is_number(value) or (schedule and callable(value)):
        return
    accepted = "a number, a 0-d tensor or a schedule" if schedule else "a number or a 0-d tensor"
    raise TypeError(f"{name} must be {accepted}, got {value!r}.")


def _check_finite_number(name: str, value: Any, allow_inf: bool) -> None:
    if is_number(value) and (math.isnan(value) or (not allow_inf and math.isinf(value))):
        raise ValueError(f"Invalid {name}: {value!r}. It must be a finite number.")


def _check_bound(
    name: str, value: Any, schedule: bool, allow_inf: bool, holds: Callable[[float], bool], accepted: str
) -> None:
    """The type, then ``holds(value)`` for a number (NaN fails it), then finiteness; tensors are not read."""
    _check_type(name, value, schedule)
    if is_number(value) and not holds(value):
        raise ValueError(f"Invalid {name}: {value!r}. It must be {accepted}.")
    _check_finite_number(name, value, allow_inf)


def check_non_negative(name: str, value: Any, *, schedule: bool = False, allow_inf: bool = False) -> None:
    """Raise ``ValueError`` if ``value`` is a number below 0, NaN, or (unless ``allow_inf``) infinite.

    Example:
        >>> check_non_negative("lr", -1.0)
        Traceback (most recent call last):
        ...
        ValueError: Invalid lr: -1.0. It must be a number >= 0.
    """
    _check_bound(name, value, schedule, allow_inf, lambda v: v >= 0, "a number >= 0")


def check_positive(name: str, value: Any, *, schedule: bool = False, allow_inf: bool = False) -> None:
    """Raise ``ValueError`` if ``value`` is a number <= 0, NaN, or (unless ``allow_inf``) infinite.

    Example:
        >>> check_positive("growth_factor", 0)
        Traceback (most recent call last):
        ...
        ValueError: Invalid growth_factor: 0. It must be a number > 0.
    """
    _check_bound(name, value, schedule, allow_inf, lambda v: v > 0, "a number > 0")


def check_unit_interval(name: str, value: Any, *, closed_right: bool = False, schedule: bool = False) -> None:
    """Raise ``ValueError`` if ``value`` is a number outside ``[0, 1)`` (``[0, 1]`` if ``closed_right``).

    Example:
        >>> check_unit_interval("betas[0]", 1.0)
        Traceback (most recent call last):
        ...
        ValueError: Invalid betas[0]: 1.0. It must be in [0, 1).
    """
    _check_type(name, value, schedule)
    if not is_number(value):
        return
    ok = 0 <= value <= 1 if closed_right else 0 <= value < 1
    if not ok:
        interval = "[0, 1]" if closed_right else "[0, 1)"
        raise ValueError(f"Invalid {name}: {value!r}. It must be in {interval}.")


def check_norm_type(norm_type: Any) -> float:
    """Return ``norm_type`` as a float; ``'inf'`` strings and ``math.inf`` are accepted.

    Example:
        >>> check_norm_type("inf")
        inf
    """
    if isinstance(norm_type, str) and norm_type.lower() == "inf":
        return math.inf
    if not is_number(norm_type) or not norm_type > 0:
        raise ValueError(f"Invalid norm_type: {norm_type!r}. It must be a number > 0 or 'inf'.")
    return float(norm_type)


def check_positive_int(name: str, value: Any) -> int:
    """Return ``value`` if it is an int >= 1, else raise.

    Example:
        >>> check_positive_int("every_k", 0)
        Traceback (most recent call last):
        ...
        ValueError: Invalid every_k: 0. It must be an integer >= 1.
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an integer >= 1, got {value!r}.")
    if value < 1:
        raise ValueError(f"Invalid {name}: {value!r}. It must be an integer >= 1.")
    return value


def check_bool(name: str, value: Any) -> bool:
    """Return ``value`` if it is ``True`` or ``False``, else raise ``TypeError``.

    Example:
        >>> check_bool("average", 1)
        Traceback (most recent call last):
        ...
        TypeError: average must be True or False, got 1.
    """
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {value!r}.")
    return value


def check_mask(name: str, mask: Any) -> Any:
    """Return ``mask`` if it is ``None``, a dict of parameter name -> bool or a callable, else raise ``TypeError``.

    Example:
        >>> check_mask("mask", [True])
        Traceback (most recent call last):
        ...
        TypeError: mask must be a dict of parameter name -> bool or a callable of the params, got [True].
    """
    if mask is not None and not (callable(mask) or isinstance(mask, Mapping)):
        raise TypeError(f"{name} must be a dict of parameter name -> bool or a callable of the params, got {mask!r}.")
    return mask


def check_finite(name: str, value: Any) -> None:
    """Raise ``ValueError`` if ``value`` is a number that is NaN or infinite.

    Example:
        >>> check_finite("factor", float("nan"))
        Traceback (most recent call last):
        ...
        ValueError: Invalid factor: nan. It must be a finite number.
    """
    _check_type(name, value, schedule=False)
    _check_finite_number(name, value, allow_inf=False)


def check_non_negative_int(name: str, value: Any) -> int:
    """Return ``value`` if it is an int >= 0, else raise.

    Example:
        >>> check_non_negative_int("transition_begin", -1)
        Traceback (most recent call last):
        ...
        ValueError: Invalid transition_begin: -1. It must be an integer >= 0.
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an integer >= 0, got {value!r}.")
    if value < 0:
        raise ValueError(f"Invalid {name}: {value!r}. It must be an integer >= 0.")
    return value


def check_state_dtype(name: str, value: Any) -> torch.dtype | None:
    """Return ``value`` as a floating ``torch.dtype`` (or ``None``); names such as ``'bfloat16'`` are accepted.

    Used for ``mu_dtype`` (the dtype a state buffer is stored in), which configs give as a string.

    Example:
        >>> check_state_dtype("mu_dtype", "bfloat16")
        torch.bfloat16
        >>> check_state_dtype("mu_dtype", "int8")
        Traceback (most recent call last):
        ...
        ValueError: Invalid mu_dtype: 'int8'. It must be None or a floating dtype such as torch.bfloat16 or 'float32'.
    """
    if value is None:
        return None
    dtype = value
    if isinstance(value, str):
        dtype = getattr(torch, value.removeprefix("torch."), None)
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        if not isinstance(value, (str, torch.dtype)):
            raise TypeError(f"{name} must be None, a torch.dtype or a dtype name such as 'bfloat16', got {value!r}.")
        raise ValueError(
            f"Invalid {name}: {value!r}. It must be None or a floating dtype such as torch.bfloat16 or 'float32'."
        )
    return dtype


def check_int_at_least(name: str, value: Any, minimum: int) -> int:
    """Return ``value`` if it is an int >= ``minimum`` (bools refused), else raise.

    Example:
        >>> check_int_at_least("begin", -2, 0)
        Traceback (most recent call last):
        ...
        ValueError: Invalid begin: -2. It must be an integer >= 0.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer >= {minimum}, got {value!r}.")
    if value < minimum:
        raise ValueError(f"Invalid {name}: {value!r}. It must be an integer >= {minimum}.")
    return int(value)


def check_number_in(name: str, value: Any, low: float, high: float, *, open_low: bool = False) -> None:
    """Raise unless ``value`` is a real number in ``[low, high]`` (``(low, high]`` if ``open_low``).

    Example:
        >>> check_number_in("start_factor", 0.0, 0.0, 1.0, open_low=True)
        Traceback (most recent call last):
        ...
        ValueError: Invalid start_factor: 0.0. It must be a number in (0.0, 1.0].
    """
    if not is_number(value):
        raise TypeError(f"{name} must be a number, got {value!r}.")
    ok = (low < value if open_low else low <= value) and value <= high
    if not ok:
        raise ValueError(f"Invalid {name}: {value!r}. It must be a number in {'(' if open_low else '['}{low}, {high}].")


def check_choice(name: str, value: Any, choices: tuple[Any, ...]) -> Any:
    """Return ``value`` if it is one of ``choices`` (compared by equality, same type), else raise ``ValueError``.

    Example:
        >>> check_choice("rule", "lower", ("less", "greater"))
        Traceback (most recent call last):
        ...
        ValueError: Invalid rule: 'lower'. It must be one of ('less', 'greater').
    """
    if not any(type(value) is type(choice) and value == choice for choice in choices):
        raise ValueError(f"Invalid {name}: {value!r}. It must be one of {choices!r}.")
    return value


def check_finite_non_negative(name: str, value: Any) -> None:
    """Raise unless ``value`` is a finite number >= 0 (a 0-d tensor is accepted unchecked).

    Example:
        >>> check_finite_non_negative("gamma", float("nan"))
        Traceback (most recent call last):
        ...
        ValueError: Invalid gamma: nan. It must be a finite number >= 0.
    """
    _check_type(name, value, schedule=False)
    if is_number(value) and not (math.isfinite(value) and value >= 0):
        raise ValueError(f"Invalid {name}: {value!r}. It must be a finite number >= 0.")


def check_int_list(name: str, value: Any, minimum: int, *, non_empty: bool = False) -> list[int]:
    """Return ``value`` as a list if it is a sequence (not a string) of ints >= ``minimum``, else raise.

    Example:
        >>> check_int_list("milestones", ["2"], 0)
        Traceback (most recent call last):
        ...
        TypeError: milestones must be a list of integers >= 0, got ['2'].
    """
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple, range)):
        raise TypeError(f"{name} must be a list of integers >= {minimum}, got {value!r}.")
    if non_empty and not value:
        raise ValueError(f"Invalid {name}: {value!r}. It must not be empty.")
    for item in value:
        if isinstance(item, bool) or not isinstance(item, numbers.Integral):
            raise TypeError(f"{name} must be a list of integers >= {minimum}, got {value!r}.")
        if item < minimum:
            raise ValueError(f"Invalid {name}: {value!r}. Every entry must be an integer >= {minimum}.")
    return [int(item) for item in value]


def check_real(name: str, value: Any) -> float:
    """Return ``value`` as a float if it is a finite real number (not a bool), else raise.

    Example:
        >>> check_real("init_value", float("inf"))
        Traceback (most recent call last):
        ...
        ValueError: Invalid init_value: inf. It must be a finite number.
    """
    if not is_number(value):
        raise TypeError(f"{name} must be a finite number, got {value!r}.")
    _check_finite_number(name, value, allow_inf=False)
    return float(value)


def check_betas(betas: Any, name: str = "betas", *, count: int = 2) -> tuple[Any, ...]:
    """Return ``betas`` as a tuple after checking that it holds ``count`` numbers in [0, 1).

    Example:
        >>> check_betas((0.9, 1.5))
        Traceback (most recent call last):
        ...
        ValueError: Invalid betas[1]: 1.5. It must be in [0, 1).
    """
    if isinstance(betas, (str, bytes)) or not isinstance(betas, (tuple, list)) or len(betas) != count:
        shape = "a pair (beta1, beta2)" if count == 2 else f"{count} numbers"
        raise ValueError(f"Invalid {name}: {betas!r}. It must be {shape}, each in [0, 1).")
    _same_kind(name, betas)
    for i, beta in enumerate(betas):
        check_unit_interval(f"{name}[{i}]", beta)
    return tuple(betas)


def check_loss_scaling_args(init_scale: Any, growth_factor: Any, backoff_factor: Any, growth_interval: Any) -> None:
    """Check GradScaler-style arguments (shared by ``scale_by_amp`` and the facade's ``LossScaler``).

    ``init_scale`` must be a finite number > 0 (an infinite scale would skip every step).

    Example:
        >>> check_loss_scaling_args(2.0**16, 2.0, 1.5, 2000)
        Traceback (most recent call last):
        ...
        ValueError: Invalid backoff_factor: 1.5. It must be a number in (0, 1).
    """
    check_positive("init_scale", init_scale)
    check_positive("growth_factor", growth_factor)
    check_positive("backoff_factor", backoff_factor)
    check_positive_int("growth_interval", growth_interval)
    if is_number(growth_factor) and growth_factor <= 1.0:
        raise ValueError(f"Invalid growth_factor: {growth_factor!r}. It must be a number > 1.")
    if is_number(backoff_factor) and backoff_factor >= 1.0:
        raise ValueError(f"Invalid backoff_factor: {backoff_factor!r}. It must be a number in (0, 1).")


def _same_kind(name: str, values: Any) -> None:
    """Refuse a sequence mixing numbers and tensors (torch refuses mixed ``betas``; one kind keeps one code path)."""
    tensors = [isinstance(v, Tensor) for v in values]
    if any(tensors) and not all(tensors):
        raise ValueError(f"Invalid {name}: {values!r}. Its entries must be all numbers or all 0-d tensors, not mixed.")
