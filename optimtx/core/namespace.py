"""What ``dir()`` shows for a module: its public names, not the modules and helpers it imports."""

from __future__ import annotations

from collections.abc import Callable, Sequence

__all__ = ["public_dir"]


def public_dir(names: Sequence[str]) -> Callable[[], list[str]]:
    """A module-level ``__dir__`` (PEP 562) listing ``names`` (the module's ``__all__``) and nothing else.

    ``dir(module)`` then shows what a user may call, not ``torch``, ``math`` or ``Any``; attribute
    access, ``vars(module)`` and doctest discovery are unchanged.

    Example:
        >>> __dir__ = public_dir(["linear", "cosine_decay"])
        >>> __dir__()
        ['cosine_decay', 'linear']
    """
    listed = sorted(names)
    return lambda: list(listed)
