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

import warnings as _warnings  # noqa: E402

with _warnings.catch_warnings():
    # Without numpy, `import torch` warns "Failed to initialize NumPy"; optimtx never needs numpy.
    _warnings.filterwarnings("ignore", message="Failed to initialize NumPy", category=UserWarning)
    import torch as _torch  # noqa: F401

from optimtx import schedules as schedules  # noqa: E402
from optimtx.base import EmptyState as EmptyState  # noqa: E402
from optimtx.base import GradientTransformation as GradientTransformation  # noqa: E402
from optimtx.base import apply_updates as apply_updates  # noqa: E402
from optimtx.base import chain as chain  # noqa: E402
from optimtx.base import identity as identity  # noqa: E402
from optimtx.compile import CompiledStep as CompiledStep  # noqa: E402
from optimtx.compile import FlatLayout as FlatLayout  # noqa: E402
from optimtx.compile import compile_step as compile_step  # noqa: E402
from optimtx.compile import compile_update as compile_update  # noqa: E402
from optimtx.eval_params import eval_params as eval_params  # noqa: E402

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
from optimtx.param_scheduler import build_param_schedulers as build_param_schedulers  # noqa: E402
from optimtx.paramwise import paramwise as paramwise  # noqa: E402
from optimtx.paramwise import paramwise_labels as paramwise_labels  # noqa: E402
from optimtx.state_io import load_state_dict as load_state_dict  # noqa: E402
from optimtx.state_io import state_dict as state_dict  # noqa: E402
from optimtx.step_info import StepInfo as StepInfo  # noqa: E402
from optimtx.step_info import step_info as step_info  # noqa: E402
from optimtx.torch_optimizer import TransformOptimizer as TransformOptimizer  # noqa: E402
from optimtx.transforms.accumulate import AccumulateState as AccumulateState  # noqa: E402
from optimtx.transforms.accumulate import accumulate as accumulate  # noqa: E402
from optimtx.transforms.adadelta import ScaleByAdadeltaState as ScaleByAdadeltaState  # noqa: E402
from optimtx.transforms.adadelta import adadelta as adadelta  # noqa: E402
from optimtx.transforms.adadelta import scale_by_adadelta as scale_by_adadelta  # noqa: E402
from optimtx.transforms.adafactor import AdafactorState as AdafactorState  # noqa: E402
from optimtx.transforms.adafactor import adafactor as adafactor  # noqa: E402
from optimtx.transforms.adam import ScaleByAdamaxState as ScaleByAdamaxState  # noqa: E402
from optimtx.transforms.adam import ScaleByAdamState as ScaleByAdamState  # noqa: E402
from optimtx.transforms.adam import scale_by_adam as scale_by_adam  # noqa: E402
from optimtx.transforms.adam import scale_by_adamax as scale_by_adamax  # noqa: E402
from optimtx.transforms.amp import ScaleByAmpState as ScaleByAmpState  # noqa: E402
from optimtx.transforms.amp import current_loss_scale as current_loss_scale  # noqa: E402
from optimtx.transforms.amp import scale_by_amp as scale_by_amp  # noqa: E402
from optimtx.transforms.asgd import AsgdState as AsgdState  # noqa: E402
from optimtx.transforms.asgd import asgd as asgd  # noqa: E402
from optimtx.transforms.asgd import asgd_averaged_params as asgd_averaged_params  # noqa: E402

