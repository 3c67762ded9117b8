"""timm's parameter groups: weight decay off for biases and norms, and layer-wise learning-rate decay.

The same groups ``timm.optim.create_optimizer_v2`` builds, from the same model protocol: a model's
``no_weight_decay()`` names, its ``group_matcher(coarse=False)`` (regexes mapping parameter names to
layer ordinals) and, without a matcher, ``pretrained_cfg["classifier"]`` with parameters grouped in
runs of 12. tests/test_create_optimizer.py checks them against timm's own groups on timm models.

Two deliberate differences, both so that no setting is silently lost:

* each group's ``lr`` is already multiplied by its ``lr_scale`` (timm leaves the scaling to its own
  schedulers, so with a torch scheduler, or none, timm's layer decay has no effect); ``lr_scale`` stays
  in the group, so timm's schedulers (which set ``lr = value * lr_scale``) give the same numbers;
* parameters below ``no_opt_scale`` are left out of every group instead of having their
  ``requires_grad`` switched off behind the caller's back.
"""

from __future__ import annotations

import collections.abc
import fnmatch
import itertools
import re
from collections.abc import Callable, Collection, Iterable
from typing import Any

from torch import nn

__all__ = ["layer_ids", "param_groups_layer_decay", "param_groups_weight_decay"]

_MATCH_PREV_GROUP = 99999.0  # timm's marker: this match belongs to the group before it


def _matches(name: str, patterns: Collection[str]) -> bool:
    return any(fnmatch.fnmatch(name, pattern) for pattern in patterns)


def _no_decay(name: str, ndim: int, exclude_1d: bool, no_weight_decay: Collection[str]) -> bool:
    return (exclude_1d and ndim <= 1) or _matches(name, no_weight_decay)


def param_groups_weight_decay(
    model: nn.Module,
    weight_decay: float = 1e-5,
    no_weight_decay_list: Collection[str] = (),
    weight_decay_exclude_1d: bool = True,
) -> list[dict[str, Any]]:
    """Two groups, as timm builds them: ``no_decay`` (0-d/1-d tensors, biases, listed names) and ``decay``.

    Parameters with ``requires_grad=False`` are left out. With ``weight_decay=0`` every parameter is
    in ``no_decay``.

    Example:
        >>> model = nn.Sequential(nn.Linear(2, 2), nn.LayerNorm(2))
        >>> [(g["name"], g["param_names"]) for g in param_groups_weight_decay(model, 0.05)]
        [('no_decay', ['0.bias', '1.weight', '1.bias']), ('decay', ['0.weight'])]
    """
    groups: dict[str, dict[str, Any]] = {}
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        skip = not weight_decay or _no_decay(name, p.ndim, weight_decay_exclude_1d, no_weight_decay_list)
        skip = skip or (weight_decay_exclude_1d and name.endswith(".bias"))
        key = "no_decay" if skip else "decay"
        group = groups.setdefault(key, _group(key, 0.0 if skip else weight_decay))
        group["params"].append(p)
        group["param_names"].append(name)
    return [groups[k] for k in ("no_decay", "decay") if k in groups]


def _group(name: str, weight_decay: float, **extra: Any) -> dict[str, Any]:
    return {"params": [], "param_names": [], "name": name, "weight_decay": weight_decay, **extra}


def param_groups_layer_decay(
    model: nn.Module,
    weight_decay: float = 0.05,
    no_weight_decay_list: Collection[str] = (),
    weight_decay_exclude_1d: bool = True,
    layer_decay: float = 0.75,
    min_scale: float = 0.0,
    no_opt_scale: float | None = None,
    lr: float | None = None,
) -> list[dict[str, Any]]:
    """timm's (BEiT's) layer-wise decay groups: ``layer_<i>_decay`` / ``layer_<i>_no_decay``.

    Layer ``i`` of ``n`` gets ``lr_scale = max(min_scale, layer_decay ** (n - 1 - i))``: the head keeps
    the full learning rate and each layer below it gets ``layer_decay`` times the one above.

    Args:
        model: the model (its layers as [`layer_ids`][optimtx.config.timm_groups.layer_ids] numbers them).
        weight_decay: the decay of the ``decay`` groups.
        no_weight_decay_list: parameter-name patterns (``fnmatch``) without weight decay.
        weight_decay_exclude_1d: no weight decay for 0-d and 1-d tensors (biases, norms).
        layer_decay: the factor between neighbouring layers.
        min_scale: the smallest ``lr_scale``.
        no_opt_scale: parameters whose scale is below this are left out of the optimizer.
        lr: when given, each group's ``lr`` is ``lr * lr_scale``.

    Example:
        >>> model = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2))
        >>> model.pretrained_cfg = {"classifier": "1"}
        >>> groups = param_groups_layer_decay(model, layer_decay=0.5, lr=0.1)
        >>> [(g["name"], g["lr_scale"], g["lr"]) for g in groups][:3]
        [('layer_0_decay', 0.5, 0.05), ('layer_0_no_decay', 0.5, 0.05), ('layer_1_decay', 1.0, 0.1)]
    """
    ids = layer_ids(model)
    n_layers = max(ids.values(), default=0) + 1
    scales = [max(min_scale, layer_decay ** (n_layers - 1 - i)) for i in range(n_layers)]
    groups: dict[str, dict[str, Any]] = {}
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        layer = ids.get(name, n_layers - 1)
        scale = scales[layer]
        if no_opt_scale and scale < no_opt_scale:
            continue
        decayed = not _no_decay(name, p.ndim, weight_decay_exclude_1d, no_weight_decay_list)
        key = f"layer_{layer}_{'decay' if decayed else 'no_decay'}"
        extra = {"lr_scale": scale} if lr is None else {"lr_scale": scale, "lr": lr * scale}
        group = groups.setdefault(key, _group(key, weight_decay if decayed else 0.0, **extra))
        group["params"].append(p)
        group["param_names"].append(name)
    return list(groups.values())


