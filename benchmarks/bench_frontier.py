"""Step time of optimtx's preconditioners next to their reference implementations, in one process.

Not a test (nothing here asserts a speed; ``benchmarks/`` is not collected by pytest). The references live in
``pytorch_optimizer``, which the test environment does not install, so run it with the reference environment's
interpreter and this checkout importable:

    PYTHONPATH=$PWD /work/venv-ref/bin/python benchmarks/bench_frontier.py --threads 1   # CPU, default shapes
    PYTHONPATH=$PWD /work/venv-ref/bin/python benchmarks/bench_frontier.py --device cuda --steps 50

Each row times one step (optimtx: ``update`` + ``apply_updates`` of the pure chain, eager; reference:
``optimizer.step()``), median over ``--steps`` steps after warm-up, the two alternating so that machine load
hits both alike. The hyperparameters are the same on both sides, including refresh periods: optimtx computes
every refresh on every step and keeps it with ``torch.where`` (no host sync), the reference only on refresh
steps, which is most of the difference for SOAP and Shampoo; the ``/1`` rows refresh every step on both sides (the
same work). Also printed: optimtx's state bytes per parameter.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

import torch

import optimtx as otx

SHAPES = {"fc1": (512, 256), "fc1_bias": (512,), "fc2": (256, 512), "conv": (64, 32, 3, 3), "scale": ()}


def _cases() -> list[tuple[str, Callable[[], otx.GradientTransformation], Callable[[list], Any]]]:
    """(name, optimtx factory, reference constructor over a parameter list)."""
    import pytorch_optimizer as po

    soap_kw = dict(lr=3e-3, precondition_frequency=10)
    soap_every = dict(lr=3e-3, precondition_frequency=1)
    shampoo_kw = dict(lr=1e-3, block_size=128, start_preconditioning_step=1, preconditioning_compute_steps=10)
    shampoo_every = {**shampoo_kw, "preconditioning_compute_steps": 1}
    return [
        ("soap", lambda: otx.soap(**soap_kw), lambda ps: po.SOAP(ps, **soap_kw)),
        # The same work on both sides: the reference refreshes every step too.
        ("soap/1", lambda: otx.soap(**soap_every), lambda ps: po.SOAP(ps, **soap_every)),
        ("shampoo", lambda: otx.shampoo(**shampoo_kw), lambda ps: po.ScalableShampoo(ps, use_svd=True, **shampoo_kw)),
        (
            "shampoo/1",
            lambda: otx.shampoo(**shampoo_every),
            lambda ps: po.ScalableShampoo(ps, use_svd=True, **shampoo_every),
        ),
        ("psgd_kron", lambda: otx.psgd_kron(lr=1e-3), lambda ps: po.Kron(ps, lr=1e-3, balance_prob=0.0)),
        ("mars", lambda: otx.mars(lr=3e-3), lambda ps: po.MARS(ps, lr=3e-3)),
    ]


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def bench(name: str, ours_factory: Callable, theirs_factory: Callable, device: torch.device, steps: int) -> dict:
    gen = torch.Generator().manual_seed(0)
    params = {k: torch.randn(s, generator=gen).to(device) for k, s in SHAPES.items()}
    grads = [{k: torch.randn(s, generator=gen).to(device) for k, s in SHAPES.items()} for _ in range(4)]
    tx = ours_factory()
    state = tx.init(params)
    ps = [torch.nn.Parameter(p.clone()) for p in params.values()]
    opt = theirs_factory(ps)
    ours_t, theirs_t = [], []
    for i in range(steps + 3):
        g = grads[i % len(grads)]
        _sync(device)
        t0 = time.perf_counter()
        updates, state = tx.update(g, state, params)
        params = otx.apply_updates(params, updates)
        _sync(device)
        t1 = time.perf_counter()
        for p, gi in zip(ps, g.values(), strict=True):
            p.grad = gi
        _sync(device)
        t2 = time.perf_counter()
        opt.step()
        _sync(device)
        t3 = time.perf_counter()
        if i >= 3:  # warm-up: the references build their state on the first step
            ours_t.append(t1 - t0)
            theirs_t.append(t3 - t2)
    n = sum(p.numel() for p in params.values())
    ours_ms, theirs_ms = statistics.median(ours_t) * 1e3, statistics.median(theirs_t) * 1e3
    return dict(
        name=name, ours_ms=ours_ms, theirs_ms=theirs_ms, ratio=ours_ms / theirs_ms, bytes_per_param=_bytes(state) / n
    )


def _bytes(state: Any) -> int:
    from optimtx.core.state_tree import iter_nodes

    return sum(t.numel() * t.element_size() for t in iter_nodes(state) if isinstance(t, torch.Tensor))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--only", default="", help="comma-separated subset, e.g. soap,mars")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    wanted = set(filter(None, args.only.split(",")))
    n = sum(torch.Size(s).numel() for s in SHAPES.values())
    print(f"device={device} torch={torch.__version__} threads={torch.get_num_threads()} params={n:,} shapes={SHAPES}")
    print(f"{'optimizer':<10} {'optimtx ms':>11} {'reference ms':>13} {'ratio':>7} {'state B/param':>14}")
    for name, ours, theirs in _cases():
        if wanted and name not in wanted:
            continue
        row = bench(name, ours, theirs, device, args.steps)
        print(
            f"{row['name']:<10} {row['ours_ms']:>11.2f} {row['theirs_ms']:>13.2f} {row['ratio']:>7.2f} "
            f"{row['bytes_per_param']:>14.1f}"
        )


if __name__ == "__main__":
    main()
