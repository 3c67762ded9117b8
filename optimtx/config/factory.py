"""``create_optimizer``: timm's optimizer factory (its names, arguments and parameter groups) over optimtx's rules.

``otx.create_optimizer(model, "adamw", lr=1e-3, weight_decay=0.05, layer_decay=0.75)`` takes the
arguments of ``timm.optim.create_optimizer_v2`` and returns a
[`TransformOptimizer`][optimtx.TransformOptimizer] running optimtx's pure rule, with timm's parameter
groups (see `optimtx.config.timm_groups`) and every hyperparameter injected, so any torch or
optimtx scheduler drives it.
"""

from __future__ import annotations

import difflib
import inspect
import logging
from collections.abc import Callable, Collection, Iterable
from typing import Any

from torch import nn

from optimtx.config.registries import TRANSFORMS
from optimtx.config.timm_groups import layer_ids, param_groups_layer_decay, param_groups_weight_decay
from optimtx.core.warnings import OptimtxWarning, warn_user
from optimtx.wrapper.torch_optimizer import TransformOptimizer

__all__ = ["TIMM_OPTIMIZERS", "create_optimizer"]

_log = logging.getLogger("optimtx")

TIMM_OPTIMIZERS: dict[str, tuple[str, dict[str, Any]]] = {
    "sgd": ("sgd", {"nesterov": True}),
    "nesterov": ("sgd", {"nesterov": True}),
    "momentum": ("sgd", {"nesterov": False}),
    "adam": ("adam", {}),
    "adamw": ("adamw", {}),
    "nadam": ("nadam", {}),
    "radam": ("radam", {}),
    "adamax": ("adamax", {}),
    "adagrad": ("adagrad", {"eps": 1e-8}),
    "adadelta": ("adadelta", {}),
    "rmsprop": ("rmsprop", {"alpha": 0.9}),
    "lion": ("lion", {}),
}
"""timm optimizer name -> (optimtx rule, timm's defaults for it). Each of these timm names runs the
``torch.optim`` class (or, for ``lion``, the paper's rule) that the optimtx rule equals."""

_LOOKAHEAD = {"sync_period": 6, "slow_step_size": 0.5}  # timm's Lookahead(k=6, alpha=0.5)


def create_optimizer(
    model_or_params: nn.Module | Iterable[Any],
    opt: str = "sgd",
    lr: float | None = None,
    weight_decay: float = 0.0,
    momentum: float = 0.9,
    foreach: bool | None = None,
    filter_bias_and_bn: bool = True,
    fallback_list: Collection[str] = (),
    fallback_no_weight_decay: bool = False,
    layer_decay: float | None = None,
    layer_decay_min_scale: float = 0.0,
    layer_decay_no_opt_scale: float | None = None,
    param_group_fn: Callable[[nn.Module], Iterable[Any]] | None = None,
    **kwargs: Any,
) -> TransformOptimizer:
    """timm's ``create_optimizer_v2``, returning a [`TransformOptimizer`][optimtx.TransformOptimizer].

    Given a model, parameters are grouped as timm groups them: without weight decay for 0-d/1-d
    tensors, biases and the model's ``no_weight_decay()`` names (when ``filter_bias_and_bn``), and
    with ``layer_decay`` into per-layer groups whose learning rate is ``lr * lr_scale``. Given
    parameters or param groups, they are used as they are.

    Args:
        model_or_params: a model, or parameters / param-group dicts.
        opt: a name of `TIMM_OPTIMIZERS`, optionally
            prefixed ``lookahead_`` (wraps the rule in [`lookahead`][optimtx.lookahead], k=6, alpha=0.5).
        lr: the learning rate (the rule's default when None).
        weight_decay: the weight decay (of the decayed groups, for a model).
        momentum: the momentum of rules that take one (timm's default 0.9).
        foreach: None or True (optimtx always runs multi-tensor kernels).
        filter_bias_and_bn: no weight decay for 0-d/1-d tensors and biases.
        fallback_list: only ``()`` (timm's hybrid optimizers; use
            [`muon_with_adamw`][optimtx.muon_with_adamw] for Muon with an AdamW fallback).
        fallback_no_weight_decay: only False (as ``fallback_list``).
        layer_decay: the per-layer learning-rate factor (BEiT-style layer-wise decay).
        layer_decay_min_scale: the smallest layer scale.
        layer_decay_no_opt_scale: parameters whose layer scale is below this are not optimized
            (left out of the optimizer; their ``requires_grad`` is not touched).
        param_group_fn: a function model -> param groups, used instead of the grouping above.
        **kwargs: further arguments of the rule (``betas``, ``eps``, ``nesterov``, ...).

    Returns:
        A `TransformOptimizer` whose groups carry ``name`` and ``param_names`` (and ``lr_scale``
        with ``layer_decay``).

    Example:
        >>> import torch, optimtx as otx
        >>> model = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.LayerNorm(4), torch.nn.Linear(4, 2))
        >>> opt = otx.create_optimizer(model, "adamw", lr=1e-3, weight_decay=0.05)
        >>> [(g["name"], len(g["params"]), g["weight_decay"]) for g in opt.param_groups]
        [('no_decay', 4, 0.0), ('decay', 2, 0.05)]
    """
    rule, defaults, lookahead = _resolve(opt)
    _check_unsupported(foreach, fallback_list, fallback_no_weight_decay)
    parameters = inspect.signature(TRANSFORMS.module_dict[rule]).parameters
    lr = parameters["lr"].default if lr is None else lr
    params: Iterable[Any]
    if isinstance(model_or_params, nn.Module):
        params, weight_decay = _model_groups(
            model_or_params,
            lr,
            weight_decay,
            filter_bias_and_bn,
            layer_decay,
            layer_decay_min_scale,
            layer_decay_no_opt_scale,
            param_group_fn,
        )
    else:
        params = model_or_params
    cfg = _rule_cfg(rule, parameters, {**defaults, "lr": lr, "weight_decay": weight_decay, **kwargs}, momentum)
    optimizer = TransformOptimizer(params, dict(type="lookahead", inner=cfg, **_LOOKAHEAD) if lookahead else cfg)
    _log.info("create_optimizer(%r): %s", opt, _summary(optimizer))
    return optimizer


