"""optimtx's warning categories (filter them with ``warnings.filterwarnings``)."""

from __future__ import annotations

import os
import sys
import warnings
from types import FrameType

__all__ = [
    "AccumulationBatchNormWarning",
    "AccumulationResumeWarning",
    "AccumulationSyncWarning",
    "FrozenParameterWarning",
    "LossScalingDisabledWarning",
    "OptimtxWarning",
    "PerGroupTransformWarning",
    "SchedulerOrderWarning",
    "UnmatchedCustomKeyWarning",
    "warn_user",
]

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep  # the optimtx package


def warn_user(message: str, category: type[Warning]) -> None:
    """``warnings.warn`` attributed to the first caller outside optimtx (the user's line).

    Example:
        >>> with warnings.catch_warnings(record=True) as caught:
        ...     warnings.simplefilter("always")
        ...     warn_user("check this", OptimtxWarning)
        >>> caught[0].category.__name__
        'OptimtxWarning'
    """
    level = 1
    frame: FrameType | None = sys._getframe(1)
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_PACKAGE_DIR):
        level, frame = level + 1, frame.f_back
    warnings.warn(message, category, stacklevel=level + 1)


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


class FrozenParameterWarning(OptimtxWarning):
    """Parameters with ``requires_grad=False`` were left out of the optimizer built from a config.

    Unfreezing them later does not make the optimizer train them (progressive unfreezing needs
    ``optimizer.add_param_group``, or building the optimizer after unfreezing).
    """


class AccumulationResumeWarning(OptimtxWarning):
    """A wrapper resumes inside a gradient-accumulation window.

    The gradients of that window's earlier micro-batches lived in ``.grad`` and are in no
    checkpoint, so the first step after resuming sums only the remaining micro-batches.
    """


class AccumulationBatchNormWarning(OptimtxWarning):
    """Gradients are accumulated over micro-batches of a model with BatchNorm layers.

    BatchNorm normalises each micro-batch by its own statistics and updates its running
    statistics per micro-batch, so accumulation is not equivalent to one larger batch.
    """


class LossScalingDisabledWarning(OptimtxWarning):
    """``AmpOptimWrapper(dtype='bfloat16', loss_scale='dynamic')`` turns loss scaling off.

    Only an explicitly written ``loss_scale='dynamic'`` warns: it asks for a scaler that bfloat16
    does not get. Left at its default, bfloat16 silently trains without loss scaling (the
    recommended path). Without loss scaling, steps whose gradients hold inf/NaN are no longer
    skipped; pass an explicit ``loss_scale`` dict to keep (or explicitly drop) that behaviour.
    """


class AccumulationSyncWarning(OptimtxWarning):
    """A DDP model accumulates gradients with its forward pass outside ``optim_context``.

    DDP then all-reduces the gradients on every micro-step instead of once per window:
    the result is the same, the step is slower. Run the forward under ``optim_context(model)``.
    """
