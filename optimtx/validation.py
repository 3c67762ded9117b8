"""Construction-time checks of hyperparameters, with errors that name the bad value.

Python numbers are checked eagerly. 0-d tensors (as ``inject_hyperparams`` passes them)
are accepted unchecked, since reading a tensor would sync with the device. Schedules
(callables) are accepted only where the caller says the hyperparameter supports one
(``schedule=True``, e.g. a learning rate); elsewhere they are a ``TypeError`` at once.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import torch
from torch import Tensor


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_type(name: str, value: Any, schedule: bool) -> None:
    if isinstance(value, Tensor) or _is_number(value) or (schedule and callable(value)):
        return
    accepted = "a number, a 0-d tensor or a schedule" if schedule else "a number or a 0-d tensor"
    raise TypeError(f"{name} must be {accepted}, got {value!r}.")


def check_non_negative(name: str, value: Any, *, schedule: bool = False) -> None:
    """Raise ``ValueError`` if ``value`` is a number below 0 (or NaN).

    Example:
        >>> check_non_negative("lr", -1.0)
        Traceback (most recent call last):
        ...
        ValueError: Invalid lr: -1.0. It must be a number >= 0.
    """
    _check_type(name, value, schedule)
    if _is_number(value) and not value >= 0:
        raise ValueError(f"Invalid {name}: {value!r}. It must be a number >= 0.")


def check_positive(name: str, value: Any, *, schedule: bool = False) -> None:
    """Raise ``ValueError`` if ``value`` is a number <= 0 (or NaN).

    Example:
        >>> check_positive("growth_factor", 0)
        Traceback (most recent call last):
        ...
        ValueError: Invalid growth_factor: 0. It must be a number > 0.
    """
    _check_type(name, value, schedule)
    if _is_number(value) and not value > 0:
        raise ValueError(f"Invalid {name}: {value!r}. It must be a number > 0.")


def check_unit_interval(name: str, value: Any, *, closed_right: bool = False, schedule: bool = False) -> None:
    """Raise ``ValueError`` if ``value`` is a number outside ``[0, 1)`` (``[0, 1]`` if ``closed_right``).

    Example:
        >>> check_unit_interval("betas[0]", 1.0)
        Traceback (most recent call last):
        ...
        ValueError: Invalid betas[0]: 1.0. It must be in [0, 1).
    """
    _check_type(name, value, schedule)
    if not _is_number(value):
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
    if not _is_number(norm_type) or not norm_type > 0:
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


def check_finite(name: str, value: Any) -> None:
    """Raise ``ValueError`` if ``value`` is a number that is NaN or infinite.

    Example:
        >>> check_finite("factor", float("nan"))
        Traceback (most recent call last):
        ...
        ValueError: Invalid factor: nan. It must be a finite number.
    """
    _check_type(name, value, schedule=False)
    if _is_number(value) and not math.isfinite(value):
        raise ValueError(f"Invalid {name}: {value!r}. It must be a finite number.")


def check_non_negative_int(name: str, value: Any) -> int:
    """Return ``value`` if it is an int >= 0, else raise.

    Example:
        >>> check_non_negative_int("warmup_steps", -1)
        Traceback (most recent call last):
        ...
        ValueError: Invalid warmup_steps: -1. It must be an integer >= 0.
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
    if not _is_number(value):
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
    if _is_number(value) and not (math.isfinite(value) and value >= 0):
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
