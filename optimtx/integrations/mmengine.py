"""Use optimtx inside MMEngine: importing this module registers optimtx in MMEngine's registries.

After ``import optimtx.integrations.mmengine`` (in a config: ``custom_imports =
dict(imports=["optimtx.integrations.mmengine"])``), an MMEngine ``Runner`` config switches
to optimtx by one line, for example ``optim_wrapper = dict(type="optimtx.AmpOptimWrapper",
dtype="bfloat16", ...)``, which trains with automatic mixed precision on the CPU as well.

What is registered, under MMEngine's scope ``optimtx`` (so names read ``"optimtx.<Name>"``):

* ``OPTIM_WRAPPERS``: ``OptimWrapper``, ``AmpOptimWrapper``, ``OptimWrapperDict``;
* ``OPTIM_WRAPPER_CONSTRUCTORS``: ``DefaultOptimWrapperConstructor`` (one param group per
  label instead of one per parameter, plus ``explain``) and ``MultiOptimWrapperConstructor``;
* ``OPTIMIZERS``: ``TransformOptimizer``, whose ``transform`` config is built from optimtx's
  gradient transforms (``dict(type="chain", transforms=[...])``). MMEngine's own ``TRANSFORMS``
  registry holds data-pipeline transforms, so gradient transforms are reached through it.

The registered wrapper classes are thin subclasses of optimtx's wrapper and MMEngine's
matching class (``optimtx.integrations.mmengine.AmpOptimWrapper`` derives from
``optimtx.AmpOptimWrapper`` and ``mmengine.optim.OptimWrapper``), so the ``Runner``'s
``isinstance`` checks, its parameter schedulers and its hooks accept them, while every
method is optimtx's.

Example:
    >>> import optimtx.integrations.mmengine  # doctest: +SKIP
    >>> from mmengine.registry import OPTIM_WRAPPERS  # doctest: +SKIP
    >>> OPTIM_WRAPPERS.get("optimtx.AmpOptimWrapper")  # doctest: +SKIP
    <class 'optimtx.wrapper.amp_optim_wrapper.AmpOptimWrapper'>
"""

from __future__ import annotations

from typing import Any

try:
    import mmengine.optim as _mm_optim
    import mmengine.registry as _mm_registry
except ImportError as error:  # pragma: no cover - exercised only without mmengine
    raise ImportError(
        "optimtx.integrations.mmengine needs MMEngine: pip install mmengine (or mmengine-lite)."
    ) from error

from optimtx.config import constructor, multi_constructor
from optimtx.config.registries import OPTIM_WRAPPERS as _OTX_OPTIM_WRAPPERS
from optimtx.config.registries import OPTIMIZERS
from optimtx.wrapper import amp_optim_wrapper, optim_wrapper, optim_wrapper_dict

SCOPE = "optimtx"


class OptimWrapper(optim_wrapper.OptimWrapper, _mm_optim.OptimWrapper):
    """optimtx's ``OptimWrapper`` that MMEngine's ``Runner`` recognises as its own kind."""


class AmpOptimWrapper(amp_optim_wrapper.AmpOptimWrapper, _mm_optim.OptimWrapper):
    """optimtx's ``AmpOptimWrapper`` (CPU AMP included) that MMEngine's ``Runner`` recognises."""


class OptimWrapperDict(optim_wrapper_dict.OptimWrapperDict, _mm_optim.OptimWrapperDict):
    """optimtx's ``OptimWrapperDict`` that MMEngine's ``Runner`` recognises."""


_BRIDGED: dict[type, type] = {
    optim_wrapper.OptimWrapper: OptimWrapper,
    amp_optim_wrapper.AmpOptimWrapper: AmpOptimWrapper,
    optim_wrapper_dict.OptimWrapperDict: OptimWrapperDict,
}


def _bridged_type(wrapper_type: Any) -> Any:
    cls: Any = _OTX_OPTIM_WRAPPERS.get(wrapper_type) if isinstance(wrapper_type, str) else wrapper_type
    return _BRIDGED.get(cls, wrapper_type) if isinstance(cls, type) else wrapper_type


class DefaultOptimWrapperConstructor(constructor.DefaultOptimWrapperConstructor):
    """optimtx's constructor, building the MMEngine-recognised wrapper classes."""

    def __call__(self, model: Any) -> Any:
        wrapper_type = self.optim_wrapper_cfg.get("type", "OptimWrapper")
        self.optim_wrapper_cfg["type"] = _bridged_type(wrapper_type)
        try:
            return super().__call__(model)
        finally:
            self.optim_wrapper_cfg["type"] = wrapper_type


class MultiOptimWrapperConstructor(multi_constructor.MultiOptimWrapperConstructor):
    """optimtx's multi-optimizer constructor, building MMEngine-recognised wrappers."""

    def __call__(self, model: Any) -> Any:
        wrappers = {
            name: DefaultOptimWrapperConstructor(
                {k: v for k, v in cfg.items() if k not in ("paramwise_cfg", "constructor")}, cfg.get("paramwise_cfg")
            )(multi_constructor.named_submodule(model, name))
            for name, cfg in self.optim_wrapper_cfg.items()
        }
        return OptimWrapperDict(**wrappers)


def _transform_optimizer(**kwargs: Any) -> Any:
    """Build optimtx's ``TransformOptimizer`` (its ``transform`` config through optimtx's registries)."""
    return OPTIMIZERS.build(dict(type="TransformOptimizer", **kwargs))


_transform_optimizer.__name__ = "TransformOptimizer"


def _child(parent: Any) -> Any:
    """MMEngine registry ``parent``'s child in the ``optimtx`` scope (created once)."""
    existing = parent._children.get(SCOPE)
    if existing is not None:
        return existing
    return _mm_registry.Registry(parent.name, parent=parent, scope=SCOPE)


OPTIM_WRAPPERS = _child(_mm_registry.OPTIM_WRAPPERS)
OPTIM_WRAPPER_CONSTRUCTORS = _child(_mm_registry.OPTIM_WRAPPER_CONSTRUCTORS)
OPTIMIZERS_MM = _child(_mm_registry.OPTIMIZERS)


def register(force: bool = True) -> list[str]:
    """Register optimtx's wrappers, constructors and ``TransformOptimizer`` in MMEngine (idempotent).

    Returns:
        The scoped names now available, e.g. ``'optimtx.AmpOptimWrapper'``.
    """
    entries: list[tuple[Any, list[Any]]] = [
        (OPTIM_WRAPPERS, [OptimWrapper, AmpOptimWrapper, OptimWrapperDict]),
        (OPTIM_WRAPPER_CONSTRUCTORS, [DefaultOptimWrapperConstructor, MultiOptimWrapperConstructor]),
        (OPTIMIZERS_MM, [_transform_optimizer]),
    ]
    names = []
    for registry, objects in entries:
        for obj in objects:
            registry.register_module(name=obj.__name__, module=obj, force=force)
            names.append(f"{SCOPE}.{obj.__name__}")
    return names


REGISTERED = register()

__all__ = [
    "OPTIM_WRAPPERS",
    "OPTIM_WRAPPER_CONSTRUCTORS",
    "REGISTERED",
    "AmpOptimWrapper",
    "DefaultOptimWrapperConstructor",
    "MultiOptimWrapperConstructor",
    "OptimWrapper",
    "OptimWrapperDict",
    "register",
]
