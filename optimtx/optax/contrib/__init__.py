"""optax.contrib's optimizers on torch tensors (`optimtx.optax.contrib`)."""

from __future__ import annotations

__all__: list[str] = []