def _resolve(opt: Any) -> tuple[str, dict[str, Any], bool]:
    if not isinstance(opt, str):
        raise TypeError(f"opt must be an optimizer name, got {opt!r}; accepted: {sorted(TIMM_OPTIMIZERS)}.")
    parts = opt.lower().split("_")
    lookahead = len(parts) > 1 and parts[0] == "lookahead"
    name = parts[-1]
    if len(parts) > (2 if lookahead else 1) or name not in TIMM_OPTIMIZERS:
        close = difflib.get_close_matches(opt.lower(), TIMM_OPTIMIZERS, n=3)
        hint = f" Did you mean {close}?" if close else ""
        raise ValueError(
            f"opt={opt!r} is not an optimizer create_optimizer knows.{hint} Accepted: {sorted(TIMM_OPTIMIZERS)}, "
            "each optionally prefixed 'lookahead_'. Other rules: otx.TransformOptimizer(params, dict(type=...))."
        )
    rule, defaults = TIMM_OPTIMIZERS[name]
    return rule, dict(defaults), lookahead


def _check_unsupported(foreach: Any, fallback_list: Collection[str], fallback_no_weight_decay: Any) -> None:
    if foreach not in (None, True):
        raise ValueError(f"foreach={foreach!r}: optimtx always runs multi-tensor (foreach) kernels; pass None or True.")
    if fallback_list or fallback_no_weight_decay:
        raise ValueError(
            f"fallback_list={fallback_list!r} / fallback_no_weight_decay={fallback_no_weight_decay!r} configure timm's "
            "hybrid optimizers; build Muon with its AdamW fallback as otx.muon_with_adamw(...) instead."
        )


def _model_groups(
    model: nn.Module,
    lr: float,
    weight_decay: float,
    filter_bias_and_bn: bool,
    layer_decay: float | None,
    min_scale: float,
    no_opt_scale: float | None,
    param_group_fn: Callable[[nn.Module], Iterable[Any]] | None,
) -> tuple[list[Any], float]:
    """timm's grouping of a model's parameters, and the weight decay left for the rule itself."""
    if param_group_fn is not None:
        return list(param_group_fn(model)), weight_decay
    no_weight_decay = set(getattr(model, "no_weight_decay", set)())
    if layer_decay is None:
        return param_groups_weight_decay(model, weight_decay, no_weight_decay, filter_bias_and_bn), 0.0
    groups = param_groups_layer_decay(
        model, weight_decay, no_weight_decay, filter_bias_and_bn, layer_decay, min_scale, no_opt_scale, lr=lr
    )
    if len(set(layer_ids(model).values())) <= 1:
        warn_user(
            f"layer_decay={layer_decay} has no effect on {type(model).__name__}: all its parameters are in one "
            "layer. Give the model a group_matcher() or a pretrained_cfg['classifier'] naming its head.",
            OptimtxWarning,
        )
    return groups, 0.0


def _rule_cfg(rule: str, parameters: Any, values: dict[str, Any], momentum: float) -> dict[str, Any]:
    if "momentum" in parameters:
        values.setdefault("momentum", momentum)
    unknown = sorted(k for k in values if k not in parameters)
    if unknown:
        accepted = sorted(k for k in parameters if k != "lr")
        raise TypeError(f"create_optimizer: {rule} takes no argument(s) {unknown}; its arguments are {accepted}.")
    return {"type": rule, **values}


def _summary(optimizer: TransformOptimizer) -> str:
    parts = [f"{g.get('name', i)} ({len(g['params'])} params)" for i, g in enumerate(optimizer.param_groups)]
    return f"{len(parts)} param groups: " + ", ".join(parts)
