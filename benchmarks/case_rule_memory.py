"""T7: bytes per parameter value of one step, for every rule with a torch class: state, and transient peak.

*State* is the bytes of the optimizer state (torch: ``optimizer.state``; optimtx: the
transform state's tensors) over the number of parameter values. *Transient* is the peak of
bytes allocated during one step and alive at the same time, beyond what existed before the
step, counted by a ``TorchDispatchMode`` that records every new storage an op returns and
forgets it when its tensor is freed (so it counts what Python-level ops allocate, the same
way for both sides; memory a fused C++ kernel uses internally is not seen). For the pure
path the new parameters and state the step returns count as transient: they are fresh
buffers, where the owner's paths write in place.
"""

from __future__ import annotations

import weakref

import torch
from case_rules import RULES, _owner, _pure, _torch
from params import numel_of
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves

import optimtx as otx


class _LiveBytes(TorchDispatchMode):
    """Counts bytes of storages created by ops inside the mode that are still alive; keeps the peak."""

    def __init__(self) -> None:
        super().__init__()
        self.live = 0
        self.peak = 0
        self.seen: set[int] = set()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        before = {t.untyped_storage().data_ptr() for t in tree_leaves((args, kwargs)) if isinstance(t, torch.Tensor)}
        out = func(*args, **(kwargs or {}))
        for t in tree_leaves(out):
            if not isinstance(t, torch.Tensor) or t.device.type == "meta":
                continue
            storage = t.untyped_storage()
            ptr = storage.data_ptr()
            if ptr in before or ptr in self.seen or ptr == 0:
                continue
            self.seen.add(ptr)
            self.live += storage.nbytes()
            self.peak = max(self.peak, self.live)
            weakref.finalize(t, self._freed, ptr, storage.nbytes())
        return out

    def _freed(self, ptr: int, nbytes: int) -> None:
        if ptr in self.seen:
            self.seen.discard(ptr)
            self.live -= nbytes


def _state_bytes(state: object) -> int:
    return sum(t.numel() * t.element_size() for t in tree_leaves(state) if isinstance(t, torch.Tensor) and t.ndim)


def rule_memory_case(param_set: str, device: torch.device, quick: bool = False) -> dict[str, object]:
    """One row per rule and path: state and transient-peak bytes per parameter value."""
    n = numel_of(param_set)
    rows = []
    for rule in RULES:  # every rule, quick or not (a step each)
        cls_name, kwargs, _, _ = RULES[rule]
        cls = getattr(torch.optim, cls_name)
        factory = getattr(otx, rule)
        variants = {
            f"{rule}: torch {cls_name}(foreach)": _torch(cls, kwargs, param_set, device, fused=False),
            f"{rule}: optimtx TransformOptimizer": _owner(factory, kwargs, param_set, device),
            f"{rule}: optimtx pure eager": _pure(factory, kwargs, param_set, device),
        }
        for name, v in variants.items():
            v.setup()
            v.step()  # torch builds its state lazily
            v.setup()
            mode = _LiveBytes()
            with mode:
                v.step()
            state = _state_of(v)
            rows.append(
                {
                    "name": name,
                    "role": "anchor" if "torch" in name else "optimtx",
                    "value": round(mode.peak / n, 2),
                    "note": f"state {state / n:.2f} B/value; value = transient peak B/value",
                }
            )
    return {
        "case": "T7",
        "title": "bytes per parameter value of one step: transient peak (value) and state (note)",
        "params": param_set,
        "unit": "B",
        "baseline": "",
        "variants": rows,
        "targets": [],
    }


def _state_of(variant: object) -> int:
    """The state bytes behind a variant's step (the closure's optimizer or state box)."""
    step = variant.step  # type: ignore[attr-defined]
    owner = getattr(step, "__self__", None)
    if isinstance(owner, otx.TransformOptimizer):
        return _state_bytes((owner.transform_states, owner.state_dict().get("shared_transform_state")))
    if isinstance(owner, torch.optim.Optimizer):
        return _state_bytes(list(owner.state.values()))
    box = dict(zip(step.__code__.co_freevars, (c.cell_contents for c in step.__closure__ or ()), strict=True))
    return _state_bytes(box["box"]["state"]) if "box" in box else 0
