"""The registries configs refer to: optimizers, wrappers, constructors, transforms, schedules, schedulers.

``OPTIMIZERS`` and ``OPTIM_WRAPPERS`` are filled by the ``register_*`` functions below, run once
when this module is imported (only optimtx's own tables change); ``OPTIM_WRAPPER_CONSTRUCTORS`` is
filled where each constructor is defined (``config/constructor.py``, ``config/multi_constructor.py``).
``TRANSFORMS`` and ``SCHEDULES`` live one layer down in ``optimtx/transform_configs.py`` and
``PARAM_SCHEDULERS`` in ``config/scheduler_builder.py``; they are re-exported here. To add entries
from a new module, extend the matching function (e.g. `register_optimtx_optimizers`) or call
``REGISTRY.register_module`` yourself.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

import torch

from optimtx.config.scheduler_builder import PARAM_SCHEDULERS as PARAM_SCHEDULERS
from optimtx.core.registry import Registry, merge_cfg, resolve_type
from optimtx.transform_configs import SCHEDULES as SCHEDULES
from optimtx.transform_configs import TRANSFORMS as TRANSFORMS
from optimtx.transform_configs import build_injected_transform
from optimtx.wrapper.amp_optim_wrapper import AmpOptimWrapper
from optimtx.wrapper.optim_wrapper import OptimWrapper
from optimtx.wrapper.torch_optimizer import TransformOptimizer
from optimtx.wrapper.zero_optimizer import ZeroRedundancyOptimizer

__all__ = [
    "OPTIMIZERS",
    "OPTIM_WRAPPERS",
    "OPTIM_WRAPPER_CONSTRUCTORS",
    "build_optimizer_from_cfg",
    "register_optim_wrappers",
    "register_optimtx_optimizers",
    "register_torch_optimizers",
]


def build_optimizer_from_cfg(
    cfg: Mapping[str, Any], registry: Registry, default_args: Mapping[str, Any] | None = None
) -> torch.optim.Optimizer:
    """Build an optimizer; a ``transform`` config dict is built by `build_injected_transform`.

    Example:
        >>> opt = OPTIMIZERS.build(dict(type="SGD", params=[torch.zeros(1, requires_grad=True)], lr=0.1))
        >>> opt.defaults["lr"]
        0.1
    """
    args = merge_cfg(cfg, registry, default_args)
    optimizer_cls = resolve_type(args, registry)
    args.pop("type")
    if isinstance(args.get("transform"), Mapping):
        args["transform"] = build_injected_transform(args["transform"])
    return optimizer_cls(**args)


def _is_optimizer_class(obj: Any) -> bool:
    return inspect.isclass(obj) and issubclass(obj, torch.optim.Optimizer)


OPTIMIZERS = Registry("optimizer", build_func=build_optimizer_from_cfg, accepts=_is_optimizer_class)
OPTIM_WRAPPERS = Registry("optim_wrapper", accepts=inspect.isclass)
OPTIM_WRAPPER_CONSTRUCTORS = Registry("optimizer wrapper constructor", accepts=inspect.isclass)


def register_torch_optimizers(registry: Registry = OPTIMIZERS) -> list[str]:
    """Register every ``torch.optim.Optimizer`` subclass in ``torch.optim`` under its class name.

    torch's ``Adafactor`` is registered as ``'TorchAdafactor'`` (MMEngine keeps ``'Adafactor'``
    for transformers' version), and `ZeroRedundancyOptimizer` is added.

    Example:
        >>> "AdamW" in OPTIMIZERS and "TorchAdafactor" in OPTIMIZERS
        True
    """
    names = []
    for attr in dir(torch.optim):
        obj = getattr(torch.optim, attr)
        if inspect.isclass(obj) and issubclass(obj, torch.optim.Optimizer):
            name = "TorchAdafactor" if attr == "Adafactor" else attr
            registry.register_module(name=name, module=obj, force=True)
            names.append(name)
    registry.register_module(module=ZeroRedundancyOptimizer, force=True)
    return [*names, "ZeroRedundancyOptimizer"]


def register_optimtx_optimizers(registry: Registry = OPTIMIZERS) -> list[str]:
    """Register optimtx's own ``torch.optim.Optimizer`` classes (``TransformOptimizer``).

    Extend this function when a new optimizer class is added to optimtx.

    Example:
        >>> isinstance(register_optimtx_optimizers(), list)
        True
    """
    for optimizer_cls in (TransformOptimizer,):
        registry.register_module(module=optimizer_cls, force=True)
    return ["TransformOptimizer"]


def register_optim_wrappers(registry: Registry = OPTIM_WRAPPERS) -> list[str]:
    """Register ``OptimWrapper`` and ``AmpOptimWrapper``.

    Example:
        >>> register_optim_wrappers()
        ['OptimWrapper', 'AmpOptimWrapper']
    """
    for wrapper_cls in (OptimWrapper, AmpOptimWrapper):
        registry.register_module(module=wrapper_cls, force=True)
    return ["OptimWrapper", "AmpOptimWrapper"]


register_torch_optimizers()
register_optimtx_optimizers()
register_optim_wrappers()
