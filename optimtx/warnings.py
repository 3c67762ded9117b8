"""optimtx's warning categories (filter them with ``warnings.filterwarnings``)."""

from __future__ import annotations


class OptimtxWarning(UserWarning):
    """Base class of every warning optimtx emits."""


class UnmatchedCustomKeyWarning(OptimtxWarning):
    """A ``paramwise_cfg.custom_keys`` entry matches no parameter name (likely a typo)."""


class SchedulerOrderWarning(OptimtxWarning):
    """A parameter scheduler was stepped before its optimizer (or could not tell)."""
