"""MMEngine's ``paramwise_cfg`` rules, resolved once into a label per parameter.

The rules (same results as MMEngine's ``DefaultOptimWrapperConstructor``):

* ``custom_keys``: keys are tried longest first (alphabetical among equal lengths);
  a key matches when it is a *substring* of ``f"{module_prefix}.{param_name}"``,
  which for a top-level parameter starts with a dot (``".w"``). The first match sets
  ``lr = base_lr * lr_mult`` and ``weight_decay = base_wd * decay_mult``, copies all
  of its entries into the group (a literal ``lr``/``weight_decay`` entry wins), and
  turns every other rule off for that parameter.
* otherwise ``bias_lr_mult`` (biases outside norms and DCNs), ``dcn_offset_lr_mult``
  (``conv_offset`` convs inside a DCN), then the first weight decay rule that applies
  of ``norm_decay_mult``, ``bias_decay_mult``, ``dwconv_decay_mult``, ``flat_decay_mult``.
* frozen parameters are left out; ``bypass_duplicate`` skips parameters met twice.

[`paramwise_labels`][optimtx.paramwise_labels] gives every parameter a label and every label its effective
hyperparameters; parameters with equal hyperparameters share a label.
"""

from __future__ import annotations

import difflib
import inspect
import logging
import warnings
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from optimtx.config.paramwise_rules import DUPLICATE, FROZEN, ParamwiseRules, walk_modules
from optimtx.core.base import EmptyState, GradientTransformation
from optimtx.core.tree import zeros_like
from optimtx.core.warnings import FrozenParameterWarning, UnmatchedCustomKeyWarning, warn_user
from optimtx.transforms.masking import multi_transform

__all__ = [
    "ParamDecision",
    "assign_labels",
    "decide_labels",
    "label_of",
    "log_skipped",
    "paramwise",
    "paramwise_labels",
    "paramwise_reasons",
    "resolve",
    "warn_unmatched_custom_keys",
    "zero_updates",
]

logger = logging.getLogger("optimtx")


@dataclass
class ParamDecision:
    """What the rules decided for one parameter.

    Attributes:
        name: the parameter's name (``prefix.name``).
        param: the parameter.
        options: the group keys set by the rules (MMEngine's per-parameter dict without ``params``).
        rule: which rule decided (``'default'``, ``'custom_keys[...]'``, ``'bias_lr_mult+bias_decay_mult'``...),
            or ``'frozen'``/``'duplicate'`` for a skipped parameter.
        skipped: True for frozen and duplicate parameters, which get no group.
    """

    name: str
    param: torch.Tensor
    options: dict[str, Any]
    rule: str
    skipped: bool = False


def resolve(
    model: nn.Module,
    paramwise_cfg: Mapping[str, Any] | None,
    lr: float | None = None,
    weight_decay: float | None = None,
    quiet: bool = False,
) -> list[ParamDecision]:
    """Apply the rules to every parameter of ``model`` in ``add_params`` order.

    ``quiet=True`` skips the warnings and log lines (for re-reading decisions already reported).

    A trainable parameter met twice without ``bypass_duplicate`` raises ``ValueError``
    (torch would reject the duplicate in its param groups). Warns
    ([`UnmatchedCustomKeyWarning`][optimtx.UnmatchedCustomKeyWarning]) for custom keys that match nothing.

    Example:
        >>> model = nn.Sequential(nn.Linear(2, 2), nn.LayerNorm(2))
        >>> [(d.name, d.rule) for d in resolve(model, dict(norm_decay_mult=0.0), 0.1, 1e-4)][1:3]
        [('0.bias', 'default'), ('1.weight', 'norm_decay_mult')]
    """
    rules = ParamwiseRules.from_cfg(paramwise_cfg, lr, weight_decay)
    decisions: list[ParamDecision] = []
    kept: set[int] = set()
    for module, prefix, is_dcn_module in walk_modules(model):
        for name, param in module.named_parameters(recurse=False):
            full_name = f"{prefix}.{name}" if prefix else name
            reason = rules.skip_reason(param, kept)
            if reason is not None:
                decisions.append(ParamDecision(full_name, param, {}, reason, skipped=True))
                continue
            if id(param) in kept:
                raise ValueError(
                    f"some parameters appear in more than one parameter group: {full_name!r} is shared "
                    "with another module; set paramwise_cfg.bypass_duplicate=True to keep only its first use."
                )
            kept.add(id(param))
            options, rule = rules.options(name, param, module, prefix, is_dcn_module)
            decisions.append(ParamDecision(full_name, param, options, rule))
    if not quiet:
        warn_unmatched_custom_keys(
            rules.custom_keys, [f".{d.name}" if "." not in d.name else d.name for d in decisions]
        )
        log_skipped(decisions)
    return decisions


