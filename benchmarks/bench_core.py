"""Time the pure eager path against torch's in-place optimizer on the same gradients.

optimtx: ``chain(clip_by_global_norm(1.0), adamw(1e-3))``; per iteration ``update`` then
``apply_updates`` (init once, before timing). torch: ``clip_grad_norm_(foreach=True)`` then
``AdamW(foreach=True).step()``. Both run in this process on float32 CPU tensors, and the
ratio is taken between numbers measured in the same run.

Run from the repository root::

    python benchmarks/bench_core.py            # full
    python benchmarks/bench_core.py --quick    # fewer repeats
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch

if __package__ in (None, ""):  # run as a script: time this checkout's optimtx, not an installed copy
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import optimtx as otx

try:
    from shapes import PARAM_SETS, Shape, numel
except ImportError:  # imported as benchmarks.bench_core
    from benchmarks.shapes import PARAM_SETS, Shape, numel


def make_tree(shapes: list[Shape], seed: int, scale: float) -> dict[str, torch.Tensor]:
    """Random float32 tensors with the given shapes, keyed ``p0, p1, ...``."""
    gen = torch.Generator().manual_seed(seed)
    return {f"p{i}": torch.randn(s, generator=gen) * scale for i, s in enumerate(shapes)}


def time_steps(step: Callable[[], None], iters: int) -> float:
    """Mean seconds of one ``step()`` over ``iters`` calls."""
    start = time.perf_counter()
    for _ in range(iters):
        step()
    return (time.perf_counter() - start) / iters


def compare(
    ours: Callable[[], None], theirs: Callable[[], None], warmup: int, repeats: int, iters: int
) -> dict[str, float]:
    """Seconds per step of ``ours`` and ``theirs``: medians, minima, and the median per-repeat ratio.

    The two are timed alternately in every repeat, so load from other processes hits both
    alike; the minima are the least disturbed repeats, worth reading on a busy machine.
    """
    for _ in range(warmup):
        ours()
        theirs()
    pairs = [(time_steps(ours, iters), time_steps(theirs, iters)) for _ in range(repeats)]
    return {
        "optimtx_ms": statistics.median(a for a, _ in pairs) * 1e3,
        "torch_ms": statistics.median(b for _, b in pairs) * 1e3,
        "optimtx_min_ms": min(a for a, _ in pairs) * 1e3,
        "torch_min_ms": min(b for _, b in pairs) * 1e3,
        "ratio": statistics.median(a / b for a, b in pairs),
    }


def optimtx_step(shapes: list[Shape]) -> Callable[[], None]:
    """One pure step per call: clip + AdamW through ``update`` and ``apply_updates``."""
    tx = otx.chain(otx.clip_by_global_norm(1.0), otx.adamw(1e-3))
    grads = make_tree(shapes, seed=1, scale=0.01)
    box = {"params": make_tree(shapes, seed=0, scale=0.02)}
    box["state"] = tx.init(box["params"])

    def step() -> None:
        updates, box["state"] = tx.update(grads, box["state"], box["params"])
        box["params"] = otx.apply_updates(box["params"], updates)

    return step


def torch_step(shapes: list[Shape]) -> Callable[[], None]:
    """One in-place step per call: ``clip_grad_norm_`` + ``AdamW(foreach=True)``."""
    params = [torch.nn.Parameter(p) for p in make_tree(shapes, seed=0, scale=0.02).values()]
    for p, g in zip(params, make_tree(shapes, seed=1, scale=0.01).values(), strict=True):
        p.grad = g
    opt = torch.optim.AdamW(params, lr=1e-3, foreach=True)

    def step() -> None:
        torch.nn.utils.clip_grad_norm_(params, 1.0, foreach=True)
        opt.step()

    return step


def bench_set(name: str, quick: bool = False) -> dict[str, float | int | str]:
    """Time both paths on parameter set ``name`` (ms per step, see :func:`compare`)."""
    shapes = PARAM_SETS[name]()
    repeats, iters = (3, 3) if quick else (9, 5)
    timings = compare(optimtx_step(shapes), torch_step(shapes), warmup=2, repeats=repeats, iters=iters)
    return {"set": name, "tensors": len(shapes), "values": numel(shapes), **timings}


TABLE_HEADER = (
    "| parameter set | tensors | values | optimtx median (min) ms | torch median (min) ms | optimtx / torch |\n"
    "|---|---:|---:|---:|---:|---:|"
)


def format_row(r: dict[str, float | int | str]) -> str:
    """One Markdown table row of a :func:`bench_set` result."""
    return (
        f"| {r['set']} | {r['tensors']} | {r['values']:,} | {r['optimtx_ms']:.1f} ({r['optimtx_min_ms']:.1f}) | "
        f"{r['torch_ms']:.1f} ({r['torch_min_ms']:.1f}) | {r['ratio']:.2f} |"
    )


def main(argv: list[str] | None = None) -> list[dict[str, float | int | str]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats (a smoke run)")
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    parser.add_argument("--sets", nargs="*", default=list(PARAM_SETS), choices=list(PARAM_SETS))
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, float32, CPU; load average {load}")
    print(TABLE_HEADER)
    rows = []
    for name in args.sets:  # print each row as soon as it is measured
        rows.append(bench_set(name, quick=args.quick))
        print(format_row(rows[-1]), flush=True)
    return rows


if __name__ == "__main__":
    main()
