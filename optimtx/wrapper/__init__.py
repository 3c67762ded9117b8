"""The stateful, MMEngine-compatible facade: optimizer wrappers (and later their builder)."""

from __future__ import annotations

from optimtx.wrapper.amp_optim_wrapper import AmpOptimWrapper as AmpOptimWrapper
from optimtx.wrapper.loss_scaler import LossScaler as LossScaler
from optimtx.wrapper.optim_wrapper import OptimWrapper as OptimWrapper
from optimtx.wrapper.optim_wrapper_dict import OptimWrapperDict as OptimWrapperDict

__all__ = ["AmpOptimWrapper", "LossScaler", "OptimWrapper", "OptimWrapperDict"]
