"""``MultiOptimWrapperConstructor``: one wrapper per named submodule (a GAN's generator and discriminator).

OpenMMLab's generation projects write several optimizers as one config keyed by the
model's submodule names, with ``constructor='MultiOptimWrapperConstructor'``; each entry
is an ordinary wrapper config (its own ``optimizer``, ``type``, ``paramwise_cfg``,
``accumulative_counts``...) and is built over that submodule alone. The result is an
:class:`~optimtx.wrapper.optim_wrapper_dict.OptimWrapperDict`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from torch import nn

from optimtx.config.builder import build_optim_wrapper
from optimtx.config.registries import OPTIM_WRAPPER_CONSTRUCTORS
from optimtx.wrapper.optim_wrapper_dict import OptimWrapperDict


def named_submodule(model: nn.Module, name: str) -> nn.Module:
    """The submodule ``model.<name>`` (``model.module`` is unwrapped first), or ``KeyError`` listing the names.

    Example:
        >>> gan = nn.ModuleDict(dict(generator=nn.Linear(2, 2), discriminator=nn.Linear(2, 1)))
        >>> named_submodule(gan, "generator")
        Linear(in_features=2, out_features=2, bias=True)
    """
    if hasattr(model, "module") and isinstance(model.module, nn.Module):
        model = model.module
    children = dict(model.named_children())
    if name not in children:
        raise KeyError(
            f"the optimizer config names submodule {name!r}, but the model has only {sorted(children)!r}; "
            "each key of a MultiOptimWrapperConstructor config must be a child module's name."
        )
    return children[name]


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
        if paramwise_cfg:
            raise ValueError(
                "MultiOptimWrapperConstructor takes no top-level paramwise_cfg; put it inside each "
                f"wrapper's config (got {paramwise_cfg!r})."
            )
        for name, cfg in optim_wrapper_cfg.items():
            if not isinstance(cfg, Mapping):
                raise TypeError(
                    f"MultiOptimWrapperConstructor entry {name!r} is {cfg!r}; each entry is a wrapper config "
                    "dict such as dict(optimizer=dict(type='Adam', lr=1e-4))."
                )
        self.optim_wrapper_cfg = {name: dict(cfg) for name, cfg in optim_wrapper_cfg.items()}

    def __call__(self, model: nn.Module) -> Any:
        """Build each entry over its submodule and return them as an ``OptimWrapperDict``."""
        submodules = {name: named_submodule(model, name) for name in self.optim_wrapper_cfg}
        return OptimWrapperDict(
            **{name: build_optim_wrapper(submodules[name], cfg) for name, cfg in self.optim_wrapper_cfg.items()}
        )
