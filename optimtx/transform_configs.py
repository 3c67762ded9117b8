"""Transforms and schedules by name: the ``TRANSFORMS`` and ``SCHEDULES`` registries and building from configs.

Every public function of an ``optimtx.transforms`` module annotated ``-> GradientTransformation``
is registered under its own name (modules are discovered with ``pkgutil``, so a new transform
file needs no edit here), as are ``chain``/``identity`` and every public function of
``optimtx.schedules``. It sits below the facade because ``TransformOptimizer`` accepts a
transform config dict and rebuilds it when loading a state dict.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Callable, Mapping
from types import ModuleType
from typing import Any

import torch  # noqa: F401  (the doctests use it)

import optimtx.core.base
import optimtx.schedules
import optimtx.transforms
from optimtx.core.registry import Registry, merge_cfg, resolve_type
from optimtx.transforms.hyperparams import inject_hyperparams

__all__ = [
    "SCHEDULES",
    "TRANSFORMS",
    "build_injected_transform",
    "build_nested",
    "build_transform_from_cfg",
    "public_functions",
    "register_schedules",
    "register_transforms",
]


def build_nested(value: Any, inject: bool = False) -> Any:
    """Build every ``dict(type=...)`` inside ``value`` (lists, tuples and dicts are walked).

    Names are looked up in [`TRANSFORMS`][optimtx.TRANSFORMS], then [`SCHEDULES`][optimtx.SCHEDULES]. With ``inject``,
    transforms are built as by `build_injected_transform`.

    Example:
        >>> build_nested([dict(type="identity")])[0].__class__.__name__
        'GradientTransformation'
    """
    if isinstance(value, Mapping) and "type" in value:
        name = value["type"]
        if isinstance(name, str) and name not in TRANSFORMS and name in SCHEDULES:
            return SCHEDULES.build(value)
        return build_transform_from_cfg(value, TRANSFORMS, inject=inject)
    if isinstance(value, Mapping):
        return {k: build_nested(v, inject) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(build_nested(v, inject) for v in value)
    return value


def _signature(fn: Callable[..., Any]) -> Mapping[str, inspect.Parameter]:
    try:
        return inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return {}


def build_transform_from_cfg(
    cfg: Mapping[str, Any], registry: Registry, default_args: Mapping[str, Any] | None = None, inject: bool = False
) -> Any:
    """Build a transform config, building nested configs first.

    A factory taking ``*args`` (``chain(*transforms)``) receives the list stored under
    that argument's name: ``dict(type='chain', transforms=[...])``. With ``inject``, every
    factory that takes an ``lr`` is wrapped in ``inject_hyperparams`` (see
    `build_injected_transform`).

    Example:
        >>> tx = TRANSFORMS.build(dict(type="chain", transforms=[dict(type="clip_by_global_norm", max_norm=1.0)]))
        >>> tx.update({"w": torch.tensor([3.0, 4.0])}, tx.init({"w": torch.zeros(2)}))[0]
        {'w': tensor([0.6000, 0.8000])}
    """
    args = merge_cfg(cfg, registry, default_args)
    factory = resolve_type(args, registry)
    args.pop("type")
    parameters = _signature(factory)
    var_positional = next((p.name for p in parameters.values() if p.kind is inspect.Parameter.VAR_POSITIONAL), None)
    positional = args.pop(var_positional) if var_positional in args else ()
    if not isinstance(positional, (list, tuple)):
        raise TypeError(f"{var_positional!r} of {factory.__name__} must be a list, got {positional!r}.")
    kwargs = {key: build_nested(value, inject) for key, value in args.items()}
    positional = build_nested(list(positional), inject)
    if inject and "lr" in parameters:
        return _injected_factory(factory, parameters, kwargs)(*positional, **kwargs)
    return factory(*positional, **kwargs)


def _injected_factory(
    factory: Callable[..., Any], parameters: Mapping[str, inspect.Parameter], kwargs: dict[str, Any]
) -> Callable[..., Any]:
    # Fill lr and weight_decay in (as floats, the only numbers inject_hyperparams injects)
    # so every param group has them and paramwise rules or schedulers can override them.
    for name in ("lr", "weight_decay"):
        default = parameters[name].default if name in parameters else inspect.Parameter.empty
        if name not in kwargs and isinstance(default, (int, float)) and not isinstance(default, bool):
            kwargs[name] = default
        if isinstance(kwargs.get(name), int) and not isinstance(kwargs[name], bool):
            kwargs[name] = float(kwargs[name])
    # Default betas become group keys as in torch's Adam-like param groups, so get_momentum()
    # reports betas[0] and momentum schedulers find them.
    default_betas = parameters["betas"].default if "betas" in parameters else None
    if "betas" not in kwargs and isinstance(default_betas, tuple):
        kwargs["betas"] = tuple(float(b) for b in default_betas)
    return inject_hyperparams(factory)


def build_injected_transform(cfg: Mapping[str, Any], default_args: Mapping[str, Any] | None = None) -> Any:
    """Build a transform config with the hyperparameters of every ``lr``-taking factory injected.

    Used by ``TransformOptimizer`` for ``transform=dict(...)``: each factory with an ``lr``
    argument (``sgd``, ``adamw``, ``scale_by_learning_rate``...) is built through
    ``inject_hyperparams`` with its ``lr`` (and ``weight_decay``, if it takes one) filled in
    from the defaults when the config has none, so the optimizer's param groups get
    those keys and schedulers or paramwise rules can change them per group.

    Example:
        >>> from optimtx.transforms.hyperparams import get_hyperparams
        >>> tx = build_injected_transform(dict(type="chain", transforms=[
        ...     dict(type="clip_by_global_norm", max_norm=1.0), dict(type="sgd", lr=1, momentum=0.9)]))
        >>> get_hyperparams(tx.init({"w": torch.zeros(1)}))
        {'lr': tensor(1.), 'momentum': tensor(0.9000), 'weight_decay': tensor(0.)}
    """
    return build_transform_from_cfg(cfg, TRANSFORMS, default_args, inject=True)


TRANSFORMS = Registry("transform", build_func=build_transform_from_cfg, accepts=inspect.isfunction)
SCHEDULES = Registry("schedule", accepts=inspect.isfunction)


def public_functions(module: ModuleType, returns: str | None = None) -> dict[str, Callable[..., Any]]:
    """The public functions defined in ``module``, optionally only those whose return annotation is ``returns``.

    Functions without a return annotation are kept.

    Example:
        >>> import optimtx.transforms.clipping as clipping
        >>> sorted(public_functions(clipping, returns="GradientTransformation"))
        ['clip_by_global_norm', 'clip_by_norm', 'clip_by_value']
    """
    found: dict[str, Callable[..., Any]] = {}
    for name, obj in vars(module).items():
        if name.startswith("_") or not inspect.isfunction(obj) or obj.__module__ != module.__name__:
            continue
        annotation = obj.__annotations__.get("return")
        # Exact match on the last dotted part: ``Callable[..., GradientTransformation]`` (a factory
        # of factories such as inject_hyperparams) is not a transform.
        if returns is not None and annotation is not None and str(annotation).split(".")[-1] != returns:
            continue
        found[name] = obj
    return found


def register_transforms(registry: Registry = TRANSFORMS) -> list[str]:
    """Register ``chain``, ``identity`` and every public factory of the ``optimtx.transforms`` modules.

    Modules are discovered with ``pkgutil``, so a new transform file is picked up without
    editing this list.

    Example:
        >>> {"chain", "clip_by_global_norm"} <= set(TRANSFORMS.module_dict)
        True
    """
    modules = [optimtx.core.base] + [
        importlib.import_module(f"optimtx.transforms.{info.name}")
        for info in pkgutil.iter_modules(optimtx.transforms.__path__)
        if not info.name.startswith("_")  # private modules hold helpers (fuse_adamw), not transforms
    ]
    names = []
    for module in modules:
        for name, fn in public_functions(module, returns="GradientTransformation").items():
            registry.register_module(name=name, module=fn, force=True)
            names.append(name)
    return names


def register_schedules(registry: Registry = SCHEDULES) -> list[str]:
    """Register every public function of ``optimtx.schedules`` .

    Example:
        >>> isinstance(register_schedules(), list)
        True
    """
    for name, fn in public_functions(optimtx.schedules).items():
        registry.register_module(name=name, module=fn, force=True)
    return list(public_functions(optimtx.schedules))


register_transforms()
register_schedules()
