"""``compile_step(adamw, donate=True, in_place=True)`` against torch's fused AdamW on ``mid20``, one thread.

Both run alternately in one process (paired, interleaved medians of 40 steps): ``step`` (which
gathers the per-tensor gradients into the flat buffer) and ``flat_step`` (gradients already
flat). Run from the repository root::

    python benchmarks/check_compile_in_place.py
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import optimtx as otx
from optimtx.compile import compile_step

SHAPES = [(384, 240)] * 20  # benchmarks/params.py's mid20


def paired(ours: Callable[[], None], ref: Callable[[], None], steps: int = 40) -> tuple[float, float, float]:
    """Median ms of ``ref``, of ``ours``, and the median of the per-pair ratios (order alternating)."""
    a, b, r = [], [], []
    for i in range(steps):
        t = {}
        for name, fn in (("ref", ref), ("ours", ours)) if i % 2 == 0 else (("ours", ours), ("ref", ref)):
            start = time.perf_counter()
            fn()
            t[name] = time.perf_counter() - start
        a.append(t["ref"])
        b.append(t["ours"])
        r.append(t["ours"] / t["ref"])
    return statistics.median(a) * 1e3, statistics.median(b) * 1e3, statistics.median(r)


def main() -> None:
    torch.set_num_threads(1)
    torch.manual_seed(0)
    ps = [torch.nn.Parameter(torch.randn(s)) for s in SHAPES]
    for p in ps:
        p.grad = torch.randn_like(p) * 1e-3
    ref = torch.optim.AdamW(ps, lr=1e-3, weight_decay=1e-2, fused=True)
    fast = compile_step(otx.adamw(1e-3, weight_decay=1e-2), donate=True, in_place=True)
    box: dict = {"params": {f"p{i}": torch.randn(s) for i, s in enumerate(SHAPES)}}
    grads = {k: torch.randn_like(v) * 1e-3 for k, v in box["params"].items()}
    start = time.perf_counter()
    box["state"] = fast.init(box["params"])
    box["params"], box["state"] = fast.step(box["params"], grads, box["state"])
    print(f"first step (init + step; nothing compiled): {(time.perf_counter() - start) * 1e3:.0f} ms")

    def tree_step() -> None:
        box["params"], box["state"] = fast.step(box["params"], grads, box["state"])

    flat_grads = fast.layout().flatten(grads)
    box["flat"] = fast.layout().flatten(box["params"])

    def flat_step() -> None:
        box["flat"], box["state"] = fast.flat_step(box["flat"], flat_grads, box["state"])

    for name, fn in (("step (gathers gradients)", tree_step), ("flat_step (flat gradients)", flat_step)):
        for _ in range(5):
            fn()
            ref.step()
        torch_ms, ours_ms, ratio = paired(fn, ref.step)
        print(f"{name}: torch fused AdamW {torch_ms:.2f} ms, ours {ours_ms:.2f} ms, paired ratio {ratio:.3f}")


if __name__ == "__main__":
    main()