def layer_ids(model: nn.Module) -> dict[str, int]:
    """Parameter name -> layer index (0 = the stem), as timm's layer-decay grouping numbers them.

    From ``model.group_matcher(coarse=False)`` when the model has one (timm's models do), otherwise
    parameters in order, 12 per layer, with the ``pretrained_cfg["classifier"]`` prefix as the last layer.

    Example:
        >>> model = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2))
        >>> model.group_matcher = lambda coarse=False: {"stem": r"^0", "head": r"^1"}
        >>> layer_ids(model)
        {'0.weight': 0, '0.bias': 0, '1.weight': 1, '1.bias': 1}
    """
    names = [name for name, _ in model.named_parameters()]
    matcher = getattr(model, "group_matcher", None)
    if callable(matcher):
        return _ids_from_matcher(names, matcher(coarse=False))
    return _ids_in_runs(names, getattr(model, "pretrained_cfg", None) or {})


def _ids_from_matcher(names: Iterable[str], matcher: Any) -> dict[str, int]:
    ordinal = _ordinal_function(matcher)
    by_ordinal: dict[tuple[float, ...], list[str]] = collections.defaultdict(list)
    for name in names:
        by_ordinal[ordinal(name)].append(name)
    ids: dict[str, int] = {}
    layer = -1
    for key in sorted(by_ordinal):
        if layer < 0 or key[-1] != _MATCH_PREV_GROUP:
            layer += 1
        ids.update(dict.fromkeys(by_ordinal[key], layer))
    return ids


def _ordinal_function(matcher: Any) -> Callable[[str], tuple[float, ...]]:
    """name -> a sortable ordinal tuple, from a dict of regex specs or a callable (timm's two matcher forms)."""
    if callable(matcher) and not isinstance(matcher, collections.abc.Mapping):
        return lambda name: _as_tuple(matcher(name))
    if not isinstance(matcher, collections.abc.Mapping):
        raise TypeError(f"group_matcher must return a dict of regexes or a callable, got {matcher!r}.")
    compiled: list[tuple[re.Pattern[str], int, Any]] = []
    for index, spec in enumerate(matcher.values()):
        if spec is None:
            continue
        entries = spec if isinstance(spec, (list, tuple)) else [(spec, None)]
        compiled += [(re.compile(pattern), index, suffix) for pattern, suffix in entries]

    def ordinal(name: str) -> tuple[float, ...]:
        for pattern, index, suffix in compiled:
            found = pattern.match(name)
            if found:
                parts = ((index,), found.groups(), suffix)
                return tuple(float(x) for x in itertools.chain.from_iterable(part for part in parts if part))
        return (float("inf"),)  # unmatched (neck, head): the last layer

    return ordinal


def _as_tuple(value: Any) -> tuple[float, ...]:
    return tuple(value) if isinstance(value, collections.abc.Iterable) else (value,)


def _ids_in_runs(names: list[str], pretrained_cfg: Any, per_layer: int = 12) -> dict[str, int]:
    head = pretrained_cfg.get("classifier") if isinstance(pretrained_cfg, collections.abc.Mapping) else None
    prefixes = tuple(head) if isinstance(head, (list, tuple)) else (head,) if head else ()
    in_head = [not prefixes or name.startswith(prefixes) for name in names]
    trunk = [name for name, is_head in zip(names, in_head, strict=True) if not is_head]
    ids = {name: i // per_layer for i, name in enumerate(trunk)}
    n_trunk = -(len(trunk) // -per_layer)
    ids.update({name: n_trunk for name, is_head in zip(names, in_head, strict=True) if is_head})
    return ids
