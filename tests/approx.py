"""``pytest.approx`` for nested containers (newer pytest rejects dicts of tuples and lists of tuples)."""

from __future__ import annotations

from typing import Any

import pytest


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, (list, tuple)):
        items = enumerate(value)
    else:
        return {prefix: value}
    flat: dict[str, Any] = {f"{prefix}/{type(value).__name__}": len(value)}
    for key, item in items:
        flat.update(_flatten(item, f"{prefix}/{key}"))
    return flat


def approx_nested(expected: Any, **kwargs: Any) -> Any:
    """Compare ``_flatten(actual) == approx_nested(expected)``: same structure, numbers to tolerance."""
    return pytest.approx(_flatten(expected), **kwargs)


def flat(actual: Any) -> dict[str, Any]:
    """The flat form of ``actual`` to compare with :func:`approx_nested`."""
    return _flatten(actual)
