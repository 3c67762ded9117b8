"""``DefaultOptimWrapperConstructor``: config + model -> optimizer wrapper, with paramwise rules.

Subclasses override [`DefaultOptimWrapperConstructor.add_params`][optimtx.DefaultOptimWrapperConstructor.add_params]
exactly as in
MMEngine: it appends one ``{'params': [param], **keys}`` dict per parameter. The
constructor then merges the dicts whose keys are equal into one torch param group, so
an optimizer sees one group per distinct set of hyperparameters rather than one per
tensor (torch's multi-tensor kernels work within a group).

Logging: one INFO line per build summarising the groups; the MMEngine-style
``paramwise_options -- name:key=value`` lines are logged at DEBUG (there is one per
parameter and key, which floods INFO logs on large models).
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Iterator, Mapping
from typing import Any

import torch  # noqa: F401  (the doctests use it)
from torch import nn

from optimtx.config.config_check import check_paramwise_keys
from optimtx.config.paramwise import ParamDecision, log_skipped, paramwise_reasons, warn_unmatched_custom_keys
from optimtx.config.paramwise_rules import ParamwiseRules, is_dcn
from optimtx.config.registries import OPTIM_WRAPPER_CONSTRUCTORS, OPTIM_WRAPPERS, OPTIMIZERS
from optimtx.wrapper.porting import walk_order

__all__ = [
    "DefaultOptimWrapperConstructor",
    "first_parameter_name",
    "merge_param_groups",
    "optimizer_class",
    "summarize_groups",
    "transform_hparam",
    "unwrap_model",
]

logger = logging.getLogger("optimtx")


def optimizer_class(optimizer_cfg: Mapping[str, Any]) -> Any:
    """The optimizer class an optimizer config names (a registered name or the class itself).

    Example:
        >>> optimizer_class(dict(type="SGD", lr=0.1))
        <class 'torch.optim.sgd.SGD'>
    """
    cls = check_optimizer_cfg(optimizer_cfg).get("type")
    if isinstance(cls, str):
        found = OPTIMIZERS.get(cls)
        if found is None:
            raise OPTIMIZERS.unknown_key_error(cls)
        return found
    if cls is None:
        raise KeyError(f'the optimizer config must contain the key "type", got {dict(optimizer_cfg)!r}')
    return cls


def check_optimizer_cfg(optimizer_cfg: Any) -> Mapping[str, Any]:
    """Return ``optimizer_cfg`` if it is a config dict; ``None``, a bare name or anything else is a ``TypeError``.

    Example:
        >>> check_optimizer_cfg("SGD")
        Traceback (most recent call last):
        ...
        TypeError: optimizer must be a config dict such as dict(type='SGD', lr=0.01), got 'SGD'. ...
    """
    if not isinstance(optimizer_cfg, Mapping):
        hint = f" Write dict(type={optimizer_cfg!r}, lr=...)." if isinstance(optimizer_cfg, str) else ""
        raise TypeError(
            f"optimizer must be a config dict such as dict(type='SGD', lr=0.01), got {optimizer_cfg!r}.{hint}"
        )
    return optimizer_cfg


def transform_hparam(optimizer_cfg: Mapping[str, Any], key: str) -> Any:
    """The value of ``key`` in the optimizer's ``transform`` config, if exactly one factory sets it.

    Example:
        >>> cfg = dict(type="TransformOptimizer", transform=dict(type="chain", transforms=[
        ...     dict(type="clip_by_global_norm", max_norm=1.0), dict(type="adamw", lr=1e-3)]))
        >>> transform_hparam(cfg, "lr"), transform_hparam(cfg, "weight_decay")
        (0.001, None)
    """
    found: list[Any] = []

    def walk(node: Any) -> None:
        if isinstance(node, Mapping):
            if "type" in node and key in node:
                found.append(node[key])
            for value in node.values():
                walk(value)
        elif isinstance(node, (list, tuple)):
            for value in node:
                walk(value)

    walk(optimizer_cfg.get("transform"))
    return found[0] if len(found) == 1 else None


def first_parameter_name(cls: Any) -> str:
    """The name of the first constructor argument (``params`` for torch optimizers).

    Example:
        >>> first_parameter_name(torch.optim.SGD)
        'params'
    """
    return next(iter(inspect.signature(cls).parameters))


def merge_param_groups(groups: list[dict[str, Any]], base: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Merge per-parameter group dicts whose keys are equal once ``base`` fills the missing ones.

    Groups keep the order of their first parameter; parameters keep their order. A
    parameter in two dicts raises ``ValueError`` (as torch would).

    Example:
        >>> a, b, c = (torch.zeros(1) for _ in range(3))
        >>> merged = merge_param_groups([{"params": [a]}, {"params": [b], "lr": 0.2}, {"params": [c], "lr": 0.1}],
        ...                             base={"lr": 0.1})
        >>> [(len(g["params"]), g.get("lr")) for g in merged]
        [(2, None), (1, 0.2)]
    """
    merged: list[tuple[dict[str, Any], dict[str, Any]]] = []
    seen: set[int] = set()
    for group in groups:
        params = list(group["params"])
        for p in params:
            if id(p) in seen:
                raise ValueError(
                    "some parameters appear in more than one parameter group; set "
                    "paramwise_cfg.bypass_duplicate=True to skip shared modules' repeated parameters."
                )
            seen.add(id(p))
        keys = {k: v for k, v in group.items() if k != "params"}
        effective = {**base, **keys}
        target = next((g for eff, g in merged if _equal(eff, effective)), None)
        if target is None:
            merged.append((effective, {"params": params, **keys}))
        else:
            target["params"].extend(params)
    return [group for _, group in merged]


