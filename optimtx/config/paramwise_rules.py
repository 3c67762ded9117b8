"""The ``paramwise_cfg`` rules themselves: validation, layer detection, per-parameter options.

See `optimtx.config.paramwise` for the rules in words and the label-level API.
"""

from __future__ import annotations

import functools
import importlib.util
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.modules.instancenorm import _InstanceNorm

from optimtx.core.validation import check_bool, check_finite, check_non_negative, is_number

__all__ = [
    "DECAY_MULTS",
    "DUPLICATE",
    "FLAG_KEYS",
    "FROZEN",
    "MULT_KEYS",
    "NORM_TYPES",
    "ParamwiseRules",
    "check_multiplier",
    "dcn_types",
    "is_dcn",
    "is_depthwise_conv",
    "is_norm",
    "validate_paramwise_cfg",
    "walk_modules",
]

NORM_TYPES = (_BatchNorm, _InstanceNorm, nn.GroupNorm, nn.LayerNorm)
DECAY_MULTS = ("bias_decay_mult", "norm_decay_mult", "dwconv_decay_mult")
MULT_KEYS = ("bias_lr_mult", "dcn_offset_lr_mult", "flat_decay_mult", *DECAY_MULTS)
FLAG_KEYS = ("bypass_duplicate", "group_per_param")  # the boolean paramwise_cfg keys
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


@functools.cache
def dcn_types() -> tuple[type, ...]:
    """mmcv's deformable conv classes, or ``()`` without mmcv (looked up once)."""
    if importlib.util.find_spec("mmcv") is None:
        return ()
    try:
        from mmcv.ops import DeformConv2d, ModulatedDeformConv2d
    except ImportError:
        return ()
    return (DeformConv2d, ModulatedDeformConv2d)


def is_dcn(module: nn.Module) -> bool:
    """Whether ``module`` is an mmcv deformable conv (always False without mmcv).

    Example:
        >>> is_dcn(nn.Conv2d(1, 1, 1))
        False
    """
    types = dcn_types()
    return bool(types) and isinstance(module, types)


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
    for mult in MULT_KEYS:
        if paramwise_cfg.get(mult) is not None:
            check_multiplier(f"paramwise_cfg.{mult}", paramwise_cfg[mult])
    for flag in FLAG_KEYS:
        if flag in paramwise_cfg:
            check_bool(f"paramwise_cfg.{flag}", paramwise_cfg[flag])
    for key, options in custom_keys.items():
        _check_custom_key(key, options)
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


def check_multiplier(name: str, value: Any) -> None:
    """Raise ``TypeError``/``ValueError`` unless ``value`` is a finite number >= 0 (a multiplier of lr or decay).

    A negative lr multiplier would turn descent into ascent; NaN or inf would poison every step.

    Example:
        >>> check_multiplier("paramwise_cfg.bias_lr_mult", -1.0)
        Traceback (most recent call last):
        ...
        ValueError: Invalid paramwise_cfg.bias_lr_mult: -1.0. It must be a number >= 0.
    """
    if not is_number(value):
        raise TypeError(f"{name} must be a number (a multiplier such as 0.1), got {value!r}.")
    check_finite(name, value)
    check_non_negative(name, value)


def _check_custom_key(key: Any, options: Any) -> None:
    if not isinstance(key, str) or not key:
        raise TypeError(f"custom_keys keys must be non-empty strings (parameter name substrings), got {key!r}.")
    if not isinstance(options, Mapping):
        raise TypeError(
            f"custom_keys[{key!r}] must be a dict of options such as dict(lr_mult=0.1, decay_mult=0.0), "
            f"got {options!r}."
        )
    for option, value in options.items():
        if not isinstance(option, str):
            raise TypeError(f"custom_keys[{key!r}] option names must be strings, got {option!r}.")
        if option in ("lr_mult", "decay_mult"):
            check_multiplier(f"custom_keys[{key!r}].{option}", value)
        elif option == "params":
            raise ValueError(f"custom_keys[{key!r}] cannot set 'params': the constructor assigns parameters.")


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
    group_per_param: bool = False

    @classmethod
    def from_cfg(
        cls, paramwise_cfg: Mapping[str, Any] | None, lr: float | None, weight_decay: float | None
    ) -> ParamwiseRules:
        """Validate ``paramwise_cfg`` and freeze it into rules."""
        cfg = {} if paramwise_cfg is None else paramwise_cfg
        validate_paramwise_cfg(cfg, weight_decay)
        custom_keys = dict(cfg.get("custom_keys", {}))
        mult_names = MULT_KEYS
        return cls(
            custom_keys=custom_keys,
            # Alphabetical first, then a stable sort by length: longest wins, ties alphabetical.
            sorted_keys=tuple(sorted(sorted(custom_keys), key=len, reverse=True)),
            lr=lr,
            weight_decay=weight_decay,
            mults={name: cfg.get(name) for name in mult_names},
            bypass_duplicate=bool(cfg.get("bypass_duplicate", False)),
            group_per_param=bool(cfg.get("group_per_param", False)),
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
