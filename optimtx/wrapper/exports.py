"""The public names of the facade layer, re-exported by ``optimtx``.

Kept out of ``wrapper/__init__.py`` so that the functions ``eval_params`` and ``step_info`` do not
hide the modules of the same name (``optimtx.wrapper.eval_params``, ``optimtx.wrapper.step_info``).
"""

from __future__ import annotations

from optimtx.wrapper.amp_optim_wrapper import AmpOptimWrapper as AmpOptimWrapper
from optimtx.wrapper.eval_params import eval_params as eval_params
from optimtx.wrapper.fast_step import FusedStepResult as FusedStepResult
from optimtx.wrapper.fast_step import fused_amp_step as fused_amp_step
from optimtx.wrapper.fast_step import supports_fused_amp_step as supports_fused_amp_step
from optimtx.wrapper.loss_scaler import LossScaler as LossScaler
from optimtx.wrapper.optim_wrapper import OptimWrapper as OptimWrapper
from optimtx.wrapper.optim_wrapper_dict import OptimWrapperDict as OptimWrapperDict
from optimtx.wrapper.step_info import StepInfo as StepInfo
from optimtx.wrapper.step_info import step_info as step_info
from optimtx.wrapper.torch_optimizer import TransformOptimizer as TransformOptimizer

__all__ = [
    "AmpOptimWrapper",
    "FusedStepResult",
    "LossScaler",
    "OptimWrapper",
    "OptimWrapperDict",
    "StepInfo",
    "TransformOptimizer",
    "eval_params",
    "fused_amp_step",
    "step_info",
    "supports_fused_amp_step",
]
