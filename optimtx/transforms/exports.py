"""The public names of the transforms layer, re-exported by ``optimtx``: add a new rule's factory and state here.

They live here rather than in ``transforms/__init__.py`` because several factories share the name of
their module (``rprop``, ``lion``, ``accumulate``...): bound on the package, they would hide those
modules (``optimtx.transforms.rprop.ScaleByRpropState`` must keep working).
"""

from __future__ import annotations

from optimtx.transforms.accumulate import AccumulateState as AccumulateState
from optimtx.transforms.accumulate import accumulate as accumulate
from optimtx.transforms.adadelta import ScaleByAdadeltaState as ScaleByAdadeltaState
from optimtx.transforms.adadelta import adadelta as adadelta
from optimtx.transforms.adadelta import scale_by_adadelta as scale_by_adadelta
from optimtx.transforms.adafactor import AdafactorState as AdafactorState
from optimtx.transforms.adafactor import adafactor as adafactor
from optimtx.transforms.adam import ScaleByAdamaxState as ScaleByAdamaxState
from optimtx.transforms.adam import ScaleByAdamState as ScaleByAdamState
from optimtx.transforms.adam import scale_by_adam as scale_by_adam
from optimtx.transforms.adam import scale_by_adamax as scale_by_adamax
from optimtx.transforms.amp import ScaleByAmpState as ScaleByAmpState
from optimtx.transforms.amp import current_loss_scale as current_loss_scale
from optimtx.transforms.amp import scale_by_amp as scale_by_amp
from optimtx.transforms.asgd import AsgdState as AsgdState
from optimtx.transforms.asgd import asgd as asgd
from optimtx.transforms.asgd import asgd_averaged_params as asgd_averaged_params
from optimtx.transforms.clipping import ClipByGlobalNormState as ClipByGlobalNormState
from optimtx.transforms.clipping import clip_by_global_norm as clip_by_global_norm
from optimtx.transforms.clipping import clip_by_norm as clip_by_norm
from optimtx.transforms.clipping import clip_by_value as clip_by_value
from optimtx.transforms.ema import EmaParamsState as EmaParamsState
from optimtx.transforms.ema import ema_params as ema_params
from optimtx.transforms.ema import get_ema_params as get_ema_params
from optimtx.transforms.finite import ApplyIfFiniteState as ApplyIfFiniteState
from optimtx.transforms.finite import apply_if_finite as apply_if_finite
from optimtx.transforms.grad_filters import ZeroNansState as ZeroNansState
from optimtx.transforms.grad_filters import adaptive_grad_clip as adaptive_grad_clip
from optimtx.transforms.grad_filters import centralize as centralize
from optimtx.transforms.grad_filters import zero_nans as zero_nans
from optimtx.transforms.hyperparams import InjectHyperparamsState as InjectHyperparamsState
from optimtx.transforms.hyperparams import get_hyperparams as get_hyperparams
from optimtx.transforms.hyperparams import inject_hyperparams as inject_hyperparams
from optimtx.transforms.hyperparams import set_hyperparams as set_hyperparams
from optimtx.transforms.lion import ScaleByLionState as ScaleByLionState
from optimtx.transforms.lion import scale_by_lion as scale_by_lion
from optimtx.transforms.lookahead import LookaheadState as LookaheadState
from optimtx.transforms.lookahead import get_slow_params as get_slow_params
from optimtx.transforms.lookahead import lookahead as lookahead
from optimtx.transforms.masking import MaskedState as MaskedState
from optimtx.transforms.masking import MultiTransformState as MultiTransformState
from optimtx.transforms.masking import masked as masked
from optimtx.transforms.masking import multi_transform as multi_transform
from optimtx.transforms.momentum import TraceState as TraceState
from optimtx.transforms.momentum import trace as trace
from optimtx.transforms.muon import ScaleByMuonState as ScaleByMuonState
from optimtx.transforms.muon import muon as muon
from optimtx.transforms.muon import muon_labels as muon_labels
from optimtx.transforms.muon import muon_with_adamw as muon_with_adamw
from optimtx.transforms.muon import scale_by_muon as scale_by_muon
from optimtx.transforms.nadam import ScaleByNadamState as ScaleByNadamState
from optimtx.transforms.nadam import nadam as nadam
from optimtx.transforms.nadam import scale_by_nadam as scale_by_nadam
from optimtx.transforms.named_chain import named_chain as named_chain
from optimtx.transforms.optimizers import adagrad as adagrad
from optimtx.transforms.optimizers import adam as adam
from optimtx.transforms.optimizers import adamax as adamax
from optimtx.transforms.optimizers import adamw as adamw
from optimtx.transforms.optimizers import lion as lion
from optimtx.transforms.optimizers import rmsprop as rmsprop
from optimtx.transforms.optimizers import sgd as sgd
from optimtx.transforms.radam import ScaleByRadamState as ScaleByRadamState
from optimtx.transforms.radam import radam as radam
from optimtx.transforms.radam import scale_by_radam as scale_by_radam
from optimtx.transforms.rms import ScaleByAdagradState as ScaleByAdagradState
from optimtx.transforms.rms import ScaleByRmsState as ScaleByRmsState
from optimtx.transforms.rms import scale_by_adagrad as scale_by_adagrad
from optimtx.transforms.rms import scale_by_rms as scale_by_rms
from optimtx.transforms.rprop import ScaleByRpropState as ScaleByRpropState
from optimtx.transforms.rprop import rprop as rprop
from optimtx.transforms.rprop import scale_by_rprop as scale_by_rprop
from optimtx.transforms.scaling import ScaleByLearningRateState as ScaleByLearningRateState
from optimtx.transforms.scaling import scale as scale
from optimtx.transforms.scaling import scale_by_learning_rate as scale_by_learning_rate
from optimtx.transforms.schedule_free import ScheduleFreeState as ScheduleFreeState
from optimtx.transforms.schedule_free import schedule_free_adamw as schedule_free_adamw
from optimtx.transforms.schedule_free import schedule_free_eval_params as schedule_free_eval_params
from optimtx.transforms.schedule_free import schedule_free_sgd as schedule_free_sgd
from optimtx.transforms.spike import SkipIfSpikeState as SkipIfSpikeState
from optimtx.transforms.spike import skip_if_spike as skip_if_spike
from optimtx.transforms.trust_ratio import ScheduledDecayState as ScheduledDecayState
from optimtx.transforms.trust_ratio import lamb as lamb
from optimtx.transforms.trust_ratio import lars as lars
from optimtx.transforms.trust_ratio import scale_by_trust_ratio as scale_by_trust_ratio
from optimtx.transforms.weight_decay import add_decayed_weights as add_decayed_weights

__all__ = [
    "AccumulateState",
    "AdafactorState",
    "ApplyIfFiniteState",
    "AsgdState",
    "ClipByGlobalNormState",
    "EmaParamsState",
    "InjectHyperparamsState",
    "LookaheadState",
    "MaskedState",
    "MultiTransformState",
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
    "SkipIfSpikeState",
    "TraceState",
    "ZeroNansState",
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
    "asgd",
    "asgd_averaged_params",
    "centralize",
    "clip_by_global_norm",
    "clip_by_norm",
    "clip_by_value",
    "current_loss_scale",
    "ema_params",
    "get_ema_params",
    "get_hyperparams",
    "get_slow_params",
    "inject_hyperparams",
    "lamb",
    "lars",
    "lion",
    "lookahead",
    "masked",
    "multi_transform",
    "muon",
    "muon_labels",
    "muon_with_adamw",
    "nadam",
    "named_chain",
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
    "set_hyperparams",
    "sgd",
    "skip_if_spike",
    "trace",
    "zero_nans",
]