def warn_unmatched_custom_keys(custom_keys: Mapping[str, Any], match_names: list[str]) -> None:
    """Warn for every custom key that is a substring of none of ``match_names``.

    Example:
        >>> import warnings
        >>> with warnings.catch_warnings(record=True) as caught:
        ...     warnings.simplefilter("always")
        ...     warn_unmatched_custom_keys({"hed": {}}, ["head.weight"])
        >>> "head.weight" in str(caught[0].message)
        True
    """
    for key in custom_keys:
        if any(key in name for name in match_names):
            continue
        close = difflib.get_close_matches(key, match_names, n=3, cutoff=0.3)
        hint = f" Closest parameter names: {', '.join(n.lstrip('.') for n in close)}." if close else ""
        warnings.warn(
            f"custom_keys entry {key!r} matches no parameter name (keys match as substrings of 'module.param').{hint}",
            UnmatchedCustomKeyWarning,
            stacklevel=3,
        )


def log_skipped(decisions: list[ParamDecision]) -> None:
    """One WARNING log line per skip reason, listing the first few parameter names.

    Frozen parameters left out are also reported once with ``warnings.warn``
    ([`FrozenParameterWarning`][optimtx.FrozenParameterWarning]): a parameter that is unfrozen
    later will not be trained unless it is added to the optimizer.
    """
    for reason, why in ((FROZEN, "requires_grad=False"), (DUPLICATE, "bypass_duplicate=True")):
        names = [d.name for d in decisions if d.rule == reason]
        if names:
            shown = ", ".join(names[:5]) + (", ..." if len(names) > 5 else "")
            logger.warning("%d parameters left out of the optimizer since %s: %s", len(names), why, shown)
            if reason == FROZEN:
                warn_user(
                    f"{len(names)} frozen parameters (requires_grad=False) are not in the optimizer: {shown}. "
                    "Unfreezing them later does not train them; add them with optimizer.add_param_group "
                    "or build the optimizer after unfreezing.",
                    FrozenParameterWarning,
                )


def label_of(rule: str) -> str:
    """A short label for a rule string: ``'custom:<key>'``, ``'bias'``, ``'norm'``, ``'default'``...

    Example:
        >>> label_of("custom_keys['head']"), label_of("bias_lr_mult+bias_decay_mult")
        ('custom:head', 'bias')
    """
    if rule.startswith("custom_keys["):
        return "custom:" + rule[len("custom_keys[") + 1 : -2]
    parts: list[str] = []
    for part in rule.split("+"):
        short = part.removesuffix("_lr_mult").removesuffix("_decay_mult")
        if short not in parts:
            parts.append(short)
    return "+".join(parts)