# -- end parameter schedulers --
from optimtx.transforms.clipping import ClipByGlobalNormState as ClipByGlobalNormState  # noqa: E402
from optimtx.transforms.clipping import clip_by_global_norm as clip_by_global_norm  # noqa: E402
from optimtx.transforms.clipping import clip_by_norm as clip_by_norm  # noqa: E402
from optimtx.transforms.clipping import clip_by_value as clip_by_value  # noqa: E402
from optimtx.transforms.ema import EmaParamsState as EmaParamsState  # noqa: E402
from optimtx.transforms.ema import ema_params as ema_params  # noqa: E402
from optimtx.transforms.ema import get_ema_params as get_ema_params  # noqa: E402
from optimtx.transforms.finite import ApplyIfFiniteState as ApplyIfFiniteState  # noqa: E402
from optimtx.transforms.finite import apply_if_finite as apply_if_finite  # noqa: E402
from optimtx.transforms.grad_filters import ZeroNansState as ZeroNansState  # noqa: E402
from optimtx.transforms.grad_filters import adaptive_grad_clip as adaptive_grad_clip  # noqa: E402
from optimtx.transforms.grad_filters import centralize as centralize  # noqa: E402
from optimtx.transforms.grad_filters import zero_nans as zero_nans  # noqa: E402
from optimtx.transforms.hyperparams import InjectHyperparamsState as InjectHyperparamsState  # noqa: E402
from optimtx.transforms.hyperparams import get_hyperparams as get_hyperparams  # noqa: E402
from optimtx.transforms.hyperparams import inject_hyperparams as inject_hyperparams  # noqa: E402
from optimtx.transforms.hyperparams import set_hyperparams as set_hyperparams  # noqa: E402
from optimtx.transforms.lion import ScaleByLionState as ScaleByLionState  # noqa: E402
from optimtx.transforms.lion import scale_by_lion as scale_by_lion  # noqa: E402
from optimtx.transforms.lookahead import LookaheadState as LookaheadState  # noqa: E402
from optimtx.transforms.lookahead import get_slow_params as get_slow_params  # noqa: E402
from optimtx.transforms.lookahead import lookahead as lookahead  # noqa: E402
from optimtx.transforms.masking import MaskedState as MaskedState  # noqa: E402
from optimtx.transforms.masking import MultiTransformState as MultiTransformState  # noqa: E402
from optimtx.transforms.masking import masked as masked  # noqa: E402
from optimtx.transforms.masking import multi_transform as multi_transform  # noqa: E402
from optimtx.transforms.momentum import TraceState as TraceState  # noqa: E402
from optimtx.transforms.momentum import trace as trace  # noqa: E402
from optimtx.transforms.muon import ScaleByMuonState as ScaleByMuonState  # noqa: E402
from optimtx.transforms.muon import muon as muon  # noqa: E402
from optimtx.transforms.muon import muon_labels as muon_labels  # noqa: E402
from optimtx.transforms.muon import muon_with_adamw as muon_with_adamw  # noqa: E402
from optimtx.transforms.muon import scale_by_muon as scale_by_muon  # noqa: E402
from optimtx.transforms.nadam import ScaleByNadamState as ScaleByNadamState  # noqa: E402
from optimtx.transforms.nadam import nadam as nadam  # noqa: E402
from optimtx.transforms.nadam import scale_by_nadam as scale_by_nadam  # noqa: E402
from optimtx.transforms.named_chain import named_chain as named_chain  # noqa: E402
from optimtx.transforms.optimizers import adagrad as adagrad  # noqa: E402
from optimtx.transforms.optimizers import adam as adam  # noqa: E402
from optimtx.transforms.optimizers import adamax as adamax  # noqa: E402
from optimtx.transforms.optimizers import adamw as adamw  # noqa: E402
from optimtx.transforms.optimizers import lion as lion  # noqa: E402
from optimtx.transforms.optimizers import rmsprop as rmsprop  # noqa: E402
from optimtx.transforms.optimizers import sgd as sgd  # noqa: E402
from optimtx.transforms.radam import ScaleByRadamState as ScaleByRadamState  # noqa: E402
from optimtx.transforms.radam import radam as radam  # noqa: E402
from optimtx.transforms.radam import scale_by_radam as scale_by_radam  # noqa: E402
from optimtx.transforms.rms import ScaleByAdagradState as ScaleByAdagradState  # noqa: E402
from optimtx.transforms.rms import ScaleByRmsState as ScaleByRmsState  # noqa: E402
from optimtx.transforms.rms import scale_by_adagrad as scale_by_adagrad  # noqa: E402
from optimtx.transforms.rms import scale_by_rms as scale_by_rms  # noqa: E402
from optimtx.transforms.rprop import ScaleByRpropState as ScaleByRpropState  # noqa: E402
from optimtx.transforms.rprop import rprop as rprop  # noqa: E402
from optimtx.transforms.rprop import scale_by_rprop as scale_by_rprop  # noqa: E402
from optimtx.transforms.scaling import ScaleByLearningRateState as ScaleByLearningRateState  # noqa: E402
from optimtx.transforms.scaling import scale as scale  # noqa: E402
from optimtx.transforms.scaling import scale_by_learning_rate as scale_by_learning_rate  # noqa: E402
from optimtx.transforms.schedule_free import ScheduleFreeState as ScheduleFreeState  # noqa: E402
from optimtx.transforms.schedule_free import schedule_free_adamw as schedule_free_adamw  # noqa: E402
from optimtx.transforms.schedule_free import schedule_free_eval_params as schedule_free_eval_params  # noqa: E402
from optimtx.transforms.schedule_free import schedule_free_sgd as schedule_free_sgd  # noqa: E402
from optimtx.transforms.spike import SkipIfSpikeState as SkipIfSpikeState  # noqa: E402
from optimtx.transforms.spike import skip_if_spike as skip_if_spike  # noqa: E402
from optimtx.transforms.trust_ratio import ScheduledDecayState as ScheduledDecayState  # noqa: E402
from optimtx.transforms.trust_ratio import lamb as lamb  # noqa: E402
from optimtx.transforms.trust_ratio import lars as lars  # noqa: E402
from optimtx.transforms.trust_ratio import scale_by_trust_ratio as scale_by_trust_ratio  # noqa: E402
from optimtx.transforms.weight_decay import add_decayed_weights as add_decayed_weights  # noqa: E402
from optimtx.warnings import AccumulationBatchNormWarning as AccumulationBatchNormWarning  # noqa: E402
from optimtx.warnings import AccumulationResumeWarning as AccumulationResumeWarning  # noqa: E402
from optimtx.warnings import AccumulationSyncWarning as AccumulationSyncWarning  # noqa: E402
from optimtx.warnings import FrozenParameterWarning as FrozenParameterWarning  # noqa: E402
from optimtx.warnings import LossScalingDisabledWarning as LossScalingDisabledWarning  # noqa: E402
from optimtx.warnings import OptimtxWarning as OptimtxWarning  # noqa: E402
from optimtx.warnings import PerGroupTransformWarning as PerGroupTransformWarning  # noqa: E402
from optimtx.warnings import SchedulerOrderWarning as SchedulerOrderWarning  # noqa: E402
from optimtx.warnings import UnmatchedCustomKeyWarning as UnmatchedCustomKeyWarning  # noqa: E402
from optimtx.wrapper.amp_optim_wrapper import AmpOptimWrapper as AmpOptimWrapper  # noqa: E402
from optimtx.wrapper.builder import build_optim_wrapper as build_optim_wrapper  # noqa: E402
from optimtx.wrapper.constructor import DefaultOptimWrapperConstructor as DefaultOptimWrapperConstructor  # noqa: E402
from optimtx.wrapper.explain import ExplainRow as ExplainRow  # noqa: E402
from optimtx.wrapper.explain import explain as explain  # noqa: E402
from optimtx.wrapper.factory import create_optimizer as create_optimizer  # noqa: E402
from optimtx.wrapper.fast_step import FusedStepResult as FusedStepResult  # noqa: E402
from optimtx.wrapper.fast_step import fused_amp_step as fused_amp_step  # noqa: E402
from optimtx.wrapper.fast_step import supports_fused_amp_step as supports_fused_amp_step  # noqa: E402
from optimtx.wrapper.loss_scaler import LossScaler as LossScaler  # noqa: E402
from optimtx.wrapper.multi_constructor import MultiOptimWrapperConstructor as MultiOptimWrapperConstructor  # noqa: E402
from optimtx.wrapper.optim_wrapper import OptimWrapper as OptimWrapper  # noqa: E402
from optimtx.wrapper.optim_wrapper_dict import OptimWrapperDict as OptimWrapperDict  # noqa: E402
from optimtx.wrapper.registries import OPTIM_WRAPPER_CONSTRUCTORS as OPTIM_WRAPPER_CONSTRUCTORS  # noqa: E402
from optimtx.wrapper.registries import OPTIM_WRAPPERS as OPTIM_WRAPPERS  # noqa: E402
from optimtx.wrapper.registries import OPTIMIZERS as OPTIMIZERS  # noqa: E402
from optimtx.wrapper.registries import PARAM_SCHEDULERS as PARAM_SCHEDULERS  # noqa: E402
from optimtx.wrapper.registries import SCHEDULES as SCHEDULES  # noqa: E402
from optimtx.wrapper.registries import TRANSFORMS as TRANSFORMS  # noqa: E402
from optimtx.wrapper.registry import Registry as Registry  # noqa: E402

