"""``explain``: which parameter gets which learning rate and weight decay, and why."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from optimtx.config.builder import build_optim_wrapper, constructor_class
from optimtx.config.constructor import (
    DefaultOptimWrapperConstructor,
    first_parameter_name,
    optimizer_class,
    unwrap_model,
)
from optimtx.config.multi_constructor import MultiOptimWrapperConstructor
from optimtx.config.paramwise_rules import FROZEN
from optimtx.config.registries import OPTIMIZERS
from optimtx.transforms.muon import DEFAULT_EXCLUDE, muon_routes, muon_with_adamw, refuse_names_at_positions
from optimtx.wrapper.optim_wrapper import OptimWrapper
from optimtx.wrapper.optim_wrapper_dict import OptimWrapperDict

__all__ = [
    "ExplainRow",
    "Explanation",
    "ExplanationDict",
    "explain",
    "explain_param_groups",
    "optimizer_defaults",
    "param_group_names",
]


@dataclass(frozen=True)
class ExplainRow:
    """One parameter's outcome.

    Attributes:
        name: the parameter's name in ``model.named_parameters()``.
        label: its group label (``'frozen'`` when it is in no group).
        lr: its effective learning rate (``None`` when frozen and left out).
        weight_decay: its effective weight decay (``None`` when frozen and left out).
        rule: the rule that decided (``'default'``, ``"custom_keys['head']"``, ``'norm_decay_mult'``...).
        frozen: ``requires_grad`` is False.
    """

    name: str
    label: str
    lr: float | None
    weight_decay: float | None
    rule: str
    frozen: bool


class Explanation(list):
    """A list of [`ExplainRow`][optimtx.ExplainRow] that prints as an aligned table."""

    def __str__(self) -> str:
        header = ("parameter", "label", "lr", "weight_decay", "rule", "frozen")
        rows = [header] + [
            (r.name, r.label, _fmt(r.lr), _fmt(r.weight_decay), r.rule, "yes" if r.frozen else "") for r in self
        ]
        widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
        return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows)


class ExplanationDict(dict):
    """``{wrapper_name: Explanation}`` for an ``OptimWrapperDict``; prints one titled table per wrapper."""

    def __str__(self) -> str:
        return "\n\n".join(f"[{name}]\n{table}" for name, table in self.items())


def _fmt(value: Any) -> str:
    return "-" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


def optimizer_defaults(optimizer_cfg: Mapping[str, Any]) -> dict[str, Any]:
    """The ``lr`` and ``weight_decay`` an optimizer config ends up with (config value or default).

    Read from an optimizer built on a one-element probe tensor, so defaults of any
    optimizer (``TransformOptimizer`` included) are exact; an optimizer that cannot be
    built raises the error building it raises.

    Example:
        >>> optimizer_defaults(dict(type="AdamW", lr=0.1))
        {'lr': 0.1, 'weight_decay': 0.01}
    """
    cls = optimizer_class(optimizer_cfg)
    probe_cfg = {**optimizer_cfg, first_parameter_name(cls): [torch.zeros(1, requires_grad=True)]}
    built = OPTIMIZERS.build(probe_cfg).defaults  # built, never guessed from the class signature
    return {key: optimizer_cfg.get(key, built.get(key)) for key in ("lr", "weight_decay")}


def explain(model: nn.Module, cfg: Mapping[str, Any] | Any) -> Explanation | ExplanationDict:
    """Tabulate each parameter's label, lr, weight decay and deciding rule.

    Args:
        model: the model (``model.module`` is used when present, like the constructor).
        cfg: an optimizer wrapper config (``optimizer`` + optional ``paramwise_cfg``; a
            ``MultiOptimWrapperConstructor`` config gives one table per submodule), or a
            built ``OptimWrapper`` / ``AmpOptimWrapper`` / ``OptimWrapperDict`` / torch
            optimizer, whose param groups are read back (current lr and weight decay). A
            wrapper built by ``build_optim_wrapper`` also remembers which rule placed each
            parameter; other optimizers show ``param_groups[i]`` as the rule.

    Returns:
        An `Explanation` (a list of [`ExplainRow`][optimtx.ExplainRow]), or for several wrappers an
        `ExplanationDict` of them; ``print`` either for tables.

    Raises:
        TypeError: ``model`` is not an ``nn.Module`` or ``cfg`` is none of the above.

    Example:
        >>> model = nn.Sequential(nn.Linear(2, 2), nn.LayerNorm(2))
        >>> print(explain(model, dict(optimizer=dict(type="SGD", lr=0.1, weight_decay=1e-4),
        ...                           paramwise_cfg=dict(norm_decay_mult=0.0))))
        parameter  label    lr   weight_decay  rule             frozen
        0.weight   default  0.1  0.0001        default
        0.bias     default  0.1  0.0001        default
        1.weight   norm     0.1  0             norm_decay_mult
        1.bias     norm     0.1  0             norm_decay_mult
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"explain() takes the model (an nn.Module) first, got {type(model).__name__}.")
    if isinstance(cfg, OptimWrapperDict):
        return ExplanationDict((name, explain(_child_or_model(model, name), w)) for name, w in cfg.items())
    constructor = constructor_class(cfg) if isinstance(cfg, Mapping) else None
    if isinstance(constructor, type) and issubclass(constructor, MultiOptimWrapperConstructor):
        entries = {k: v for k, v in cfg.items() if k not in ("constructor", "paramwise_cfg")}
        multi = constructor(entries, cfg.get("paramwise_cfg"))  # the registered class, as build_optim_wrapper uses
        parts = {name: multi.part(model, name) for name in multi.optim_wrapper_cfg}
        if multi.single:
            return explain(*parts[""])
        return ExplanationDict((name, explain(*part)) for name, part in parts.items())
    if hasattr(model, "module") and isinstance(model.module, nn.Module):
        model = model.module
    if isinstance(cfg, (OptimWrapper, torch.optim.Optimizer)):
        return _explain_built(model, cfg)
    if not isinstance(cfg, Mapping):
        raise TypeError(
            "explain() takes a wrapper config dict, an OptimWrapper / AmpOptimWrapper / OptimWrapperDict or a "
            f"torch optimizer, got {type(cfg).__name__}."
        )
    return _with_routes(model, cfg.get("optimizer"), _explain_cfg(model, cfg, constructor))


