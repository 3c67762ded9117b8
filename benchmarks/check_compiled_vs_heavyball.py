"""Compiled AdamW over flat buffers (``compile_step``) against heavyball's compiled AdamW and torch's fused AdamW.

One run, one process, one thread, ``mid20``: cold time (first step, compiling) and warm time (the
first step of a second, identical optimizer, with the compile caches warm), then the steady
step, paired and interleaved with torch's fused AdamW. Then the size of ``compile_step``'s graph
(FX nodes, recorded by a counting backend) for 4 and for 1,000 tensors. heavyball is a
benchmark-only dependency; without it its rows are skipped, saying so. Run from the repository
root with the reference environment::

    PYTHONPATH=$PWD /work/venv-ref/bin/python benchmarks/check_compiled_vs_heavyball.py
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
HYPER = {"lr": 1e-3, "weight_decay": 1e-2}


def _params(shapes: list[tuple[int, ...]]) -> list[torch.nn.Parameter]:
    ps = [torch.nn.Parameter(torch.randn(s)) for s in shapes]
    for p in ps:
        p.grad = torch.randn_like(p) * 1e-3
    return ps


def _optimtx() -> Callable[[], None]:
    fast = compile_step(otx.adamw(HYPER["lr"], weight_decay=HYPER["weight_decay"]), donate=True)
    box: dict = {"params": {f"p{i}": torch.randn(s) for i, s in enumerate(SHAPES)}}
    grads = {k: torch.randn_like(v) * 1e-3 for k, v in box["params"].items()}
    box["state"] = fast.init(box["params"])

    def step() -> None:
        box["params"], box["state"] = fast.step(box["params"], grads, box["state"])

    return step


def _heavyball() -> Callable[[], None] | None:
    try:
        import heavyball
    except ImportError:
        return None
    ps = _params(SHAPES)
    grads = [p.grad for p in ps]
    opt = heavyball.AdamW(ps, lr=HYPER["lr"], betas=(0.9, 0.999), weight_decay=HYPER["weight_decay"])

    def step() -> None:  # heavyball consumes the gradients: hand them back (references, no copy)
        for p, g in zip(ps, grads, strict=True):
            p.grad = g
        opt.step()

    return step


def _timed(make: Callable[[], Callable[[], None] | None]) -> tuple[Callable[[], None] | None, float, float]:
    """A step function after its cold first step, the cold and the warm first-step seconds."""
    first = make()
    if first is None:
        return None, float("nan"), float("nan")
    start = time.perf_counter()
    first()
    cold = time.perf_counter() - start
    second = make()
    assert second is not None
    start = time.perf_counter()
    second()
    return second, cold, time.perf_counter() - start


def _paired(ours: Callable[[], None], ref: Callable[[], None], steps: int = 30) -> tuple[float, float]:
    a, r = [], []
    for i in range(steps):
        t = {}
        for name, fn in (("ref", ref), ("ours", ours)) if i % 2 == 0 else (("ours", ours), ("ref", ref)):
            start = time.perf_counter()
            fn()
            t[name] = time.perf_counter() - start
        a.append(t["ours"])
        r.append(t["ours"] / t["ref"])
    return statistics.median(a) * 1e3, statistics.median(r)


def graph_nodes(n_tensors: int) -> int:
    """FX nodes in ``compile_step``'s graph for ``n_tensors`` parameters (one dtype: one flat buffer)."""
    counts: list[int] = []

    def counting(gm: torch.fx.GraphModule, example_inputs: list) -> Callable:
        counts.append(len(gm.graph.nodes))
        return gm.forward

    fast = compile_step(otx.adamw(1e-3, weight_decay=1e-2), donate=True, backend=counting)
    params = {f"p{i}": torch.randn(8) for i in range(n_tensors)}
    fast.step(params, {k: torch.ones(8) for k in params}, fast.init(params))
    return sum(counts)


def main() -> None:
    torch.set_num_threads(1)
    torch.manual_seed(0)
    ref = torch.optim.AdamW(_params(SHAPES), **HYPER, fused=True)
    ref.step()
    for name, make in (("optimtx compile_step(donate=True)", _optimtx), ("heavyball AdamW (compiled)", _heavyball)):
        step, cold, warm = _timed(make)
        if step is None:
            print(f"{name}: skipped, heavyball is not installed (run with /work/venv-ref/bin/python)")
            continue
        for _ in range(3):
            step()
        ms, ratio = _paired(step, ref.step)
        print(f"{name}: cold first step {cold:.1f} s, warm {warm:.2f} s; step {ms:.2f} ms, x{ratio:.2f} torch fused")
    print(f"compile_step graph: {graph_nodes(4)} FX nodes for 4 tensors, {graph_nodes(1000)} for 1,000")


if __name__ == "__main__":
    main()