__all__ = [
    "AccumulateState",
    "AccumulationBatchNormWarning",
    "AccumulationResumeWarning",
    "AccumulationSyncWarning",
    "AdafactorState",
    "AmpOptimWrapper",
    "ApplyIfFiniteState",
    "AsgdState",
    "ClipByGlobalNormState",
    "CompiledStep",
    "ConstantLR",
    "ConstantMomentum",
    "ConstantParamScheduler",
    "CosineAnnealingLR",
    "CosineAnnealingMomentum",
    "CosineAnnealingParamScheduler",
    "CosineRestartLR",
    "CosineRestartMomentum",
    "CosineRestartParamScheduler",
    "DefaultOptimWrapperConstructor",
    "EmaParamsState",
    "EmptyState",
    "ExplainRow",
    "ExponentialLR",
    "ExponentialMomentum",
    "ExponentialParamScheduler",
    "FlatLayout",
    "FrozenParameterWarning",
    "FusedStepResult",
    "GradientTransformation",
    "InjectHyperparamsState",
    "LinearLR",
    "LinearMomentum",
    "LinearParamScheduler",
    "LookaheadState",
    "LossScaler",
    "LossScalingDisabledWarning",
    "MaskedState",
    "MultiOptimWrapperConstructor",
    "MultiStepLR",
    "MultiStepMomentum",
    "MultiStepParamScheduler",
    "MultiTransformState",
    "OPTIMIZERS",
    "OPTIM_WRAPPERS",
    "OPTIM_WRAPPER_CONSTRUCTORS",
    "OneCycleLR",
    "OneCycleParamScheduler",
    "OptimWrapper",
    "OptimWrapperDict",
    "OptimtxWarning",
    "PARAM_SCHEDULERS",
    "PerGroupTransformWarning",
    "PolyLR",
    "PolyMomentum",
    "PolyParamScheduler",
    "ReduceOnPlateauLR",
    "ReduceOnPlateauMomentum",
    "ReduceOnPlateauParamScheduler",
    "Registry",
    "SCHEDULES",
    "ScaleByAdadeltaState",
    "ScaleByAdagradState",
    "ScaleByAdamState",
    "ScaleByAdamaxState",
    "ScaleByAmpState",
    "ScaleByLearningRateState",
    "ScaleByLionState",
    "ScaleByMuonState",
    "ScaleByNadamState",
    "ScaleByRadamState",
    "ScaleByRmsState",
    "ScaleByRpropState",
    "ScheduleFreeState",
    "ScheduledDecayState",
    "SchedulerOrderWarning",
    "SkipIfSpikeState",
    "StepInfo",
    "StepLR",
    "StepMomentum",
    "StepParamScheduler",
    "TRANSFORMS",
    "TraceState",
    "TransformOptimizer",
    "UnmatchedCustomKeyWarning",
    "ZeroNansState",
    "__version__",
    "accumulate",
    "adadelta",
    "adafactor",
    "adagrad",
    "adam",
    "adamax",
    "adamw",
    "adaptive_grad_clip",
    "add_decayed_weights",
    "apply_if_finite",
    "apply_updates",
    "asgd",
    "asgd_averaged_params",
    "build_optim_wrapper",
    "build_param_schedulers",
    "centralize",
    "chain",
    "clip_by_global_norm",
    "clip_by_norm",
    "clip_by_value",
    "compile_step",
    "compile_update",
    "create_optimizer",
    "current_loss_scale",
    "ema_params",
    "eval_params",
    "explain",
    "fused_amp_step",
    "get_ema_params",
    "get_hyperparams",
    "get_slow_params",
    "identity",
    "inject_hyperparams",
    "lamb",
    "lars",
    "lion",
    "load_state_dict",
    "lookahead",
    "masked",
    "multi_transform",
    "muon",
    "muon_labels",
    "muon_with_adamw",
    "nadam",
    "named_chain",
    "paramwise",
    "paramwise_labels",
    "radam",
    "rmsprop",
    "rprop",
    "scale",
    "scale_by_adadelta",
    "scale_by_adagrad",
    "scale_by_adam",
    "scale_by_adamax",
    "scale_by_amp",
    "scale_by_learning_rate",
    "scale_by_lion",
    "scale_by_muon",
    "scale_by_nadam",
    "scale_by_radam",
    "scale_by_rms",
    "scale_by_rprop",
    "scale_by_trust_ratio",
    "schedule_free_adamw",
    "schedule_free_eval_params",
    "schedule_free_sgd",
    "schedules",
    "set_hyperparams",
    "sgd",
    "skip_if_spike",
    "state_dict",
    "step_info",
    "supports_fused_amp_step",
    "trace",
    "zero_nans",
]