def _equal(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    try:
        return bool(a == b)
    except RuntimeError:  # tensors with several elements do not compare to a bool
        return False


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class DefaultOptimWrapperConstructor:
    """Build an optimizer wrapper from ``optim_wrapper_cfg`` and the ``paramwise_cfg`` rules.

    Args:
        optim_wrapper_cfg: the wrapper config; must contain ``optimizer`` (its config).
            Not modified.
        paramwise_cfg: per-parameter rules (see `optimtx.config.paramwise`); ``None`` or
            ``{}`` puts all of ``model.parameters()`` in one group.

    Attributes:
        optim_wrapper_cfg: a copy of the wrapper config without ``optimizer``.
        optimizer_cfg: the optimizer config.
        paramwise_cfg: the rules (``{}`` when none).
        base_lr: ``optimizer_cfg.get('lr')``; for an optimizer configured by a ``transform``
            dict (``TransformOptimizer``), the one ``lr`` found in that config.
        base_wd: ``optimizer_cfg.get('weight_decay')``, with the same ``transform`` fallback.

    Example:
        >>> model = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
        >>> ctor = DefaultOptimWrapperConstructor(
        ...     dict(optimizer=dict(type="SGD", lr=0.1, weight_decay=1e-4)), dict(norm_decay_mult=0.0))
        >>> groups = ctor.param_groups(model)
        >>> [(len(g["params"]), g.get("weight_decay")) for g in groups]
        [(2, None), (2, 0.0)]
    """

    def __init__(self, optim_wrapper_cfg: dict, paramwise_cfg: dict | None = None):
        if not isinstance(optim_wrapper_cfg, Mapping):
            raise TypeError(f"optim_wrapper_cfg should be a dict, but got {type(optim_wrapper_cfg)}")
        if "optimizer" not in optim_wrapper_cfg:
            raise ValueError(
                '`optim_wrapper_cfg` must contain "optimizer" config, e.g. '
                f"dict(optimizer=dict(type='SGD', lr=0.01)); got keys {sorted(optim_wrapper_cfg)!r}."
            )
        self.optim_wrapper_cfg = dict(optim_wrapper_cfg)
        self.optimizer_cfg = check_optimizer_cfg(self.optim_wrapper_cfg.pop("optimizer"))
        self.paramwise_cfg = {} if paramwise_cfg is None else paramwise_cfg
        self.base_lr = self.optimizer_cfg.get("lr", transform_hparam(self.optimizer_cfg, "lr"))
        self.base_wd = self.optimizer_cfg.get("weight_decay", transform_hparam(self.optimizer_cfg, "weight_decay"))
        self._validate_cfg()
        self._skipped: list[ParamDecision] = []
        self._visited: list[str] = []

    def _validate_cfg(self) -> None:
        if type(self) is DefaultOptimWrapperConstructor:  # subclasses may read keys of their own
            check_paramwise_keys(self.paramwise_cfg)
        ParamwiseRules.from_cfg(self.paramwise_cfg, self.base_lr, self.base_wd)

    def _rules(self) -> ParamwiseRules:
        return ParamwiseRules.from_cfg(self.paramwise_cfg, self.base_lr, self.base_wd)

    def _is_in(self, param_group: dict, param_group_list: list[dict]) -> bool:
        """Whether a parameter of ``param_group`` is already in one of ``param_group_list``."""
        added = {id(p) for group in param_group_list for p in group["params"]}
        return any(id(p) in added for p in param_group["params"])

    def add_params(self, params: list[dict], module: nn.Module, prefix: str = "", is_dcn_module: Any = None) -> None:
        """Append a ``{'params': [param], **keys}`` dict to ``params`` for each parameter of ``module``.

        Recurses into the children (prefix ``'parent.child'``) through ``self.add_params``,
        so overriding this method changes the whole walk. Frozen parameters, and with
        ``bypass_duplicate`` repeated ones, are left out.
        """
        rules = self._rules()
        # Only bypass_duplicate looks at what was kept; building the set costs O(params) per module.
        kept = {id(p) for group in params for p in group["params"]} if rules.bypass_duplicate else set()
        visited, skipped = self.__dict__.setdefault("_visited", []), self.__dict__.setdefault("_skipped", [])
        for name, param in module.named_parameters(recurse=False):
            full_name = f"{prefix}.{name}" if prefix else name
            visited.append(f"{prefix}.{name}")
            reason = rules.skip_reason(param, kept)
            if reason is not None:
                skipped.append(ParamDecision(full_name, param, {}, reason, skipped=True))
                logger.debug("%s is skipped (%s)", full_name, reason)
                continue
            options, _ = rules.options(name, param, module, prefix, is_dcn_module)
            params.append({"params": [param], **options})
            kept.add(id(param))
            for key, value in options.items():
                logger.debug("paramwise_options -- %s:%s=%s", full_name, key, value)
        child_dcn = is_dcn(module)
        for child_name, child in module.named_children():
            child_prefix = f"{prefix}.{child_name}" if prefix else child_name
            self.add_params(params, child, prefix=child_prefix, is_dcn_module=child_dcn)

    def param_groups(self, model: nn.Module) -> list[dict[str, Any]] | Iterator[nn.Parameter]:
        """The optimizer's ``params`` argument for ``model``: merged groups, or ``model.parameters()``."""
        model = unwrap_model(model)
        if not self.paramwise_cfg:
            self._per_param = None
            return model.parameters()
        per_param: list[dict[str, Any]] = []
        self._skipped, self._visited = [], []
        self.add_params(per_param, model)
        self._per_param = per_param
        log_skipped(self._skipped)
        if self._visited:  # only the default add_params records what it saw
            warn_unmatched_custom_keys(self.paramwise_cfg.get("custom_keys", {}), self._visited)
        if self._rules().group_per_param:  # MMEngine's groups exactly, for code that indexes them per parameter
            logger.info("%d param groups, one per parameter (paramwise_cfg.group_per_param=True)", len(per_param))
            return per_param
        base = {k: v for k, v in (("lr", self.base_lr), ("weight_decay", self.base_wd)) if v is not None}
        groups = merge_param_groups(per_param, base)
        logger.info("%s", summarize_groups(groups))
        return groups

    def __call__(self, model: nn.Module) -> Any:
        """Build the optimizer over ``model``'s parameters and wrap it (``type`` defaults to ``'OptimWrapper'``)."""
        wrapper_cfg = dict(self.optim_wrapper_cfg)
        wrapper_cfg.setdefault("type", "OptimWrapper")
        optimizer_cfg = dict(self.optimizer_cfg)
        optimizer_cfg[first_parameter_name(optimizer_class(optimizer_cfg))] = self.param_groups(model)
        optimizer = OPTIMIZERS.build(optimizer_cfg)
        wrapper = OPTIM_WRAPPERS.build(wrapper_cfg, default_args=dict(optimizer=optimizer))
        per_param = getattr(self, "_per_param", None)
        if per_param is not None:  # where MMEngine's per-parameter groups land here (resuming its checkpoints)
            wrapper.param_walk_order = walk_order(per_param, optimizer.param_groups)
        if type(self).add_params is DefaultOptimWrapperConstructor.add_params:  # the rules are known: keep them
            inner = unwrap_model(model)
            wrapper.paramwise_reasons = paramwise_reasons(inner, self.paramwise_cfg, self.base_lr, self.base_wd)
        return wrapper


def unwrap_model(model: nn.Module) -> nn.Module:
    """``model.module`` for a DDP/FSDP-style wrapper (an ``nn.Module`` holding ``module``), else ``model``.

    Example:
        >>> inner = nn.Linear(1, 1)
        >>> unwrap_model(nn.ModuleDict(dict(module=inner))) is inner, unwrap_model(inner) is inner
        (True, True)
    """
    inner = getattr(model, "module", None)
    return inner if isinstance(inner, nn.Module) else model


def summarize_groups(groups: list[dict[str, Any]]) -> str:
    """``'3 param groups: defaults (4 params); weight_decay=0.0 (2); ...'`` for the INFO log.

    Example:
        >>> summarize_groups([{"params": [torch.zeros(1)] * 2}, {"params": [torch.zeros(1)], "lr": 0.5}])
        '2 param groups: defaults (2 params); lr=0.5 (1)'
    """
    parts = []
    for i, group in enumerate(groups):
        keys = ", ".join(f"{k}={v}" for k, v in group.items() if k != "params") or "defaults"
        count = len(group["params"])
        parts.append(f"{keys} ({count} params)" if i == 0 else f"{keys} ({count})")
    noun = "param group" if len(groups) == 1 else "param groups"
    return f"{len(groups)} {noun}: " + "; ".join(parts)
