"""optax aliases and blocks for the update rules optimtx gained for the optax namespace."""

from __future__ import annotations

__all__: list[str] = []
