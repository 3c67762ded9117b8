"""optimtx's warning categories (filter them with ``warnings.filterwarnings``)."""

from __future__ import annotations


class OptimtxWarning(UserWarning):
    """Base class of every warning optimtx emits."""


class UnmatchedCustomKeyWarning(OptimtxWarning):
    """A ``paramwise_cfg.custom_keys`` entry matches no parameter name (likely a typo)."""


class SchedulerOrderWarning(OptimtxWarning):
    """A parameter scheduler was stepped before its optimizer (or could not tell)."""


class PerGroupTransformWarning(OptimtxWarning):
    """A ``TransformOptimizer`` with several param groups runs a whole-tree transform once per group.

    ``clip_by_global_norm``, ``scale_by_amp`` and ``apply_if_finite`` then see one group at a
    time: each group is clipped by its own norm and skipped on its own overflow, unlike
    ``clip_grad`` on the wrapper or ``torch.amp.GradScaler``, which act on all parameters.
    """


class AccumulationResumeWarning(OptimtxWarning):
    """A wrapper resumes inside a gradient-accumulation window.

    The gradients of that window's earlier micro-batches lived in ``.grad`` and are in no
    checkpoint, so the first step after resuming sums only the remaining micro-batches.
    """
