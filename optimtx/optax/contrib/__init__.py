"""optax.contrib's optimizers on torch tensors (`optimtx.optax.contrib`)."""

from __future__ import annotations

from optimtx.optax.contrib._rules import *  # noqa: F403
from optimtx.optax.contrib._rules import __all__ as _rules_all

__all__: list[str] = [*_rules_all]
