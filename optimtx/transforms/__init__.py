"""
from optimtx.transforms.adaptive import ScaleByAmsgradState as ScaleByAmsgradState
from optimtx.transforms.adaptive import ScaleByBeliefState as ScaleByBeliefState
from optimtx.transforms.adaptive import ScaleByYogiState as ScaleByYogiState
from optimtx.transforms.adaptive import adabelief as adabelief
from optimtx.transforms.adaptive import amsgrad as amsgrad
from optimtx.transforms.adaptive import scale_by_amsgrad as scale_by_amsgrad
from optimtx.transforms.adaptive import scale_by_belief as scale_by_belief
from optimtx.transforms.adaptive import scale_by_yogi as scale_by_yogi
from optimtx.transforms.adaptive import yogi as yogi
from optimtx.transforms.axis_accumulators import ScaleBySM3State as ScaleBySM3State
from optimtx.transforms.axis_accumulators import scale_by_sm3 as scale_by_sm3
from optimtx.transforms.axis_accumulators import sm3 as sm3
from optimtx.transforms.coin_betting import COCOBState as COCOBState
from optimtx.transforms.coin_betting import cocob as cocob
from optimtx.transforms.coin_betting import scale_by_cocob as scale_by_cocob
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
from optimtx.transforms.gradient_difference import ScaleByAdanState as ScaleByAdanState
from optimtx.transforms.gradient_difference import adan as adan
from optimtx.transforms.gradient_difference import scale_by_adan as scale_by_adan
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
from optimtx.transforms.line_search import ScaleByBacktrackingLinesearchState as ScaleByBacktrackingLinesearchState
from optimtx.transforms.line_search import scale_by_backtracking_linesearch as scale_by_backtracking_linesearch
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
from optimtx.transforms.optimistic import ScaleByOptimisticGradientState as ScaleByOptimisticGradientState
from optimtx.transforms.optimistic import optimistic_gradient_descent as optimistic_gradient_descent
from optimtx.transforms.optimistic import scale_by_optimistic_gradient as scale_by_optimistic_gradient
from optimtx.transforms.polyak import polyak_sgd as polyak_sgd
from optimtx.transforms.polyak import scale_by_polyak as scale_by_polyak
from optimtx.transforms.schedule_free_wrapper import ScheduleFreeWrapperState as ScheduleFreeWrapperState
from optimtx.transforms.schedule_free_wrapper import schedule_free_wrapper as schedule_free_wrapper
from optimtx.transforms.sign import SignumState as SignumState
from optimtx.transforms.sign import scale_by_sign as scale_by_sign
from optimtx.transforms.sign import scale_by_signum_momentum as scale_by_signum_momentum
from optimtx.transforms.sign import sign_sgd as sign_sgd
from optimtx.transforms.sign import signum as signum
from optimtx.transforms.zoom_line_search import ScaleByZoomLinesearchState as ScaleByZoomLinesearchState
from optimtx.transforms.zoom_line_search import scale_by_zoom_linesearch as scale_by_zoom_linesearch

__all__ = [
    "COCOBState",
    "DAdaptAdamWState",
    "DoGState",
    "DoWGState",
    "MadgradState",
    "MechanicState",
    "MomoAdamState",
    "MomoState",
    "ProdigyState",
    "ScaleByAcpropState",
    "ScaleByAdanState",
    "ScaleByAdemamixState",
    "ScaleByAdoptState",
    "ScaleByAmsgradState",
    "ScaleByBacktrackingLinesearchState",
    "ScaleByBeliefState",
    "ScaleByLBFGSState",
    "ScaleByNovogradState",
    "ScaleByOptimisticGradientState",
    "ScaleBySM3State",
    "ScaleBySimplifiedAdEMAMixState",
    "ScaleByYogiState",
    "ScaleByZoomLinesearchState",
    "ScheduleFreeWrapperState",
    "SignumState",
    "acprop",
    "adabelief",
    "adamaxw",
    "adan",
    "ademamix",
    "adopt",
    "amsgrad",
    "cocob",
    "dadapt_adamw",
    "dog",
    "dowg",
    "lbfgs",
    "madgrad",
    "mechanize",
    "momo",
    "momo_adam",
    "novograd",
    "optimistic_gradient_descent",
    "polyak_sgd",
    "prodigy",
    "scale_by_acprop",
    "scale_by_adan",
    "scale_by_ademamix",
    "scale_by_adopt",
    "scale_by_amsgrad",
    "scale_by_backtracking_linesearch",
    "scale_by_belief",
    "scale_by_cocob",
    "scale_by_dog",
    "scale_by_dowg",
    "scale_by_lbfgs",
    "scale_by_madgrad",
    "scale_by_novograd",
    "scale_by_optimistic_gradient",
    "scale_by_polyak",
    "scale_by_sign",
    "scale_by_signum_momentum",
    "scale_by_simplified_ademamix",
    "scale_by_sm3",
    "scale_by_yogi",
    "scale_by_zoom_linesearch",
    "schedule_free_wrapper",
    "sign_sgd",
    "signum",
    "simplified_ademamix",
    "sm3",
    "yogi",
]
"""

