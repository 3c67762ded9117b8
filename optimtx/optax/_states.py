"""optax's state class names, as the optimtx states the matching transforms keep.

The classes are optimtx's NamedTuples of tensors: the names match optax's, some fields differ (e.g.
``ScaleByAdamState`` also has ``nu_max``, counters are int64). Stateless transforms keep ``EmptyState``.
"""

from __future__ import annotations

from optimtx.core.base import EmptyState
from optimtx.transforms.accumulate import AccumulateState
from optimtx.transforms.adadelta import ScaleByAdadeltaState
from optimtx.transforms.adafactor import FactoredState
from optimtx.transforms.adam import ScaleByAdamState
from optimtx.transforms.clipping import ClipByGlobalNormState
from optimtx.transforms.conditionality import ApplyEveryState, ConditionallyMaskState, ConditionallyTransformState
from optimtx.transforms.ema import EmaState
from optimtx.transforms.finite import ApplyIfFiniteState
from optimtx.transforms.grad_filters import ZeroNansState
from optimtx.transforms.hyperparams import InjectHyperparamsState
from optimtx.transforms.lion import ScaleByLionState
from optimtx.transforms.lookahead import LookaheadState
from optimtx.transforms.masking import MaskedState, MultiTransformState
from optimtx.transforms.momentum import TraceState
from optimtx.transforms.monitoring import MonitorState, SnapshotState
from optimtx.transforms.noise import AddNoiseState
from optimtx.transforms.rms import ScaleByAdagradState, ScaleByRmsState
from optimtx.transforms.scaling import ScaleByLearningRateState

ApplyEvery = ApplyEveryState
MultiStepsState = AccumulateState
PartitionState = MultiTransformState
ScaleByAdaDeltaState = ScaleByAdadeltaState
ScaleByRssState = ScaleByAdagradState
ScaleByRStdDevState = ScaleByRmsState
ScaleByScheduleState = ScaleByLearningRateState
# Stateless in optimtx as in optax (optax names each EmptyState alias after its transform).
AdaptiveGradClipState = EmptyState
AddDecayedWeightsState = EmptyState
ClipState = EmptyState
NonNegativeParamsState = EmptyState
ScaleState = EmptyState
ScaleByTrustRatioState = EmptyState

__all__ = [
    "AdaptiveGradClipState",
    "AddDecayedWeightsState",
    "AddNoiseState",
    "ApplyEvery",
    "ApplyIfFiniteState",
    "ClipByGlobalNormState",
    "ClipState",
    "ConditionallyMaskState",
    "ConditionallyTransformState",
    "EmaState",
    "FactoredState",
    "InjectHyperparamsState",
    "LookaheadState",
    "MaskedState",
    "MonitorState",
    "MultiStepsState",
    "MultiTransformState",
    "NonNegativeParamsState",
    "PartitionState",
    "ScaleByAdaDeltaState",
    "ScaleByAdamState",
    "ScaleByLionState",
    "ScaleByRStdDevState",
    "ScaleByRmsState",
    "ScaleByRssState",
    "ScaleByScheduleState",
    "ScaleByTrustRatioState",
    "ScaleState",
    "SnapshotState",
    "TraceState",
    "ZeroNansState",
]