def assign_labels(decisions: list[ParamDecision], rules: ParamwiseRules) -> tuple[dict[str, str], dict[str, dict]]:
    """Group trainable decisions by effective hyperparameters; name each group after the rules in it.

    Example:
        >>> model = nn.Sequential(nn.Linear(2, 2), nn.LayerNorm(2))
        >>> cfg = dict(norm_decay_mult=0.0, bias_decay_mult=0.0)
        >>> assign_labels(resolve(model, cfg, 0.1, 0.5), ParamwiseRules.from_cfg(cfg, 0.1, 0.5))[0]
        {'0.weight': 'default', '0.bias': 'bias+norm', '1.weight': 'bias+norm', '1.bias': 'bias+norm'}
    """
    groups: list[tuple[dict[str, Any], list[str], list[str]]] = []  # (effective, short rule names, param names)
    labels: dict[str, str] = {}
    for d in decisions:
        if d.skipped:
            if d.rule == FROZEN:
                labels[d.name] = FROZEN
            continue
        effective = rules.effective(d.options)
        group = next((g for g in groups if g[0] == effective), None)
        if group is None:
            group = (effective, [], [])
            groups.append(group)
        group[1].extend(part for part in label_of(d.rule).split("+") if part not in group[1])
        group[2].append(d.name)
        labels[d.name] = ""
    hparams: dict[str, dict[str, Any]] = {}
    for effective, parts, names in groups:
        label = _unique("+".join(parts), hparams)
        hparams[label] = effective
        labels.update(dict.fromkeys(names, label))
    return labels, hparams


def _unique(label: str, taken: Mapping[str, Any]) -> str:
    candidate, i = label, 2
    while candidate in taken or candidate == FROZEN:
        candidate, i = f"{label}#{i}", i + 1
    return candidate


def paramwise_labels(
    model: nn.Module,
    paramwise_cfg: Mapping[str, Any] | None,
    lr: float | None = None,
    weight_decay: float | None = None,
) -> tuple[dict[str, str], dict[str, dict[str, Any]]]:
    """Resolve ``paramwise_cfg`` into a label per parameter and the hyperparameters of each label.

    Args:
        model: the model (not unwrapped: pass ``ddp.module`` yourself).
        paramwise_cfg: MMEngine-style rules (``custom_keys``, ``*_mult``, ``bypass_duplicate``).
        lr: the base learning rate the multipliers scale.
        weight_decay: the base weight decay; ``None`` disables every decay rule.

    Returns:
        ``(labels, hparams)``: ``labels`` maps every parameter name to its label (frozen
        parameters to ``'frozen'``, which has no entry in ``hparams``); ``hparams`` maps a
        label to its effective group keys (``lr``, ``weight_decay`` and custom entries).
        Parameters with equal hyperparameters share one label.

    Example:
        >>> model = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
        >>> labels, hparams = paramwise_labels(model, dict(norm_decay_mult=0.0), lr=0.1, weight_decay=1e-4)
        >>> labels
        {'0.weight': 'default', '0.bias': 'default', '1.weight': 'norm', '1.bias': 'norm'}
        >>> hparams
        {'default': {'lr': 0.1, 'weight_decay': 0.0001}, 'norm': {'lr': 0.1, 'weight_decay': 0.0}}
    """
    rules = ParamwiseRules.from_cfg(paramwise_cfg, lr, weight_decay)
    return assign_labels(resolve(model, paramwise_cfg, lr, weight_decay), rules)


def _lr_name(parameters: Mapping[str, inspect.Parameter]) -> str | None:
    return next((name for name in ("lr", "learning_rate") if name in parameters), None)


def _factory_kwargs(
    label: str, options: Mapping[str, Any], lr_name: str | None, parameters: Mapping[str, inspect.Parameter]
) -> dict[str, Any]:
    kwargs = {}
    for key, value in options.items():
        if key in ("lr_mult", "decay_mult"):
            continue  # already folded into lr / weight_decay
        name = lr_name if key == "lr" else key
        if name not in parameters:
            raise TypeError(
                f"label {label!r} sets {key}={value!r}, which the transform factory does not accept; "
                f"it accepts {', '.join(parameters)}."
            )
        kwargs[str(name)] = value
    return kwargs


