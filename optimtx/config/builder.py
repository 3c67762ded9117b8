"""``build_optim_wrapper``: the one call from a config dict to a ready optimizer wrapper."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from torch import nn

from optimtx.config.registries import OPTIM_WRAPPER_CONSTRUCTORS
from optimtx.core.registry import resolve_type

__all__ = ["build_optim_wrapper"]


def build_optim_wrapper(model: nn.Module, cfg: Mapping[str, Any]) -> Any:
    """Build the optimizer wrapper that ``cfg`` describes for ``model``.

    ``cfg`` holds the wrapper's arguments plus ``optimizer`` (required by the default constructor), and optionally
    ``constructor`` (a name in ``OPTIM_WRAPPER_CONSTRUCTORS``, default
    ``'DefaultOptimWrapperConstructor'``), ``paramwise_cfg`` and ``type`` (default
    ``'OptimWrapper'``). ``cfg`` is not modified.

    Example:
        >>> import torch
        >>> model = torch.nn.Linear(2, 1)
        >>> wrapper = build_optim_wrapper(model, dict(optimizer=dict(type="SGD", lr=0.1)))
        >>> type(wrapper).__name__, wrapper.optimizer.defaults["lr"]
        ('OptimWrapper', 0.1)
    """
    if not isinstance(cfg, Mapping):
        raise TypeError(f"cfg must be a dict describing the optimizer wrapper, got {type(cfg)}.")
    # The default constructor checks for ``optimizer``; custom ones (several
    # optimizers, e.g. a GAN) may use other keys.
    cfg_copy: dict[str, Any] = copy.deepcopy(dict(cfg))
    constructor_type = constructor_class(cfg_copy)
    cfg_copy.pop("constructor", None)
    paramwise_cfg = cfg_copy.pop("paramwise_cfg", None)
    constructor = OPTIM_WRAPPER_CONSTRUCTORS.build(
        dict(type=constructor_type, optim_wrapper_cfg=cfg_copy, paramwise_cfg=paramwise_cfg)
    )
    return constructor(model)


def constructor_class(cfg: Mapping[str, Any]) -> Any:
    """The constructor a wrapper config names, asked of ``OPTIM_WRAPPER_CONSTRUCTORS`` (default: the default one).

    ``build_optim_wrapper`` and ``explain`` both ask here, so a constructor registered in place of a
    built-in one is the one both use.

    Example:
        >>> constructor_class(dict(optimizer=dict(type="SGD", lr=0.1))).__name__
        'DefaultOptimWrapperConstructor'
    """
    return resolve_type(dict(type=cfg.get("constructor", "DefaultOptimWrapperConstructor")), OPTIM_WRAPPER_CONSTRUCTORS)
