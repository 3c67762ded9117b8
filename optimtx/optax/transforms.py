"""optax's ``optax.transforms`` module: the same objects as the top level of `optimtx.optax`.

Not here: ``MaskedNode`` and ``unitwise_clip``/``unitwise_norm`` (JAX-layout helpers; see the coverage table).

Example:
    >>> from optimtx.optax import transforms
    >>> import optimtx.optax as optax
    >>> transforms.chain is optax.chain
    True
"""

from __future__ import annotations

from optimtx.optax._base import ShouldSkipUpdateFunction, chain, named_chain
from optimtx.optax._blocks import (
    adaptive_grad_clip,
    add_decayed_weights,
    add_noise,
    clip,
    clip_by_block_rms,
    clip_by_global_norm,
    ema,
    keep_params_nonnegative,
    per_example_global_norm_clip,
    per_example_layer_norm_clip,
    trace,
    zero_nans,
)
from optimtx.optax._states import (
    AddNoiseState,
    ApplyIfFiniteState,
    ConditionallyMaskState,
    ConditionallyTransformState,
    EmaState,
    MaskedState,
    MonitorState,
    MultiStepsState,
    NonNegativeParamsState,
    PartitionState,
    SnapshotState,
    TraceState,
    ZeroNansState,
)
from optimtx.optax._wrappers import (
    MultiSteps,
    apply_if_finite,
    conditionally_mask,
    conditionally_transform,
    flatten,
    freeze,
    masked,
    measure_with_ema,
    monitor,
    partition,
    selective_transform,
    skip_large_updates,
    skip_not_finite,
    snapshot,
)

__all__ = [
    "AddNoiseState",
    "ApplyIfFiniteState",
    "ConditionallyMaskState",
    "ConditionallyTransformState",
    "EmaState",
    "MaskedState",
    "MonitorState",
    "MultiSteps",
    "MultiStepsState",
    "NonNegativeParamsState",
    "PartitionState",
    "ShouldSkipUpdateFunction",
    "SnapshotState",
    "TraceState",
    "ZeroNansState",
    "adaptive_grad_clip",
    "add_decayed_weights",
    "add_noise",
    "apply_if_finite",
    "chain",
    "clip",
    "clip_by_block_rms",
    "clip_by_global_norm",
    "conditionally_mask",
    "conditionally_transform",
    "ema",
    "flatten",
    "freeze",
    "keep_params_nonnegative",
    "masked",
    "measure_with_ema",
    "monitor",
    "named_chain",
    "partition",
    "per_example_global_norm_clip",
    "per_example_layer_norm_clip",
    "selective_transform",
    "skip_large_updates",
    "skip_not_finite",
    "snapshot",
    "trace",
    "zero_nans",
]