def _explain_cfg(model: nn.Module, cfg: Mapping[str, Any], constructor: Any) -> Explanation | ExplanationDict:
    if "optimizer" not in cfg:
        raise ValueError(f'explain() needs a config with an "optimizer" entry, got keys {sorted(cfg)!r}.')
    # One implementation: build what build_optim_wrapper builds and read its groups back (defaults, mults,
    # label merging and frozen handling are the constructor's, never worked out again here).
    built = build_optim_wrapper(model, cfg)
    if constructor is not DefaultOptimWrapperConstructor:  # a custom constructor: explain what it builds
        return explain(model, built)
    return _explain_config(model, built)


def _explain_config(model: nn.Module, wrapper: Any) -> Explanation:
    """Rows of a wrapper built from a config: its groups' values, the rules' labels and reasons."""
    reasons = getattr(wrapper, "paramwise_reasons", None) or {}
    rows = Explanation()
    for row in _explain_built(model, wrapper):
        if row.name in reasons:
            label, rule = reasons[row.name]
            rows.append(dataclasses.replace(row, label=label, rule=rule))
        else:
            rows.append(row)
    return rows


def _with_routes(model: nn.Module, optimizer_cfg: Any, rows: Any) -> Any:
    """``rows`` with the Muon/AdamW routing of a ``muon_with_adamw`` transform appended to each rule."""
    transform = _routed_transform(optimizer_cfg.get("transform") if isinstance(optimizer_cfg, Mapping) else None)
    if transform is None or not isinstance(rows, Explanation):
        return rows
    given = transform.get("labels") is not None
    if not given:  # inside TransformOptimizer a group's tree is keyed by position: the build refuses names there
        refuse_names_at_positions(tuple(transform.get("exclude", DEFAULT_EXCLUDE)), ["0"])
    routes = muon_routes(model, exclude=(), flatten_nd=bool(transform.get("flatten_nd", False)))
    return Explanation(
        dataclasses.replace(row, rule=f"{row.rule}; {_route_text(routes[row.name], given)}")
        if row.name in routes and not row.frozen
        else row
        for row in rows
    )


