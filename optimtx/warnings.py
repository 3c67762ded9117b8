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


class AccumulationSyncWarning(OptimtxWarning):
    """A DDP model accumulates gradients with its forward pass outside ``optim_context``.

    DDP then all-reduces the gradients on every micro-step instead of once per window:
    the result is the same, the step is slower. Run the forward under ``optim_context(model)``.
    """
