"""MMEngine-style import path: ``from optimtx.optim import OptimWrapper`` (port code by renaming ``mmengine``)."""

from __future__ import annotations

from optimtx.wrapper.amp_optim_wrapper import AmpOptimWrapper as AmpOptimWrapper
from optimtx.wrapper.optim_wrapper import OptimWrapper as OptimWrapper
from optimtx.wrapper.optim_wrapper_dict import OptimWrapperDict as OptimWrapperDict

__all__ = ["AmpOptimWrapper", "OptimWrapper", "OptimWrapperDict"]
