"""Construction-time checks of hyperparameters, with errors that name the bad value.

Python numbers are checked eagerly. 0-d tensors (as ``inject_hyperparams`` passes them)
are accepted unchecked, since reading a tensor would sync with the device. Schedules
(callables) are accepted only where the caller says the hyperparameter supports one
(``schedule=True``, e.g. a learning rate); elsewhere they are a ``TypeError`` at once.
"""

from __future__ import annotations

import math
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
