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
from optimtx.transforms.adafactor import FactoredState as FactoredState
from optimtx.transforms.adafactor import adafactor as adafactor
from optimtx.transforms.adafactor import scale_by_factored_rms as scale_by_factored_rms
from optimtx.transforms.adam import ScaleByAdamaxState as ScaleByAdamaxState
from optimtx.transforms.adam import ScaleByAdamState as ScaleByAdamState
from optimtx.transforms.adam import scale_by_adam as scale_by_adam
from optimtx.transforms.adam import scale_by_adamax as scale_by_adamax
from optimtx.transforms.adaptive import ScaleByAmsgradState as ScaleByAmsgradState
from optimtx.transforms.adaptive import ScaleByBeliefState as ScaleByBeliefState
from optimtx.transforms.adaptive import ScaleByYogiState as ScaleByYogiState
from optimtx.transforms.adaptive import adabelief as adabelief
from optimtx.transforms.adaptive import amsgrad as amsgrad
from optimtx.transforms.adaptive import scale_by_amsgrad as scale_by_amsgrad
from optimtx.transforms.adaptive import scale_by_belief as scale_by_belief
from optimtx.transforms.adaptive import scale_by_yogi as scale_by_yogi
from optimtx.transforms.adaptive import yogi as yogi
from optimtx.transforms.amp import ScaleByAmpState as ScaleByAmpState
from optimtx.transforms.amp import current_loss_scale as current_loss_scale
from optimtx.transforms.amp import scale_by_amp as scale_by_amp
from optimtx.transforms.asgd import AsgdState as AsgdState
from optimtx.transforms.asgd import asgd as asgd
from optimtx.transforms.asgd import asgd_averaged_params as asgd_averaged_params
from optimtx.transforms.axis_accumulators import ScaleBySM3State as ScaleBySM3State
from optimtx.transforms.axis_accumulators import scale_by_sm3 as scale_by_sm3
from optimtx.transforms.axis_accumulators import sm3 as sm3
from optimtx.transforms.clipping import ClipByGlobalNormState as ClipByGlobalNormState
from optimtx.transforms.clipping import clip_by_global_norm as clip_by_global_norm
from optimtx.transforms.clipping import clip_by_norm as clip_by_norm
from optimtx.transforms.clipping import clip_by_value as clip_by_value
from optimtx.transforms.coin_betting import COCOBState as COCOBState
from optimtx.transforms.coin_betting import cocob as cocob
from optimtx.transforms.coin_betting import scale_by_cocob as scale_by_cocob
from optimtx.transforms.conditionality import ApplyEveryState as ApplyEveryState
from optimtx.transforms.conditionality import ConditionallyMaskState as ConditionallyMaskState
from optimtx.transforms.conditionality import ConditionallyTransformState as ConditionallyTransformState
from optimtx.transforms.conditionality import apply_every as apply_every
from optimtx.transforms.conditionality import conditionally_mask as conditionally_mask
from optimtx.transforms.conditionality import conditionally_transform as conditionally_transform
from optimtx.transforms.constraining import clip_by_block_rms as clip_by_block_rms
from optimtx.transforms.constraining import keep_params_nonnegative as keep_params_nonnegative
from optimtx.transforms.constraining import normalize_by_update_norm as normalize_by_update_norm
from optimtx.transforms.constraining import scale_by_param_block_norm as scale_by_param_block_norm
from optimtx.transforms.constraining import scale_by_param_block_rms as scale_by_param_block_rms
from optimtx.transforms.decoupled import adamaxw as adamaxw
from optimtx.transforms.distance_adaptation import DAdaptAdamWState as DAdaptAdamWState
from optimtx.transforms.distance_adaptation import DoGState as DoGState
from optimtx.transforms.distance_adaptation import DoWGState as DoWGState
from optimtx.transforms.distance_adaptation import ProdigyState as ProdigyState
from optimtx.transforms.distance_adaptation import dadapt_adamw as dadapt_adamw
from optimtx.transforms.distance_adaptation import dog as dog
from optimtx.transforms.distance_adaptation import dowg as dowg
from optimtx.transforms.distance_adaptation import prodigy as prodigy
from optimtx.transforms.distance_adaptation import scale_by_dog as scale_by_dog
from optimtx.transforms.distance_adaptation import scale_by_dowg as scale_by_dowg
from optimtx.transforms.dual_averaging import MadgradState as MadgradState
from optimtx.transforms.dual_averaging import madgrad as madgrad
from optimtx.transforms.dual_averaging import scale_by_madgrad as scale_by_madgrad
from optimtx.transforms.ema import EmaParamsState as EmaParamsState
from optimtx.transforms.ema import EmaState as EmaState
from optimtx.transforms.ema import ema as ema
from optimtx.transforms.ema import ema_params as ema_params
from optimtx.transforms.ema import get_ema_params as get_ema_params
from optimtx.transforms.finite import ApplyIfFiniteState as ApplyIfFiniteState
from optimtx.transforms.finite import apply_if_finite as apply_if_finite
from optimtx.transforms.freezing import freeze as freeze
from optimtx.transforms.freezing import selective_transform as selective_transform
from optimtx.transforms.freezing import set_to_zero as set_to_zero
from optimtx.transforms.fromage import FromageState as FromageState
from optimtx.transforms.fromage import fromage as fromage
from optimtx.transforms.grad_filters import ZeroNansState as ZeroNansState
from optimtx.transforms.grad_filters import adaptive_grad_clip as adaptive_grad_clip
from optimtx.transforms.grad_filters import centralize as centralize
from optimtx.transforms.grad_filters import zero_nans as zero_nans
from optimtx.transforms.gradient_difference import ScaleByAdanState as ScaleByAdanState
from optimtx.transforms.gradient_difference import adan as adan
from optimtx.transforms.gradient_difference import scale_by_adan as scale_by_adan
from optimtx.transforms.hyperparams import InjectHyperparamsState as InjectHyperparamsState
from optimtx.transforms.hyperparams import get_hyperparams as get_hyperparams
from optimtx.transforms.hyperparams import init_with_hyperparams as init_with_hyperparams
from optimtx.transforms.hyperparams import inject_hyperparams as inject_hyperparams
from optimtx.transforms.hyperparams import set_hyperparams as set_hyperparams
from optimtx.transforms.lagged_second_moment import ScaleByAcpropState as ScaleByAcpropState
from optimtx.transforms.lagged_second_moment import ScaleByAdoptState as ScaleByAdoptState
from optimtx.transforms.lagged_second_moment import acprop as acprop
from optimtx.transforms.lagged_second_moment import adopt as adopt
from optimtx.transforms.lagged_second_moment import scale_by_acprop as scale_by_acprop
from optimtx.transforms.lagged_second_moment import scale_by_adopt as scale_by_adopt
from optimtx.transforms.layerwise_moments import ScaleByNovogradState as ScaleByNovogradState
from optimtx.transforms.layerwise_moments import novograd as novograd
from optimtx.transforms.layerwise_moments import scale_by_novograd as scale_by_novograd
from optimtx.transforms.lbfgs import ScaleByLBFGSState as ScaleByLBFGSState
from optimtx.transforms.lbfgs import lbfgs as lbfgs
from optimtx.transforms.lbfgs import scale_by_lbfgs as scale_by_lbfgs
from optimtx.transforms.line_search import BacktrackingLinesearchInfo as BacktrackingLinesearchInfo
from optimtx.transforms.line_search import ScaleByBacktrackingLinesearchState as ScaleByBacktrackingLinesearchState
from optimtx.transforms.line_search import scale_by_backtracking_linesearch as scale_by_backtracking_linesearch
from optimtx.transforms.lion import ScaleByLionState as ScaleByLionState
from optimtx.transforms.lion import scale_by_lion as scale_by_lion
from optimtx.transforms.lookahead import LookaheadState as LookaheadState
from optimtx.transforms.lookahead import get_slow_params as get_slow_params
from optimtx.transforms.lookahead import lookahead as lookahead
from optimtx.transforms.low_bit import QuantizedTensor as QuantizedTensor
from optimtx.transforms.low_bit import quantize_state as quantize_state
from optimtx.transforms.low_bit import state_nbytes as state_nbytes
from optimtx.transforms.mars import ScaleByMarsState as ScaleByMarsState
from optimtx.transforms.mars import mars as mars
from optimtx.transforms.mars import scale_by_mars as scale_by_mars
from optimtx.transforms.masking import MaskedState as MaskedState
from optimtx.transforms.masking import MultiTransformState as MultiTransformState
from optimtx.transforms.masking import masked as masked
from optimtx.transforms.masking import multi_transform as multi_transform
from optimtx.transforms.mechanic import MechanicState as MechanicState
from optimtx.transforms.mechanic import mechanize as mechanize
from optimtx.transforms.mixture_of_emas import ScaleByAdemamixState as ScaleByAdemamixState
from optimtx.transforms.mixture_of_emas import ScaleBySimplifiedAdEMAMixState as ScaleBySimplifiedAdEMAMixState
from optimtx.transforms.mixture_of_emas import ademamix as ademamix
from optimtx.transforms.mixture_of_emas import scale_by_ademamix as scale_by_ademamix
from optimtx.transforms.mixture_of_emas import scale_by_simplified_ademamix as scale_by_simplified_ademamix
from optimtx.transforms.mixture_of_emas import simplified_ademamix as simplified_ademamix
from optimtx.transforms.model_based_momentum import MomoAdamState as MomoAdamState
from optimtx.transforms.model_based_momentum import MomoState as MomoState
from optimtx.transforms.model_based_momentum import momo as momo
from optimtx.transforms.model_based_momentum import momo_adam as momo_adam
from optimtx.transforms.momentum import TraceState as TraceState
from optimtx.transforms.momentum import trace as trace
from optimtx.transforms.monitoring import MonitorState as MonitorState
from optimtx.transforms.monitoring import SnapshotState as SnapshotState
from optimtx.transforms.monitoring import measure_with_ema as measure_with_ema
from optimtx.transforms.monitoring import monitor as monitor
from optimtx.transforms.monitoring import snapshot as snapshot
from optimtx.transforms.muon import MuonRoute as MuonRoute
from optimtx.transforms.muon import ScaleByMuonState as ScaleByMuonState
from optimtx.transforms.muon import muon as muon
from optimtx.transforms.muon import muon_labels as muon_labels
from optimtx.transforms.muon import muon_routes as muon_routes
from optimtx.transforms.muon import muon_with_adamw as muon_with_adamw
from optimtx.transforms.muon import scale_by_muon as scale_by_muon
from optimtx.transforms.nadam import ScaleByNadamState as ScaleByNadamState
from optimtx.transforms.nadam import nadam as nadam
from optimtx.transforms.nadam import scale_by_nadam as scale_by_nadam
from optimtx.transforms.named_chain import named_chain as named_chain
from optimtx.transforms.noise import AddNoiseState as AddNoiseState
from optimtx.transforms.noise import add_noise as add_noise
from optimtx.transforms.optimistic import ScaleByOptimisticGradientState as ScaleByOptimisticGradientState
from optimtx.transforms.optimistic import optimistic_gradient_descent as optimistic_gradient_descent
from optimtx.transforms.optimistic import scale_by_optimistic_gradient as scale_by_optimistic_gradient
from optimtx.transforms.optimizers import adagrad as adagrad
from optimtx.transforms.optimizers import adam as adam
from optimtx.transforms.optimizers import adamax as adamax
from optimtx.transforms.optimizers import adamw as adamw
from optimtx.transforms.optimizers import lion as lion
from optimtx.transforms.optimizers import rmsprop as rmsprop
from optimtx.transforms.optimizers import sgd as sgd
from optimtx.transforms.param_copies import incremental_update as incremental_update
from optimtx.transforms.param_copies import periodic_update as periodic_update
from optimtx.transforms.per_example import per_example_global_norm_clip as per_example_global_norm_clip
from optimtx.transforms.per_example import per_example_layer_norm_clip as per_example_layer_norm_clip
from optimtx.transforms.polyak import polyak_sgd as polyak_sgd
from optimtx.transforms.polyak import scale_by_polyak as scale_by_polyak
from optimtx.transforms.psgd import ScaleByPsgdKronState as ScaleByPsgdKronState
from optimtx.transforms.psgd import psgd_kron as psgd_kron
from optimtx.transforms.psgd import scale_by_psgd_kron as scale_by_psgd_kron
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
from optimtx.transforms.schedule_free_wrapper import ScheduleFreeWrapperState as ScheduleFreeWrapperState
from optimtx.transforms.schedule_free_wrapper import schedule_free_wrapper as schedule_free_wrapper
from optimtx.transforms.shampoo import ScaleByShampooState as ScaleByShampooState
from optimtx.transforms.shampoo import scale_by_shampoo as scale_by_shampoo
from optimtx.transforms.shampoo import shampoo as shampoo
from optimtx.transforms.sharpness import SAMState as SAMState
from optimtx.transforms.sharpness import normalize_to_unit_norm as normalize_to_unit_norm
from optimtx.transforms.sharpness import sam as sam
from optimtx.transforms.sign import SignumState as SignumState
from optimtx.transforms.sign import scale_by_sign as scale_by_sign
from optimtx.transforms.sign import scale_by_signum_momentum as scale_by_signum_momentum
from optimtx.transforms.sign import sign_sgd as sign_sgd
from optimtx.transforms.sign import signum as signum
from optimtx.transforms.soap import ScaleBySoapState as ScaleBySoapState
from optimtx.transforms.soap import scale_by_soap as scale_by_soap
from optimtx.transforms.soap import soap as soap
from optimtx.transforms.sophia import HutchinsonState as HutchinsonState
from optimtx.transforms.sophia import SophiaState as SophiaState
from optimtx.transforms.sophia import hutchinson_estimator_diag_hessian as hutchinson_estimator_diag_hessian
from optimtx.transforms.sophia import scale_by_sophia as scale_by_sophia
from optimtx.transforms.sophia import sophia as sophia
from optimtx.transforms.spike import SkipIfSpikeState as SkipIfSpikeState
from optimtx.transforms.spike import skip_if_spike as skip_if_spike
from optimtx.transforms.trust_ratio import ScheduledDecayState as ScheduledDecayState
from optimtx.transforms.trust_ratio import lamb as lamb
from optimtx.transforms.trust_ratio import lars as lars
from optimtx.transforms.trust_ratio import scale_by_trust_ratio as scale_by_trust_ratio
from optimtx.transforms.weight_decay import add_decayed_weights as add_decayed_weights
from optimtx.transforms.wrapping import flatten as flatten
from optimtx.transforms.wrapping import stateless as stateless
from optimtx.transforms.wrapping import stateless_with_tree_map as stateless_with_tree_map
from optimtx.transforms.wrapping import with_extra_args_support as with_extra_args_support
from optimtx.transforms.zoom_line_search import ScaleByZoomLinesearchState as ScaleByZoomLinesearchState
from optimtx.transforms.zoom_line_search import ZoomLinesearchInfo as ZoomLinesearchInfo
from optimtx.transforms.zoom_line_search import scale_by_zoom_linesearch as scale_by_zoom_linesearch

