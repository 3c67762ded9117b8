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

:func:`paramwise_labels` gives every parameter a label and every label its effective
hyperparameters; parameters with equal hyperparameters share a label.
"""

from __future__ import annotations

import difflib
import importlib.util
import logging
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.modules.instancenorm import _InstanceNorm

from optimtx.warnings import UnmatchedCustomKeyWarning

logger = logging.getLogger("optimtx")

NORM_TYPES = (_BatchNorm, _InstanceNorm, nn.GroupNorm, nn.LayerNorm)
DECAY_MULTS = ("bias_decay_mult", "norm_decay_mult", "dwconv_decay_mult")
FROZEN = "frozen"
DUPLICATE = "duplicate"


def is_norm(module: nn.Module) -> bool:
    """Whether ``module`` counts as a norm layer for ``norm_decay_mult`` (type based, like MMEngine).

    Example:
        >>> is_norm(nn.BatchNorm2d(2)), is_norm(nn.Linear(1, 1))
        (True, False)
    """
    return isinstance(module, NORM_TYPES)


def is_depthwise_conv(module: nn.Module) -> bool:
    """Whether ``module`` is a ``Conv2d`` with ``groups == in_channels``.

    Example:
        >>> is_depthwise_conv(nn.Conv2d(4, 4, 3, groups=4)), is_depthwise_conv(nn.Conv2d(4, 4, 3))
        (True, False)
    """
    return isinstance(module, nn.Conv2d) and module.in_channels == module.groups


def is_dcn(module: nn.Module) -> bool:
    """Whether ``module`` is an mmcv deformable conv (always False without mmcv).

    Example:
        >>> is_dcn(nn.Conv2d(1, 1, 1))
        False
    """
    if importlib.util.find_spec("mmcv") is None:
        return False
    try:
        from mmcv.ops import DeformConv2d, ModulatedDeformConv2d
    except ImportError:
        return False
    return isinstance(module, (DeformConv2d, ModulatedDeformConv2d))


def validate_paramwise_cfg(paramwise_cfg: Any, weight_decay: float | None) -> None:
    """Raise ``TypeError``/``ValueError`` for a malformed ``paramwise_cfg``.

    Unknown keys are allowed: custom constructors read their own keys from it.

    Example:
        >>> validate_paramwise_cfg(dict(norm_decay_mult=0.0), weight_decay=None)
        Traceback (most recent call last):
        ...
        ValueError: paramwise_cfg sets norm_decay_mult but the optimizer has no weight_decay ...
    """
    if not isinstance(paramwise_cfg, Mapping):
        raise TypeError(f"paramwise_cfg should be None or a dict, but got {type(paramwise_cfg)}")
    custom_keys = paramwise_cfg.get("custom_keys", {})
    if not isinstance(custom_keys, Mapping):
        raise TypeError(
            f"If specified, custom_keys must be a dict, but got {type(custom_keys)}: "
            "map a name substring to options, e.g. {'backbone': dict(lr_mult=0.1)}."
        )
    if weight_decay is not None:
        return
    for key, options in custom_keys.items():
        if isinstance(options, Mapping) and "decay_mult" in options:
            raise ValueError(
                f"custom_keys[{key!r}] sets decay_mult but the optimizer has no weight_decay "
                "(base_wd should not be None); set optimizer.weight_decay."
            )
    for mult in DECAY_MULTS:
        if mult in paramwise_cfg:
            raise ValueError(
                f"paramwise_cfg sets {mult} but the optimizer has no weight_decay "
                "(base_wd should not be None); set optimizer.weight_decay."
            )


@dataclass(frozen=True)
class ParamwiseRules:
    """A validated ``paramwise_cfg`` with the base ``lr``/``weight_decay`` it scales.

    Example:
        >>> rules = ParamwiseRules.from_cfg(dict(bias_lr_mult=2.0), lr=0.1, weight_decay=None)
        >>> rules.options("bias", nn.Parameter(torch.ones(1)), nn.Linear(1, 1), "fc")
        ({'lr': 0.2}, 'bias_lr_mult')
    """

    custom_keys: Mapping[str, Mapping[str, Any]]
    sorted_keys: tuple[str, ...]
    lr: float | None
    weight_decay: float | None
    mults: Mapping[str, Any] = field(default_factory=dict)
    bypass_duplicate: bool = False

    @classmethod
    def from_cfg(
        cls, paramwise_cfg: Mapping[str, Any] | None, lr: float | None, weight_decay: float | None
    ) -> ParamwiseRules:
        """Validate ``paramwise_cfg`` and freeze it into rules."""
        cfg = {} if paramwise_cfg is None else paramwise_cfg
        validate_paramwise_cfg(cfg, weight_decay)
        custom_keys = dict(cfg.get("custom_keys", {}))
        mult_names = ("bias_lr_mult", "dcn_offset_lr_mult", "flat_decay_mult", *DECAY_MULTS)
        return cls(
            custom_keys=custom_keys,
            # Alphabetical first, then a stable sort by length: longest wins, ties alphabetical.
            sorted_keys=tuple(sorted(sorted(custom_keys), key=len, reverse=True)),
            lr=lr,
            weight_decay=weight_decay,
            mults={name: cfg.get(name) for name in mult_names},
            bypass_duplicate=bool(cfg.get("bypass_duplicate", False)),
        )

    def _scaled_lr(self, mult: Any, why: str) -> float:
        if self.lr is None:
            raise ValueError(f"{why} scales the learning rate, but the optimizer config has no lr; set optimizer.lr.")
        return self.lr * mult

    def custom_options(self, match_name: str) -> tuple[dict[str, Any], str] | None:
        """The options of the first custom key contained in ``match_name``, or ``None``."""
        for key in self.sorted_keys:
            if key in match_name:
                custom = self.custom_keys[key]
                options = {"lr": self._scaled_lr(custom.get("lr_mult", 1.0), f"custom_keys[{key!r}]")}
                if self.weight_decay is not None:
                    options["weight_decay"] = self.weight_decay * custom.get("decay_mult", 1.0)
                options.update(custom)
                return options, f"custom_keys[{key!r}]"
        return None

    def options(
        self, name: str, param: torch.Tensor, module: nn.Module, prefix: str, is_dcn_module: Any = None
    ) -> tuple[dict[str, Any], str]:
        """Group keys for parameter ``name`` of ``module`` (at ``prefix``), and the rule that set them.

        The rule is ``'default'`` when nothing applied (the group keeps the optimizer's defaults).
        """
        custom = self.custom_options(f"{prefix}.{name}")
        if custom is not None:
            return custom
        options: dict[str, Any] = {}
        rules = [*self._lr_rules(name, module, prefix, is_dcn_module, options)]
        if self.weight_decay is not None:
            rules += self._decay_rule(name, param, module, is_dcn_module, options)
        return options, "+".join(rules) or "default"

    def _lr_rules(self, name: str, module: nn.Module, prefix: str, is_dcn_module: Any, options: dict) -> list[str]:
        rules = []
        bias_lr_mult, dcn_mult = self.mults["bias_lr_mult"], self.mults["dcn_offset_lr_mult"]
        if name == "bias" and not (is_norm(module) or is_dcn_module) and bias_lr_mult is not None:
            options["lr"] = self._scaled_lr(bias_lr_mult, "bias_lr_mult")
            rules.append("bias_lr_mult")
        if "conv_offset" in prefix and is_dcn_module and dcn_mult is not None and isinstance(module, nn.Conv2d):
            options["lr"] = self._scaled_lr(dcn_mult, "dcn_offset_lr_mult")
            rules.append("dcn_offset_lr_mult")
        return rules

    def _decay_rule(
        self, name: str, param: torch.Tensor, module: nn.Module, is_dcn_module: Any, options: dict
    ) -> list[str]:
        mults = self.mults
        if is_norm(module) and mults["norm_decay_mult"] is not None:
            rule = "norm_decay_mult"
        elif name == "bias" and not is_dcn_module and mults["bias_decay_mult"] is not None:
            rule = "bias_decay_mult"
        elif is_depthwise_conv(module) and mults["dwconv_decay_mult"] is not None:
            rule = "dwconv_decay_mult"
        elif param.ndim == 1 and not is_dcn_module and mults["flat_decay_mult"] is not None:
            rule = "flat_decay_mult"
        else:
            return []
        options["weight_decay"] = self.weight_decay * mults[rule]
        return [rule]

    def skip_reason(self, param: torch.Tensor, kept: set[int]) -> str | None:
        """``'duplicate'`` (with ``bypass_duplicate``), ``'frozen'``, or ``None`` to keep ``param``."""
        if self.bypass_duplicate and id(param) in kept:
            return DUPLICATE
        if not param.requires_grad:
            return FROZEN
        return None

    def effective(self, options: Mapping[str, Any]) -> dict[str, Any]:
        """``options`` with the base lr/weight_decay filled in where the group does not set them."""
        base = {"lr": self.lr, "weight_decay": self.weight_decay}
        return {**{k: v for k, v in base.items() if v is not None}, **options}


def walk_modules(model: nn.Module, prefix: str = "", is_dcn_module: Any = None) -> Iterator[tuple[nn.Module, str, Any]]:
    """Yield ``(module, prefix, is_dcn_module)`` in MMEngine's ``add_params`` order.

    Children are taken per parent (``named_children``), so a module shared by two
    parents is visited twice, as in MMEngine.

    Example:
        >>> [p for _, p, _ in walk_modules(nn.Sequential(nn.Linear(1, 1), nn.ReLU()))]
        ['', '0', '1']
    """
    yield model, prefix, is_dcn_module
    child_dcn = is_dcn(model)
    for child_name, child in model.named_children():
        child_prefix = f"{prefix}.{child_name}" if prefix else child_name
        yield from walk_modules(child, child_prefix, child_dcn)


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
    model: nn.Module, paramwise_cfg: Mapping[str, Any] | None, lr: float | None = None, weight_decay: float | None = None
) -> list[ParamDecision]:
    """Apply the rules to every parameter of ``model`` in ``add_params`` order.

    A trainable parameter met twice without ``bypass_duplicate`` raises ``ValueError``
    (torch would reject the duplicate in its param groups). Warns
    (:class:`~optimtx.warnings.UnmatchedCustomKeyWarning`) for custom keys that match nothing.

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
    warn_unmatched_custom_keys(rules.custom_keys, [f".{d.name}" if "." not in d.name else d.name for d in decisions])
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
        hint = f" Closest parameter names: {', '.join(close)}." if close else ""
        warnings.warn(
            f"custom_keys entry {key!r} matches no parameter name (keys match as substrings "
            f"of 'module.param').{hint}",
            UnmatchedCustomKeyWarning,
            stacklevel=3,
        )


def log_skipped(decisions: list[ParamDecision]) -> None:
    """One WARNING line per skip reason, listing the first few parameter names."""
    for reason, why in ((FROZEN, "requires_grad=False"), (DUPLICATE, "bypass_duplicate=True")):
        names = [d.name for d in decisions if d.rule == reason]
        if names:
            shown = ", ".join(names[:5]) + (", ..." if len(names) > 5 else "")
            logger.warning("%d parameters left out of the optimizer since %s: %s", len(names), why, shown)


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
    """Group trainable decisions by effective hyperparameters; name each group after its first rule."""
    labels: dict[str, str] = {}
    hparams: dict[str, dict[str, Any]] = {}
    for d in decisions:
        if d.skipped:
            if d.rule == FROZEN:
                labels[d.name] = FROZEN
            continue
        effective = rules.effective(d.options)
        label = next((lb for lb, hp in hparams.items() if hp == effective), None)
        if label is None:
            label = _unique(label_of(d.rule), hparams)
            hparams[label] = effective
        labels[d.name] = label
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
