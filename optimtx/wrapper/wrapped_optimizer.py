"""What the wrappers check and read on the torch optimizer they wrap.

Its interface, its param groups, and its state dict: a state dict that does not fit is refused
before anything changes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor

from optimtx.wrapper.torch_optimizer_groups import is_scheduler_bookkeeping

__all__ = [
    "base_param_settings",
    "check_optimizer",
    "check_optimizer_state_fits",
    "copy_containers",
    "group_momentum",
    "load_optimizer_state",
    "trainable_params",
]


def check_optimizer(optimizer: Any) -> None:
    """Raise ``TypeError`` unless ``optimizer`` is a torch optimizer (or has its interface).

    Example:
        >>> check_optimizer(None)
        Traceback (most recent call last):
        ...
        TypeError: optimizer must be a torch.optim.Optimizer ..., got None.
    """
    if isinstance(optimizer, torch.optim.Optimizer):
        return
    needed = ("param_groups", "step", "zero_grad", "state_dict", "load_state_dict")
    if optimizer is None or isinstance(optimizer, type) or not all(hasattr(optimizer, k) for k in needed):
        raise TypeError(
            "optimizer must be a torch.optim.Optimizer (or an object with param_groups, step, zero_grad, "
            f"state_dict and load_state_dict), e.g. torch.optim.SGD(model.parameters(), lr=0.1), got {optimizer!r}."
        )


def check_optimizer_state_fits(optimizer: torch.optim.Optimizer, state: Mapping[str, Any]) -> None:
    """Raise ``ValueError`` unless ``state`` has the optimizer's number of groups and parameters.

    Example:
        >>> opt = torch.optim.SGD([torch.nn.Parameter(torch.ones(1))], lr=0.1)
        >>> check_optimizer_state_fits(opt, {"state": {}, "param_groups": []})
        Traceback (most recent call last):
        ...
        ValueError: The state dict has 0 param groups but the optimizer has 1. ...
    """
    missing = [key for key in ("state", "param_groups") if key not in state]
    if missing:
        raise ValueError(f"The state dict has no {missing} entry; pass the result of state_dict().")
    groups = state["param_groups"]
    if not isinstance(state["state"], Mapping) or not isinstance(groups, (list, tuple)):
        raise ValueError(
            f"The state dict's 'state' must be a dict and its 'param_groups' a list, got "
            f"{type(state['state']).__name__} and {type(groups).__name__}; pass the result of state_dict()."
        )
    for i, group in enumerate(groups):
        if not isinstance(group, Mapping) or not isinstance(group.get("params"), (list, tuple)):
            raise ValueError(f"Saved param group {i} must be a dict with a 'params' list, got {group!r}.")
    saved = [len(group.get("params", ())) for group in state["param_groups"]]
    current = [len(group.get("params", ())) for group in optimizer.param_groups]
    if len(saved) != len(current):
        raise ValueError(
            f"The state dict has {len(saved)} param groups but the optimizer has {len(current)}. "
            "Load a state saved from an optimizer built the same way."
        )
    if saved != current:
        raise ValueError(
            f"The state dict's param groups hold {saved} parameters but the optimizer's hold {current}. "
            "Load a state saved from an optimizer built the same way."
        )
    for i, (saved_group, group) in enumerate(zip(state["param_groups"], optimizer.param_groups, strict=True)):
        if not isinstance(saved_group, Mapping):
            raise ValueError(f"Saved param group {i} is {saved_group!r}, not a dict.")
        # torch fills in missing flags (bool/None, e.g. 'foreach') for older checkpoints; numbers it cannot.
        _check_saved_values(saved_group, group, i)
        missing = sorted(
            k
            for k, v in group.items()
            if k not in saved_group and not (v is None or isinstance(v, bool) or is_scheduler_bookkeeping(k))
        )
        if missing:
            raise ValueError(
                f"Saved param group {i} has no {missing}, which {type(optimizer).__name__}'s groups need: the state "
                "was saved from another optimizer type. Load a state saved from an optimizer built the same way."
            )
    _check_saved_param_states(optimizer, state)


def keep_scheduler_bookkeeping(optimizer: torch.optim.Optimizer, state: dict[str, Any]) -> None:
    """Give the (copied) saved groups the ``initial_lr``-style keys of schedulers attached now but not then.

    Example:
        >>> opt = torch.optim.SGD([torch.nn.Parameter(torch.ones(1))], lr=0.1)
        >>> opt.param_groups[0]["initial_lr"] = 0.1
        >>> state = {"state": {}, "param_groups": [{"lr": 0.05, "params": [0]}]}
        >>> keep_scheduler_bookkeeping(opt, state); state["param_groups"][0]["initial_lr"]
        0.1
    """
    for saved, group in zip(state.get("param_groups", ()), optimizer.param_groups, strict=False):
        for key, value in group.items():
            if is_scheduler_bookkeeping(key) and key not in saved:
                saved[key] = value


def load_optimizer_state(optimizer: torch.optim.Optimizer, state: dict[str, Any]) -> None:
    """``optimizer.load_state_dict(state)``, undone if it raises half-way (torch replaces groups first).

    Example:
        >>> p = torch.nn.Parameter(torch.ones(1))
        >>> adam, sgd = torch.optim.Adam([p], lr=0.5), torch.optim.SGD([p], lr=0.1, momentum=0.9)
        >>> p.grad = torch.ones(1); sgd.step()
        >>> load_optimizer_state(adam, sgd.state_dict())
        Traceback (most recent call last):
        ...
        ValueError: Loading the state into Adam failed (KeyError: 'step'); nothing was changed. ...
        >>> adam.param_groups[0]["lr"]
        0.5
    """
    saved = {k: v for k, v in getattr(optimizer, "__dict__", {}).items() if k in ("state", "param_groups", "defaults")}
    groups = [dict(g) for g in getattr(optimizer, "param_groups", [])]
    try:
        optimizer.load_state_dict(state)
    except Exception as error:
        if saved:
            vars(optimizer).update(saved)
        for group, old in zip(getattr(optimizer, "param_groups", []), groups, strict=False):
            group.clear()
            group.update(old)
        raise ValueError(
            f"Loading the state into {type(optimizer).__name__} failed ({type(error).__name__}: {error}); nothing "
            "was changed. Was it saved from another optimizer type or another model?"
        ) from error


def _check_saved_param_states(optimizer: Any, state: Mapping[str, Any]) -> None:
    """Refuse per-parameter entries that torch would take and fail on later (a string buffer, a wrong shape)."""
    params = [p for group in optimizer.param_groups for p in group.get("params", ())]
    ids = [i for group in state["param_groups"] for i in group["params"]]
    position = {pid: n for n, pid in enumerate(ids) if isinstance(pid, (int, str))}
    current = getattr(optimizer, "state", {})
    for pid, entry in state["state"].items():
        if pid not in position or position[pid] >= len(params) or not isinstance(entry, Mapping):
            raise ValueError(
                f"The state dict's per-parameter state {pid!r} does not belong to a parameter of its param groups "
                f"(or is not a dict: {type(entry).__name__}). Load a state saved from an optimizer built the same way."
            )
        param = params[position[pid]]
        mine = current.get(param) if isinstance(current, Mapping) else None
        if mine and set(mine) != set(entry):
            raise ValueError(
                f"The saved state of parameter {pid!r} has {sorted(entry)} but this {type(optimizer).__name__} keeps "
                f"{sorted(mine)}: the state was saved from another optimizer type."
            )
        for key, value in entry.items():
            if not _usable_state_value(key, value, mine.get(key) if mine else _UNKNOWN):
                shown = f"a tensor of shape {tuple(value.shape)}" if isinstance(value, Tensor) else repr(value)
                raise ValueError(
                    f"The saved state of parameter {pid!r} (shape {tuple(param.shape)}) has {key}={shown}, which "
                    "does not fit this optimizer's state. Load a state saved from an optimizer built the same way."
                )


_UNKNOWN = object()


def _usable_state_value(key: str, value: Any, now: Any) -> bool:
    """Whether a saved per-parameter value can replace ``now`` (``_UNKNOWN``: the optimizer has no state yet)."""
    if key == "step" and not _valid_step(value):
        return False
    if now is _UNKNOWN:  # a fresh optimizer: only the kinds torch's optimizers store
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return key == "step" and math.isfinite(value)
        return value is None or isinstance(value, Tensor)
    if isinstance(now, Tensor):
        if isinstance(value, Tensor):
            return value.shape == now.shape
        return key == "step" and isinstance(value, (int, float)) and not isinstance(value, bool)
    if now is None:
        return value is None or isinstance(value, Tensor)
    return type(value) is type(now)


def _valid_step(value: Any) -> bool:
    """A step count: a finite number >= 0 (a Python number or a one-element tensor; read once, at load time)."""
    if isinstance(value, Tensor):
        if value.numel() != 1:
            return False
        value = value.item()
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value >= 0


def _check_saved_values(saved: Mapping[str, Any], current: Mapping[str, Any], index: int) -> None:
    """Refuse saved group values of another kind than the optimizer's (a string flag, a NaN lr, a 3-tuple of betas)."""
    for key, now in current.items():
        if key == "params" or key not in saved:
            continue
        value = saved[key]
        if not _same_kind(value, now):
            raise ValueError(
                f"Saved param group {index} has {key}={value!r}, but the optimizer's value is {now!r}; "
                "a checkpoint's settings must be of the same kind (and numbers finite)."
            )


