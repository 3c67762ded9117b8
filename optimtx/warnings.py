"""optimtx's warning categories (filter them with ``warnings.filterwarnings``)."""

from __future__ import annotations


class OptimtxWarning(UserWarning):
    """Base class of every warning optimtx emits."""


class SchedulerOrderWarning(OptimtxWarning):
    """A parameter scheduler was stepped before its optimizer (or could not tell)."""