__all__ = [
    "AccumulateState",
    "AdafactorState",
    "AddNoiseState",
    "ApplyEveryState",
    "ApplyIfFiniteState",
    "AsgdState",
    "BacktrackingLinesearchInfo",
    "COCOBState",
    "ClipByGlobalNormState",
    "ConditionallyMaskState",
    "ConditionallyTransformState",
    "DAdaptAdamWState",
    "DoGState",
    "DoWGState",
    "EmaParamsState",
    "EmaState",
    "FactoredState",
    "FromageState",
    "HutchinsonState",
    "InjectHyperparamsState",
    "LookaheadState",
    "MadgradState",
    "MaskedState",
    "MechanicState",
    "MomoAdamState",
    "MomoState",
    "MonitorState",
    "MultiTransformState",
    "MuonRoute",
    "ProdigyState",
    "QuantizedTensor",
    "SAMState",
    "ScaleByAcpropState",
    "ScaleByAdadeltaState",
    "ScaleByAdagradState",
    "ScaleByAdamState",
    "ScaleByAdamaxState",
    "ScaleByAdanState",
    "ScaleByAdemamixState",
    "ScaleByAdoptState",
    "ScaleByAmpState",
    "ScaleByAmsgradState",
    "ScaleByBacktrackingLinesearchState",
    "ScaleByBeliefState",
    "ScaleByLBFGSState",
    "ScaleByLearningRateState",
    "ScaleByLionState",
    "ScaleByMarsState",
    "ScaleByMuonState",
    "ScaleByNadamState",
    "ScaleByNovogradState",
    "ScaleByOptimisticGradientState",
    "ScaleByPsgdKronState",
    "ScaleByRadamState",
    "ScaleByRmsState",
    "ScaleByRpropState",
    "ScaleBySM3State",
    "ScaleByShampooState",
    "ScaleBySimplifiedAdEMAMixState",
    "ScaleBySoapState",
    "ScaleByYogiState",
    "ScaleByZoomLinesearchState",
    "ScheduleFreeState",
    "ScheduleFreeWrapperState",
    "ScheduledDecayState",
    "SignumState",
    "SkipIfSpikeState",
    "SnapshotState",
    "SophiaState",
    "TraceState",
    "ZeroNansState",
    "ZoomLinesearchInfo",
    "accumulate",
    "acprop",
    "adabelief",
    "adadelta",
    "adafactor",
    "adagrad",
    "adam",
    "adamax",
    "adamaxw",
    "adamw",
    "adan",
    "adaptive_grad_clip",
    "add_decayed_weights",
    "add_noise",
    "ademamix",
    "adopt",
    "amsgrad",
    "apply_every",
    "apply_if_finite",
    "asgd",
    "asgd_averaged_params",
    "centralize",
    "clip_by_block_rms",
    "clip_by_global_norm",
    "clip_by_norm",
    "clip_by_value",
    "cocob",
    "conditionally_mask",
    "conditionally_transform",
    "current_loss_scale",
    "dadapt_adamw",
    "dog",
    "dowg",
    "ema",
    "ema_params",
    "flatten",
    "freeze",
    "fromage",
    "get_ema_params",
    "get_hyperparams",
    "get_slow_params",
    "hutchinson_estimator_diag_hessian",
    "incremental_update",
    "init_with_hyperparams",
    "inject_hyperparams",
    "keep_params_nonnegative",
    "lamb",
    "lars",
    "lbfgs",
    "lion",
    "lookahead",
    "madgrad",
    "mars",
    "masked",
    "measure_with_ema",
    "mechanize",
    "momo",
    "momo_adam",
    "monitor",
    "multi_transform",
    "muon",
    "muon_labels",
    "muon_routes",
    "muon_with_adamw",
    "nadam",
    "named_chain",
    "normalize_by_update_norm",
    "normalize_to_unit_norm",
    "novograd",
    "optimistic_gradient_descent",
    "per_example_global_norm_clip",
    "per_example_layer_norm_clip",
    "periodic_update",
    "polyak_sgd",
    "prodigy",
    "psgd_kron",
    "quantize_state",
    "radam",
    "rmsprop",
    "rprop",
    "sam",
    "scale",
    "scale_by_acprop",
    "scale_by_adadelta",
    "scale_by_adagrad",
    "scale_by_adam",
    "scale_by_adamax",
    "scale_by_adan",
    "scale_by_ademamix",
    "scale_by_adopt",
    "scale_by_amp",
    "scale_by_amsgrad",
    "scale_by_backtracking_linesearch",
    "scale_by_belief",
    "scale_by_cocob",
    "scale_by_dog",
    "scale_by_dowg",
    "scale_by_factored_rms",
    "scale_by_lbfgs",
    "scale_by_learning_rate",
    "scale_by_lion",
    "scale_by_madgrad",
    "scale_by_mars",
    "scale_by_muon",
    "scale_by_nadam",
    "scale_by_novograd",
    "scale_by_optimistic_gradient",
    "scale_by_param_block_norm",
    "scale_by_param_block_rms",
    "scale_by_polyak",
    "scale_by_psgd_kron",
    "scale_by_radam",
    "scale_by_rms",
    "scale_by_rprop",
    "scale_by_shampoo",
    "scale_by_sign",
    "scale_by_signum_momentum",
    "scale_by_simplified_ademamix",
    "scale_by_sm3",
    "scale_by_soap",
    "scale_by_sophia",
    "scale_by_trust_ratio",
    "scale_by_yogi",
    "scale_by_zoom_linesearch",
    "schedule_free_adamw",
    "schedule_free_eval_params",
    "schedule_free_sgd",
    "schedule_free_wrapper",
    "selective_transform",
    "set_hyperparams",
    "set_to_zero",
    "sgd",
    "shampoo",
    "sign_sgd",
    "signum",
    "simplified_ademamix",
    "skip_if_spike",
    "sm3",
    "snapshot",
    "soap",
    "sophia",
    "state_nbytes",
    "stateless",
    "stateless_with_tree_map",
    "trace",
    "with_extra_args_support",
    "yogi",
    "zero_nans",
]