def _routed_transform(transform: Any) -> Mapping[str, Any] | None:
    """The ``muon_with_adamw`` config inside a transform config (possibly wrapped, e.g. by ``quantize_state``)."""
    if not isinstance(transform, Mapping):
        return None
    if transform.get("type") in ("muon_with_adamw", muon_with_adamw):
        return transform
    return next((found for v in transform.values() if (found := _routed_transform(v)) is not None), None)


def _route_text(route: Any, labels_given: bool) -> str:
    return "muon or adamw: from the given labels" if labels_given else f"{route.label}: {route.reason}"


def _child_or_model(model: nn.Module, name: str) -> nn.Module:
    inner = model.module if hasattr(model, "module") and isinstance(model.module, nn.Module) else model
    return dict(inner.named_children()).get(name, inner)


def _explain_built(model: nn.Module, wrapper: Any) -> Explanation:
    optimizer = wrapper if isinstance(wrapper, torch.optim.Optimizer) else wrapper.optimizer
    rows = explain_param_groups(model, optimizer)
    reasons = getattr(wrapper, "paramwise_reasons", None) or {}
    rows = _with_routes(model, {"transform": getattr(optimizer, "_recipe", None)}, rows)
    return Explanation(
        dataclasses.replace(row, label=reasons[row.name][0], rule=f"{reasons[row.name][1]} -> {row.rule}")
        if row.name in reasons and row.label not in (FROZEN, "absent")
        else row
        for row in rows
    )


def explain_param_groups(model: nn.Module, optimizer: torch.optim.Optimizer) -> Explanation:
    """Tabulate the lr and weight decay each of ``model``'s parameters has in ``optimizer``.

    Labels are ``'group<i>'``; parameters in no group are labelled ``'frozen'`` (or
    ``'absent'`` when they do require gradients).

    Example:
        >>> model = nn.Linear(1, 1)
        >>> opt = torch.optim.SGD([{"params": [model.weight]}, {"params": [model.bias], "lr": 0.5}], lr=0.1)
        >>> [(r.name, r.label, r.lr) for r in explain_param_groups(model, opt)]
        [('weight', 'group0', 0.1), ('bias', 'group1', 0.5)]
    """
    where = {id(p): (i, g) for i, g in enumerate(optimizer.param_groups) for p in g["params"]}
    rows = Explanation()
    for name, p in model.named_parameters():
        frozen = not p.requires_grad
        if id(p) not in where:
            rows.append(ExplainRow(name, FROZEN if frozen else "absent", None, None, "not in optimizer", frozen))
            continue
        i, group = where[id(p)]
        rows.append(
            ExplainRow(name, f"group{i}", group.get("lr"), group.get("weight_decay"), f"param_groups[{i}]", frozen)
        )
    return rows


def param_group_names(model: nn.Module, wrapper: Any) -> list[str]:
    """A readable name for each real param group of ``wrapper`` over ``model``: the labels ``explain`` prints.

    Only the optimizer's own groups are named (never the base-settings entry that
    ``OptimWrapper.param_groups`` appends). A group holding parameters of several labels is
    named ``'a+b'``; without the rules of a config-built wrapper, groups are ``'group<i>'``.

    Example:
        >>> import optimtx as otx
        >>> model = nn.Sequential(nn.Linear(2, 2), nn.LayerNorm(2))
        >>> cfg = dict(optimizer=dict(type="SGD", lr=0.1, weight_decay=1e-4), paramwise_cfg=dict(norm_decay_mult=0.0))
        >>> param_group_names(model, otx.build_optim_wrapper(model, cfg))
        ['default', 'norm']
        >>> param_group_names(model, torch.optim.SGD(model.parameters(), lr=0.1))
        ['group0']
    """
    optimizer = wrapper if isinstance(wrapper, torch.optim.Optimizer) else wrapper.optimizer
    reasons = getattr(wrapper, "paramwise_reasons", None) or {}
    label_of = {id(p): reasons[name][0] for name, p in unwrap_model(model).named_parameters() if name in reasons}
    names = []
    for i, group in enumerate(optimizer.param_groups):
        labels = list(dict.fromkeys(label_of[id(p)] for p in group["params"] if id(p) in label_of))
        names.append("+".join(labels) if labels else f"group{i}")
    return names
