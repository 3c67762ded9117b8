"""Layer 0, the core: the transform protocol, trees, states, validation, warnings, logging, registries.

May import: the standard library and torch only (no other optimtx layer).
"""

from __future__ import annotations

from optimtx.core.base import EmptyState as EmptyState
from optimtx.core.base import GradientTransformation as GradientTransformation
from optimtx.core.base import apply_updates as apply_updates
from optimtx.core.base import chain as chain
from optimtx.core.base import identity as identity
from optimtx.core.inplace import InPlace as InPlace
from optimtx.core.inplace import inplace_step as inplace_step
from optimtx.core.inplace import pure_step_ as pure_step_
from optimtx.core.inplace import with_step_ as with_step_
from optimtx.core.registry import Registry as Registry
from optimtx.core.state_io import load_state_dict as load_state_dict
from optimtx.core.state_io import state_dict as state_dict
from optimtx.core.warnings import AccumulationBatchNormWarning as AccumulationBatchNormWarning
from optimtx.core.warnings import AccumulationResumeWarning as AccumulationResumeWarning
from optimtx.core.warnings import AccumulationSyncWarning as AccumulationSyncWarning
from optimtx.core.warnings import FrozenParameterWarning as FrozenParameterWarning
from optimtx.core.warnings import LossScalingDisabledWarning as LossScalingDisabledWarning
from optimtx.core.warnings import OptimtxWarning as OptimtxWarning
from optimtx.core.warnings import PerGroupTransformWarning as PerGroupTransformWarning
from optimtx.core.warnings import SchedulerOrderWarning as SchedulerOrderWarning
from optimtx.core.warnings import UnmatchedCustomKeyWarning as UnmatchedCustomKeyWarning

__all__ = [
    "AccumulationBatchNormWarning",
    "AccumulationResumeWarning",
    "AccumulationSyncWarning",
    "EmptyState",
    "FrozenParameterWarning",
    "GradientTransformation",
    "InPlace",
    "LossScalingDisabledWarning",
    "OptimtxWarning",
    "PerGroupTransformWarning",
    "Registry",
    "SchedulerOrderWarning",
    "UnmatchedCustomKeyWarning",
    "apply_updates",
    "chain",
    "identity",
    "inplace_step",
    "load_state_dict",
    "pure_step_",
    "state_dict",
    "with_step_",
]
