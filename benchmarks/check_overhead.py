"""Eager cost of the tree-matching check: ``chain(clip, adamw)`` + ``apply_updates``, check on vs patched out.

Both variants run alternately in one process on the same tensors; the figure is the median
ratio of seven repeats. Run from the repository root::

    python benchmarks/check_overhead.py resnet50 1000x4096
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from shapes import PARAM_SETS

import optimtx as otx
import optimtx.core.base as base
import optimtx.core.tree as tree
import optimtx.transforms._fused_adamw as fused
import optimtx.transforms.clipping as clipping

MODULES = (base, fused, clipping)
CHECKS = {"matched_leaves": tree.matched_leaves, "check_leaves": tree.check_leaves}
NO_CHECKS = {
    "matched_leaves": lambda t, ref, what="updates", *, keep_dtype=False: list(t.values()),
    "check_leaves": lambda t, what="updates": list(t.values()),
}


def use(functions: dict) -> None:
    """Point the modules on the benchmarked path at ``functions``."""
    for module in MODULES:
        for name, fn in functions.items():
            if hasattr(module, name):
                setattr(module, name, fn)


def seconds(tx, grads, state, params, iters: int = 3) -> float:
    start = time.perf_counter()
    for _ in range(iters):
        updates, _ = tx.update(grads, state, params)
        otx.apply_updates(params, updates)
    return time.perf_counter() - start


def overhead(name: str) -> float:
    params = {f"p{i}": torch.randn(s) for i, s in enumerate(PARAM_SETS[name]())}
    grads = {k: torch.randn_like(v) for k, v in params.items()}
    tx = otx.chain(otx.clip_by_global_norm(1.0), otx.adamw(1e-3))
    state = tx.init(params)
    ratios = []
    for _ in range(7):
        use(CHECKS)
        checked = seconds(tx, grads, state, params)
        use(NO_CHECKS)
        unchecked = seconds(tx, grads, state, params)
        ratios.append(checked / unchecked)
    use(CHECKS)
    return statistics.median(ratios)


if __name__ == "__main__":
    for set_name in sys.argv[1:] or ["resnet50", "1000x4096"]:
        print(f"{set_name}: with check / without = {overhead(set_name):.3f}")
