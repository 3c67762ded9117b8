"""Shared helpers of the facade reliability tests: snapshots for failure-atomicity checks."""

from __future__ import annotations

import copy
from typing import Any

import torch


def frozen(value: Any) -> Any:
    """A deep, detached copy of ``value`` (tensors cloned) to compare against later."""
    if isinstance(value, torch.Tensor):
        return value.detach().clone()
    if isinstance(value, dict):
        return {k: frozen(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)) and not hasattr(value, "_fields"):
        return type(value)(frozen(v) for v in value)
    if hasattr(value, "_fields"):
        return type(value)(*(frozen(v) for v in value))
    return copy.deepcopy(value)


def same(a: Any, b: Any) -> bool:
    """Bitwise equality of nested values (tensors: dtype, shape and every bit, NaN included)."""
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        if not (isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor)):
            return False
        if a.dtype != b.dtype or a.shape != b.shape or a.layout != b.layout:
            return False
        if a.is_sparse:
            a, b = a.to_dense(), b.to_dense()
        return torch.equal(_bits(a), _bits(b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return a == b or (a != a and b != b)


def _bits(t: torch.Tensor) -> torch.Tensor:
    return t.detach().reshape(-1).contiguous().view(torch.uint8)


def optimizer_snapshot(optimizer: Any) -> Any:
    """Everything observable about an optimizer or wrapper: its parameters, groups and state dict."""
    inner = getattr(optimizer, "optimizer", optimizer)
    groups = getattr(inner, "param_groups", [])
    params = [p for g in groups for p in g["params"]] if isinstance(groups, list) else []
    return frozen(
        {
            "params": params,
            "grads": [p.grad for p in params],
            "groups": [{k: v for k, v in g.items() if k != "params"} for g in groups]
            if isinstance(groups, list)
            else [],
            "state_dict": optimizer.state_dict(),
            "extra": {
                k: getattr(optimizer, k) for k in ("_inner_count", "base_param_settings") if hasattr(optimizer, k)
            },
        }
    )
