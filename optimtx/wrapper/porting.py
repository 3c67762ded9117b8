"""Resume MMEngine checkpoints: one param group per parameter mapped onto optimtx's one group per label.

MMEngine's ``DefaultOptimWrapperConstructor`` gives every parameter its own torch param
group when ``paramwise_cfg`` is set; optimtx merges parameters with equal settings into
one group per label. Both visit parameters in the same order (``add_params``: a module's
own parameters, then its children), so the ``j``-th per-parameter group of an MMEngine
checkpoint belongs to the ``j``-th parameter of that walk. The constructor records where
each walked parameter landed (``param_walk_order``); `regroup_per_parameter_state`
uses it to rebuild the optimizer state dict in optimtx's layout, moving each parameter's
state (momentum buffers, Adam moments, step) with it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch

from optimtx.wrapper.torch_optimizer_groups import is_scheduler_bookkeeping

__all__ = ["is_per_parameter_state", "regroup_per_parameter_state", "walk_order"]


def walk_order(per_param: Sequence[Mapping[str, Any]], groups: Sequence[Mapping[str, Any]]) -> list[tuple[int, int]]:
    """``(group index, position in group)`` of each parameter, in ``add_params`` (walk) order.

    Example:
        >>> a, b, c = (torch.zeros(1) for _ in range(3))
        >>> walk_order([{"params": [a]}, {"params": [b]}, {"params": [c]}], [{"params": [a, c]}, {"params": [b]}])
        [(0, 0), (1, 0), (0, 1)]
    """
    where = {id(p): (g, k) for g, group in enumerate(groups) for k, p in enumerate(group["params"])}
    return [where[id(p)] for entry in per_param for p in entry["params"]]


def is_per_parameter_state(state_dict: Mapping[str, Any], optimizer: torch.optim.Optimizer) -> bool:
    """Whether ``state_dict`` has one single-parameter group per parameter where ``optimizer`` has fewer groups.

    Example:
        >>> w = torch.nn.Parameter(torch.ones(1)); b = torch.nn.Parameter(torch.ones(1))
        >>> mm = torch.optim.SGD([{"params": [w]}, {"params": [b]}], lr=0.1).state_dict()
        >>> is_per_parameter_state(mm, torch.optim.SGD([w, b], lr=0.1))
        True
    """
    groups = state_dict.get("param_groups") if isinstance(state_dict, Mapping) else None
    if not isinstance(groups, list) or len(groups) == len(optimizer.param_groups):
        return False
    total = sum(len(g["params"]) for g in optimizer.param_groups)
    return (
        len(groups) == total
        and all(isinstance(g, Mapping) and len(g.get("params", ())) == 1 for g in groups)
        and len(optimizer.param_groups) < total
    )


def regroup_per_parameter_state(
    state_dict: Mapping[str, Any], optimizer: torch.optim.Optimizer, order: Sequence[tuple[int, int]] | None
) -> dict[str, Any]:
    """An MMEngine per-parameter optimizer state dict rebuilt for ``optimizer``'s per-label groups.

    Args:
        state_dict: ``optimizer.state_dict()`` of the MMEngine run (not modified).
        optimizer: the optimtx-built optimizer (same model and ``paramwise_cfg``).
        order: ``walk_order`` recorded when ``optimizer`` was built (``wrapper.param_walk_order``).

    Returns:
        A state dict that ``optimizer.load_state_dict`` accepts.

    Raises:
        ValueError: the walk order is unknown or does not fit, or parameters that share an
            optimtx group have different settings in the checkpoint (they cannot be merged
            without changing training), or the groups' keys differ from this optimizer's.

    Example:
        >>> w, b = torch.nn.Parameter(torch.ones(2)), torch.nn.Parameter(torch.ones(1))
        >>> mm = torch.optim.SGD([{"params": [w], "lr": 0.1}, {"params": [b], "lr": 0.1}], lr=0.1, momentum=0.9)
        >>> ours = torch.optim.SGD([w, b], lr=0.1, momentum=0.9)
        >>> sd = regroup_per_parameter_state(mm.state_dict(), ours, [(0, 0), (0, 1)])
        >>> [g["params"] for g in sd["param_groups"]]
        [[0, 1]]
    """
    groups = optimizer.param_groups
    if order is None:
        raise ValueError(
            "this checkpoint has one param group per parameter (MMEngine's paramwise layout), but the optimizer was "
            "not built by optimtx's constructor, so which parameter is which is unknown; build the wrapper with "
            "optimtx.build_optim_wrapper(model, cfg) from the same config before loading."
        )
    mm_groups = state_dict["param_groups"]
    if len(order) != len(mm_groups):
        raise ValueError(
            f"the checkpoint has {len(mm_groups)} per-parameter groups but this optimizer was built over "
            f"{len(order)} parameters; build it from the same model and paramwise_cfg as the checkpoint."
        )
    offsets = [sum(len(g["params"]) for g in groups[:i]) for i in range(len(groups))]
    merged: list[dict[str, Any] | None] = [None] * len(groups)
    new_state: dict[int, Any] = {}
    old_state = state_dict.get("state", {})
    for j, (g, k) in enumerate(order):
        settings = {key: value for key, value in mm_groups[j].items() if key != "params"}
        _merge_settings(merged, g, settings, j)
        old_index = mm_groups[j]["params"][0]
        if old_index in old_state:
            new_state[offsets[g] + k] = old_state[old_index]
    param_groups = []
    for g, group in enumerate(groups):
        settings = merged[g] or {}
        keys, saved = {k for k in group if not is_scheduler_bookkeeping(k)}, set(settings)
        missing, extra = (
            sorted(keys - saved - {"params"}),
            sorted(k for k in saved - keys if not is_scheduler_bookkeeping(k)),
        )
        if missing or extra:
            raise ValueError(
                f"the checkpoint's groups do not have this optimizer's settings (group {g}: missing {missing}, "
                f"unexpected {extra}); was it saved with another optimizer type?"
            )
        param_groups.append({**settings, "params": list(range(offsets[g], offsets[g] + len(group["params"])))})
    return {"state": new_state, "param_groups": param_groups}


def _merge_settings(merged: list[dict[str, Any] | None], g: int, settings: dict[str, Any], j: int) -> None:
    current = merged[g]
    if current is None:
        merged[g] = settings
        return
    differ = sorted(key for key in set(current) | set(settings) if not _same(current.get(key), settings.get(key)))
    if differ:
        raise ValueError(
            f"parameter {j} of the checkpoint (in MMEngine's walk order) shares optimtx group {g} with earlier "
            f"parameters, but its settings differ in {differ} ({[settings.get(k) for k in differ]} vs "
            f"{[current.get(k) for k in differ]}); the checkpoint's paramwise_cfg differs from this config's."
        )


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        return isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor) and torch.equal(a, b)
    return bool(a == b)
