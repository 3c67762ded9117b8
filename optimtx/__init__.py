"""optimtx: pure, composable gradient transforms for PyTorch, and an MMEngine-style facade.

Example:
    >>> import torch, optimtx as otx
    >>> params = {"w": torch.tensor([1.0, -2.0])}
    >>> tx = otx.chain(otx.clip_by_global_norm(1.0), otx.scale(-0.1))
    >>> state = tx.init(params)
    >>> updates, state = tx.update({"w": torch.tensor([3.0, 4.0])}, state, params)
    >>> otx.apply_updates(params, updates)
    {'w': tensor([ 0.9400, -2.0800])}
"""

from __future__ import annotations

import logging as _logging

__version__ = "0.1.0"

_logging.getLogger("optimtx").addHandler(_logging.NullHandler())

from optimtx.base import EmptyState as EmptyState  # noqa: E402
from optimtx.base import GradientTransformation as GradientTransformation  # noqa: E402
from optimtx.base import apply_updates as apply_updates  # noqa: E402
from optimtx.base import chain as chain  # noqa: E402
from optimtx.base import identity as identity  # noqa: E402
# -- parameter schedulers (MMEngine names) --
from optimtx.param_scheduler import ConstantLR as ConstantLR  # noqa: E402
from optimtx.param_scheduler import ConstantMomentum as ConstantMomentum  # noqa: E402
from optimtx.param_scheduler import ConstantParamScheduler as ConstantParamScheduler  # noqa: E402
from optimtx.param_scheduler import CosineAnnealingLR as CosineAnnealingLR  # noqa: E402
from optimtx.param_scheduler import CosineAnnealingMomentum as CosineAnnealingMomentum  # noqa: E402
from optimtx.param_scheduler import CosineAnnealingParamScheduler as CosineAnnealingParamScheduler  # noqa: E402
from optimtx.param_scheduler import CosineRestartLR as CosineRestartLR  # noqa: E402
from optimtx.param_scheduler import CosineRestartMomentum as CosineRestartMomentum  # noqa: E402
from optimtx.param_scheduler import CosineRestartParamScheduler as CosineRestartParamScheduler  # noqa: E402
from optimtx.param_scheduler import ExponentialLR as ExponentialLR  # noqa: E402
from optimtx.param_scheduler import ExponentialMomentum as ExponentialMomentum  # noqa: E402
from optimtx.param_scheduler import ExponentialParamScheduler as ExponentialParamScheduler  # noqa: E402
from optimtx.param_scheduler import LinearLR as LinearLR  # noqa: E402
from optimtx.param_scheduler import LinearMomentum as LinearMomentum  # noqa: E402
from optimtx.param_scheduler import LinearParamScheduler as LinearParamScheduler  # noqa: E402
from optimtx.param_scheduler import MultiStepLR as MultiStepLR  # noqa: E402
from optimtx.param_scheduler import MultiStepMomentum as MultiStepMomentum  # noqa: E402
from optimtx.param_scheduler import MultiStepParamScheduler as MultiStepParamScheduler  # noqa: E402
from optimtx.param_scheduler import OneCycleLR as OneCycleLR  # noqa: E402
from optimtx.param_scheduler import OneCycleParamScheduler as OneCycleParamScheduler  # noqa: E402
from optimtx.param_scheduler import PolyLR as PolyLR  # noqa: E402
from optimtx.param_scheduler import PolyMomentum as PolyMomentum  # noqa: E402
from optimtx.param_scheduler import PolyParamScheduler as PolyParamScheduler  # noqa: E402
from optimtx.param_scheduler import ReduceOnPlateauLR as ReduceOnPlateauLR  # noqa: E402
from optimtx.param_scheduler import ReduceOnPlateauMomentum as ReduceOnPlateauMomentum  # noqa: E402
from optimtx.param_scheduler import ReduceOnPlateauParamScheduler as ReduceOnPlateauParamScheduler  # noqa: E402
from optimtx.param_scheduler import StepLR as StepLR  # noqa: E402
from optimtx.param_scheduler import StepMomentum as StepMomentum  # noqa: E402
from optimtx.param_scheduler import StepParamScheduler as StepParamScheduler  # noqa: E402
# -- end parameter schedulers --
from optimtx.transforms.clipping import ClipByGlobalNormState as ClipByGlobalNormState  # noqa: E402
from optimtx.transforms.clipping import clip_by_global_norm as clip_by_global_norm  # noqa: E402
from optimtx.transforms.clipping import clip_by_value as clip_by_value  # noqa: E402
from optimtx.transforms.scaling import scale as scale  # noqa: E402
from optimtx.warnings import OptimtxWarning as OptimtxWarning  # noqa: E402
from optimtx.warnings import SchedulerOrderWarning as SchedulerOrderWarning  # noqa: E402
from optimtx.wrapper.amp_optim_wrapper import AmpOptimWrapper as AmpOptimWrapper  # noqa: E402
from optimtx.wrapper.loss_scaler import LossScaler as LossScaler  # noqa: E402
from optimtx.wrapper.optim_wrapper import OptimWrapper as OptimWrapper  # noqa: E402
from optimtx.wrapper.optim_wrapper_dict import OptimWrapperDict as OptimWrapperDict  # noqa: E402

__all__ = [
    "AmpOptimWrapper",
    "ClipByGlobalNormState",
    "ConstantLR",
    "ConstantMomentum",
    "ConstantParamScheduler",
    "CosineAnnealingLR",
    "CosineAnnealingMomentum",
    "CosineAnnealingParamScheduler",
    "CosineRestartLR",
    "CosineRestartMomentum",
    "CosineRestartParamScheduler",
    "EmptyState",
    "ExponentialLR",
    "ExponentialMomentum",
    "ExponentialParamScheduler",
    "GradientTransformation",
    "LinearLR",
    "LinearMomentum",
    "LinearParamScheduler",
    "LossScaler",
    "MultiStepLR",
    "MultiStepMomentum",
    "MultiStepParamScheduler",
    "OneCycleLR",
    "OneCycleParamScheduler",
    "OptimWrapper",
    "OptimWrapperDict",
    "OptimtxWarning",
    "PolyLR",
    "PolyMomentum",
    "PolyParamScheduler",
    "ReduceOnPlateauLR",
    "ReduceOnPlateauMomentum",
    "ReduceOnPlateauParamScheduler",
    "SchedulerOrderWarning",
    "StepLR",
    "StepMomentum",
    "StepParamScheduler",
    "__version__",
    "apply_updates",
    "chain",
    "clip_by_global_norm",
    "clip_by_value",
    "identity",
    "scale",
]
