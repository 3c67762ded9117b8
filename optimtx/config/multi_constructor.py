"""``MultiOptimWrapperConstructor``: one wrapper per named submodule (a GAN's generator and discriminator).

OpenMMLab's generation projects write several optimizers as one config keyed by the
model's submodule names, with ``constructor='MultiOptimWrapperConstructor'``; each entry
is an ordinary wrapper config (its own ``optimizer``, ``type``, ``paramwise_cfg``,
``accumulative_counts``...) and is built over that submodule alone. The result is an
[`OptimWrapperDict`][optimtx.OptimWrapperDict]. An entry may also pick its modules by name
or pattern (``modules='.*unet'`` or a list); and a config with ``modules`` at the top
(``dict(constructor=..., modules=['unet', 'text_encoder'], optimizer=...)``, as mmagic's
DreamBooth and textual-inversion configs write it) builds one wrapper over those modules.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from torch import nn

from optimtx.config.builder import build_optim_wrapper
from optimtx.config.registries import OPTIM_WRAPPER_CONSTRUCTORS
from optimtx.wrapper.optim_wrapper_dict import OptimWrapperDict

__all__ = ["MultiOptimWrapperConstructor", "named_submodule"]


def named_submodule(model: nn.Module, name: str) -> nn.Module:
    """The submodule ``model.<name>`` (``model.module`` is unwrapped first), or ``KeyError`` listing the names.

    Example:
        >>> gan = nn.ModuleDict(dict(generator=nn.Linear(2, 2), discriminator=nn.Linear(2, 1)))
        >>> named_submodule(gan, "generator")
        Linear(in_features=2, out_features=2, bias=True)
    """
    children = dict(_unwrapped(model).named_children())
    if name not in children:
        raise KeyError(
            f"the optimizer config names submodule {name!r}, but the model has only {sorted(children)!r}; "
            "each key of a MultiOptimWrapperConstructor config must be a child module's name."
        )
    return children[name]


def modules_by_names(model: nn.Module, names: str | Sequence[str]) -> nn.Module:
    """The part of ``model`` that ``names`` picks, as one module to build an optimizer over.

    Each name is a child module's name or else a regular expression matched (``re.fullmatch``) against
    the full names of all submodules, as OpenMMLab's generation projects write them (``'unet'``,
    ``'.*embedding'``, ``'m1.generator'``). One module picked is returned as it is; several are put in an
    ``nn.ModuleList`` (a module inside another picked one is not repeated, so no parameter is twice).

    Raises:
        KeyError: a name picks nothing (the child names are listed).

    Example:
        >>> model = nn.ModuleDict(dict(unet=nn.Linear(2, 2), text=nn.ModuleDict(dict(embedding=nn.Embedding(3, 2)))))
        >>> type(modules_by_names(model, "unet")).__name__, len(modules_by_names(model, ["unet", ".*embedding"]))
        ('Linear', 2)
    """
    listed = [names] if isinstance(names, str) else names
    if not isinstance(listed, (list, tuple)) or not listed or not all(isinstance(n, str) for n in listed):
        raise TypeError(f"modules must be a module name or pattern, or a non-empty list of them, got {names!r}.")
    inner = _unwrapped(model)
    children = dict(inner.named_children())
    found: list[nn.Module] = []
    for name in listed:
        picked = [children[name]] if name in children else _matching(inner, name)
        if not picked:
            raise KeyError(
                f"modules entry {name!r} is neither a child module of the model ({sorted(children)!r}) nor a "
                "pattern matching any submodule's full name."
            )
        found += picked
    kept = _outermost(found)
    return kept[0] if len(kept) == 1 else nn.ModuleList(kept)


def _unwrapped(model: nn.Module) -> nn.Module:
    return model.module if hasattr(model, "module") and isinstance(model.module, nn.Module) else model


def _matching(model: nn.Module, pattern: str) -> list[nn.Module]:
    try:
        regex = re.compile(pattern)
    except re.error as error:
        raise ValueError(f"Invalid modules pattern {pattern!r}: {error}.") from None
    return [m for n, m in model.named_modules() if n and regex.fullmatch(n)]


def _outermost(modules: list[nn.Module]) -> list[nn.Module]:
    """``modules`` without repeats and without modules that sit inside another one of them."""
    unique = list({id(m): m for m in modules}.values())
    inside = {id(sub) for m in unique for sub in m.modules() if sub is not m}
    return [m for m in unique if id(m) not in inside]


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class MultiOptimWrapperConstructor:
    """Build an ``OptimWrapperDict`` with one wrapper per named child module.

    Args:
        optim_wrapper_cfg: ``{submodule_name: wrapper_config}``; each wrapper config is what
            ``build_optim_wrapper`` takes (it may set its own ``constructor`` and ``paramwise_cfg``).
            Not modified.
        paramwise_cfg: must be ``None``: per-parameter rules go inside each entry.

    Example:
        >>> import optimtx as otx
        >>> gan = nn.ModuleDict(dict(generator=nn.Linear(2, 2), discriminator=nn.Linear(2, 1)))
        >>> wrappers = otx.build_optim_wrapper(gan, dict(
        ...     constructor="MultiOptimWrapperConstructor",
        ...     generator=dict(optimizer=dict(type="Adam", lr=2e-4)),
        ...     discriminator=dict(optimizer=dict(type="SGD", lr=0.1))))
        >>> sorted(wrappers.get_lr().items())
        [('discriminator.lr', [0.1]), ('generator.lr', [0.0002])]
    """

    def __init__(self, optim_wrapper_cfg: Mapping[str, Any], paramwise_cfg: Mapping[str, Any] | None = None):
        if not isinstance(optim_wrapper_cfg, Mapping) or not optim_wrapper_cfg:
            raise TypeError(
                "MultiOptimWrapperConstructor takes a non-empty dict {submodule_name: wrapper_config}, "
                f"got {optim_wrapper_cfg!r}."
            )
        # mmagic's form dict(modules=..., optimizer=...): one wrapper over the modules named, whose own
        # paramwise_cfg is the top-level one.
        self.single = "modules" in optim_wrapper_cfg
        if paramwise_cfg and not self.single:
            raise ValueError(
                "MultiOptimWrapperConstructor takes no top-level paramwise_cfg; put it inside each "
                f"wrapper's config (got {paramwise_cfg!r})."
            )
        single = {**optim_wrapper_cfg, **({"paramwise_cfg": paramwise_cfg} if paramwise_cfg else {})}
        entries = {"": single} if self.single else optim_wrapper_cfg
        for name, cfg in entries.items():
            if not isinstance(cfg, Mapping):
                raise TypeError(
                    f"MultiOptimWrapperConstructor entry {name!r} is {cfg!r}; each entry is a wrapper config "
                    "dict such as dict(optimizer=dict(type='Adam', lr=1e-4)), or dict(modules=..., optimizer=...)."
                )
        self.optim_wrapper_cfg = {name: dict(cfg) for name, cfg in entries.items()}

    def __call__(self, model: nn.Module) -> Any:
        """Build each entry over the modules it names; an ``OptimWrapperDict``, or one wrapper for ``modules=``."""
        parts = {name: self.part(model, name) for name in self.optim_wrapper_cfg}
        wrappers = {name: build_optim_wrapper(module, cfg) for name, (module, cfg) in parts.items()}
        return wrappers[""] if self.single else OptimWrapperDict(**wrappers)

    def part(self, model: nn.Module, name: str) -> tuple[nn.Module, dict[str, Any]]:
        """The module entry ``name`` is built over (``""`` for the ``modules=`` form) and its wrapper config.

        Example:
            >>> gan = nn.ModuleDict(dict(generator=nn.Linear(2, 2), discriminator=nn.Linear(2, 1)))
            >>> ctor = MultiOptimWrapperConstructor(dict(generator=dict(optimizer=dict(type="SGD", lr=0.1))))
            >>> ctor.part(gan, "generator")
            (Linear(in_features=2, out_features=2, bias=True), {'optimizer': {'type': 'SGD', 'lr': 0.1}})
        """
        return self._part(model, name, self.optim_wrapper_cfg[name])

    def _part(self, model: nn.Module, name: str, cfg: dict[str, Any]) -> tuple[nn.Module, dict[str, Any]]:
        cfg = dict(cfg)
        module = modules_by_names(model, cfg.pop("modules", name))
        ours = isinstance(module, nn.ModuleList) and all(module is not m for m in _unwrapped(model).modules())
        if ours and cfg.get("paramwise_cfg"):
            raise ValueError(
                f"MultiOptimWrapperConstructor entry {name or 'modules'!r} picks several modules, so its parameter "
                "names are not the model's and a paramwise_cfg cannot apply; give each module its own entry."
            )
        return module, cfg