def _same_kind(value: Any, now: Any) -> bool:
    if now is None:  # an optional setting ('foreach', LBFGS's 'max_eval'): a plain value, not a container
        return value is None or isinstance(value, (bool, int, float, str))
    if isinstance(now, bool):
        return value is None or isinstance(value, bool)
    if isinstance(now, (int, float)):
        if isinstance(value, Tensor):
            return value.numel() == 1
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if isinstance(now, (tuple, list)) and all(isinstance(v, (int, float, Tensor)) for v in now):
        return (
            isinstance(value, (tuple, list))
            and len(value) == len(now)
            and all(_same_kind(v, n) for v, n in zip(value, now, strict=True))
        )
    return True


def copy_containers(value: Any) -> Any:
    """A copy of ``value`` with new dicts, lists and tuples; tensors and other leaves are shared.

    Example:
        >>> t = torch.zeros(1)
        >>> saved = {"state": [t]}
        >>> copied = copy_containers(saved)
        >>> copied == saved, copied["state"] is saved["state"], copied["state"][0] is t
        (True, False, True)
    """
    if isinstance(value, dict):
        return {k: copy_containers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [copy_containers(v) for v in value]
    if isinstance(value, tuple) and not hasattr(value, "_fields"):
        return tuple(copy_containers(v) for v in value)
    return value


def base_param_settings(optimizer: torch.optim.Optimizer) -> dict | None:
    """MMEngine's ``base_param_settings``: the optimizer's defaults, when it has several param groups.

    Example:
        >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
        >>> base_param_settings(opt) is None
        True
    """
    if len(optimizer.param_groups) <= 1:
        return None
    settings: dict[str, Any] = {"params": torch.tensor([0.0])}
    settings.update(optimizer.defaults)
    return settings


def trainable_params(optimizer: torch.optim.Optimizer) -> list[Tensor]:
    """The parameters of every group that require gradients, in group order.

    Example:
        >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True), torch.zeros(2)], lr=0.1)
        >>> [p.numel() for p in trainable_params(opt)]
        [1]
    """
    return [p for group in optimizer.param_groups for p in group.get("params", ()) if p.requires_grad]


def group_momentum(group: Mapping[str, Any]) -> float:
    """A param group's momentum: ``momentum``, else ``betas[0]`` (Adam-like), else 0.

    Example:
        >>> group_momentum({"betas": (0.9, 0.999)}), group_momentum({"lr": 0.1})
        (0.9, 0)
    """
    if "momentum" in group:
        return group["momentum"]
    if "betas" in group:
        return group["betas"][0]
    return 0