def decide_labels(
    model: nn.Module, paramwise_cfg: Mapping[str, Any], base_lr: Any, base_wd: Any, quiet: bool = False
) -> tuple[Any, Any, Any]:
    """Resolve ``paramwise_cfg`` over ``model``: the decisions, the label of each parameter and each label's values.

    Example:
        >>> decisions, labels, hparams = decide_labels(nn.Linear(1, 1), dict(bias_decay_mult=0.0), 0.1, 1e-4)
        >>> labels["bias"], hparams["bias"]["weight_decay"]
        ('bias', 0.0)
    """
    decisions = resolve(model, paramwise_cfg, base_lr, base_wd, quiet=quiet)
    labels, hparams = assign_labels(decisions, ParamwiseRules.from_cfg(paramwise_cfg, base_lr, base_wd))
    return decisions, labels, hparams


def paramwise_reasons(
    model: nn.Module, paramwise_cfg: Mapping[str, Any] | None, base_lr: Any, base_wd: Any
) -> dict[str, tuple[str, str]]:
    """``{parameter name: (label, rule)}`` that ``paramwise_cfg`` decides for ``model`` (kept by built wrappers).

    Example:
        >>> paramwise_reasons(nn.Linear(1, 1), dict(bias_decay_mult=0.0), 0.1, 1e-4)["bias"]
        ('bias', 'bias_decay_mult')
    """
    if not paramwise_cfg:
        return {name: ("default", "default") for name, _ in model.named_parameters()}
    decisions, labels, _ = decide_labels(model, paramwise_cfg, base_lr, base_wd, quiet=True)
    return {d.name: (labels[d.name], d.rule) for d in decisions if d.name in labels}


def zero_updates() -> Any:
    """A transform whose updates are all zeros (used for frozen parameters).

    Example:
        >>> tx = zero_updates()
        >>> tx.update({"w": torch.ones(2)}, tx.init({}))[0]
        {'w': tensor([0., 0.])}
    """

    def update(updates: Any, state: Any, params: Any = None, **extra: Any) -> Any:
        del params, extra
        return zeros_like(updates), state

    return GradientTransformation(lambda params: EmptyState(), update)


def paramwise(
    factory: Callable[..., Any], model: nn.Module, paramwise_cfg: Mapping[str, Any] | None, **hparams: Any
) -> Any:
    """``multi_transform`` with one ``factory(**hparams)`` per label of [`paramwise_labels`][optimtx.paramwise_labels].

    The functional twin of ``DefaultOptimWrapperConstructor``: the base learning rate is
    ``hparams['lr']`` (or ``learning_rate``, or the factory's default) and the base weight
    decay is ``hparams.get('weight_decay')``; each label's ``lr``/``weight_decay`` and
    custom entries override them. Frozen parameters get zero updates.

    Example:
        >>> import optimtx as otx
        >>> model = nn.Sequential(nn.Linear(2, 2), nn.LayerNorm(2))
        >>> tx = paramwise(otx.sgd, model, dict(norm_decay_mult=0.0), lr=0.1, weight_decay=0.01)
        >>> params = {k: v.detach() for k, v in model.named_parameters()}
        >>> updates, _ = tx.update({k: torch.zeros_like(v) for k, v in params.items()}, tx.init(params), params)
        >>> float(updates["1.weight"].abs().sum()), float(updates["0.weight"].abs().sum()) > 0
        (0.0, True)
    """
    parameters = inspect.signature(factory).parameters
    lr_name = _lr_name(parameters)
    base_lr = hparams.get(lr_name) if lr_name in hparams else _default(parameters, lr_name)
    labels, label_hparams = paramwise_labels(model, paramwise_cfg, lr=base_lr, weight_decay=hparams.get("weight_decay"))
    transforms: dict[Hashable, GradientTransformation] = {
        label: factory(**{**hparams, **_factory_kwargs(label, options, lr_name, parameters)})
        for label, options in label_hparams.items()
    }
    if FROZEN in labels.values():
        transforms[FROZEN] = zero_updates()
    return multi_transform(transforms, labels)


def _default(parameters: Mapping[str, inspect.Parameter], name: str | None) -> Any:
    if name is None or parameters[name].default is inspect.Parameter.empty:
        return None
    return parameters[name].default