from optimtx.transforms.adaptive import ScaleByAmsgradState as ScaleByAmsgradState
from optimtx.transforms.adaptive import ScaleByBeliefState as ScaleByBeliefState
from optimtx.transforms.adaptive import ScaleByYogiState as ScaleByYogiState
from optimtx.transforms.adaptive import adabelief as adabelief
from optimtx.transforms.adaptive import amsgrad as amsgrad
from optimtx.transforms.adaptive import scale_by_amsgrad as scale_by_amsgrad
from optimtx.transforms.adaptive import scale_by_belief as scale_by_belief
from optimtx.transforms.adaptive import scale_by_yogi as scale_by_yogi
from optimtx.transforms.adaptive import yogi as yogi
from optimtx.transforms.axis_accumulators import ScaleBySM3State as ScaleBySM3State
from optimtx.transforms.axis_accumulators import scale_by_sm3 as scale_by_sm3
from optimtx.transforms.axis_accumulators import sm3 as sm3
from optimtx.transforms.coin_betting import COCOBState as COCOBState
from optimtx.transforms.coin_betting import cocob as cocob
from optimtx.transforms.coin_betting import scale_by_cocob as scale_by_cocob
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
from optimtx.transforms.gradient_difference import ScaleByAdanState as ScaleByAdanState
from optimtx.transforms.gradient_difference import adan as adan
from optimtx.transforms.gradient_difference import scale_by_adan as scale_by_adan
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
from optimtx.transforms.optimistic import ScaleByOptimisticGradientState as ScaleByOptimisticGradientState
from optimtx.transforms.optimistic import optimistic_gradient_descent as optimistic_gradient_descent
from optimtx.transforms.optimistic import scale_by_optimistic_gradient as scale_by_optimistic_gradient
from optimtx.transforms.polyak import polyak_sgd as polyak_sgd
from optimtx.transforms.polyak import scale_by_polyak as scale_by_polyak
from optimtx.transforms.schedule_free_wrapper import ScheduleFreeWrapperState as ScheduleFreeWrapperState
from optimtx.transforms.schedule_free_wrapper import schedule_free_wrapper as schedule_free_wrapper
from optimtx.transforms.sign import SignumState as SignumState
from optimtx.transforms.sign import scale_by_sign as scale_by_sign
from optimtx.transforms.sign import scale_by_signum_momentum as scale_by_signum_momentum
from optimtx.transforms.sign import sign_sgd as sign_sgd
from optimtx.transforms.sign import signum as signum
from optimtx.transforms.zoom_line_search import ScaleByZoomLinesearchState as ScaleByZoomLinesearchState
from optimtx.transforms.zoom_line_search import ZoomLinesearchInfo as ZoomLinesearchInfo
from optimtx.transforms.zoom_line_search import scale_by_zoom_linesearch as scale_by_zoom_linesearch

__all__ = [
    "BacktrackingLinesearchInfo",
    "COCOBState",
    "DAdaptAdamWState",
    "DoGState",
    "DoWGState",
    "MadgradState",
    "MechanicState",
    "MomoAdamState",
    "MomoState",
    "ProdigyState",
    "ScaleByAcpropState",
    "ScaleByAdanState",
    "ScaleByAdemamixState",
    "ScaleByAdoptState",
    "ScaleByAmsgradState",
    "ScaleByBacktrackingLinesearchState",
    "ScaleByBeliefState",
    "ScaleByLBFGSState",
    "ScaleByNovogradState",
    "ScaleByOptimisticGradientState",
    "ScaleBySM3State",
    "ScaleBySimplifiedAdEMAMixState",
    "ScaleByYogiState",
    "ScaleByZoomLinesearchState",
    "ScheduleFreeWrapperState",
    "SignumState",
    "ZoomLinesearchInfo",
    "acprop",
    "adabelief",
    "adamaxw",
    "adan",
    "ademamix",
    "adopt",
    "amsgrad",
    "cocob",
    "dadapt_adamw",
    "dog",
    "dowg",
    "lbfgs",
    "madgrad",
    "mechanize",
    "momo",
    "momo_adam",
    "novograd",
    "optimistic_gradient_descent",
    "polyak_sgd",
    "prodigy",
    "scale_by_acprop",
    "scale_by_adan",
    "scale_by_ademamix",
    "scale_by_adopt",
    "scale_by_amsgrad",
    "scale_by_backtracking_linesearch",
    "scale_by_belief",
    "scale_by_cocob",
    "scale_by_dog",
    "scale_by_dowg",
    "scale_by_lbfgs",
    "scale_by_madgrad",
    "scale_by_novograd",
    "scale_by_optimistic_gradient",
    "scale_by_polyak",
    "scale_by_sign",
    "scale_by_signum_momentum",
    "scale_by_simplified_ademamix",
    "scale_by_sm3",
    "scale_by_yogi",
    "scale_by_zoom_linesearch",
    "schedule_free_wrapper",
    "sign_sgd",
    "signum",
    "simplified_ademamix",
    "sm3",
    "yogi",
]
