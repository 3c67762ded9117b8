"""Time each optax-style optimizer's pure step (eager and compiled) next to its nearest torch anchor.

For every transform below, one step is ``tx.update`` + ``apply_updates`` on float32 tensors;
the anchor is the closest in-place torch code (a ``foreach=True`` class, or the reference
package where one exists), timed alternately in the same process (see ``bench_core.compare``).
The ratio is optimtx / anchor: below 1 means optimtx is faster.

Anchors that compute the same thing: ``ema_params`` (AdamW + ``AveragedModel`` with
``get_ema_multi_avg_fn``), ``schedule_free_*`` (the ``schedulefree`` package's fast classes,
when installed), ``clip_by_norm(per_tensor=True)`` (``clip_grad_norm_`` per tensor + SGD).
Others (LAMB, LARS, lookahead, AGC, zero_nans, centralize) have no torch class; their row
shows the plain optimizer they extend, so the ratio is the price of the extra work.

Run from the repository root::

    python benchmarks/bench_optimizers.py --quick               # eager, ResNet-50 shapes
    python benchmarks/bench_optimizers.py --quick --compile     # also torch.compile'd steps (slow to build)
    python benchmarks/bench_optimizers.py --only lamb,lars --sets many_small
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
from collections.abc import Callable
from pathlib import Path

import torch

if __package__ in (None, ""):  # run as a script: time this checkout's optimtx
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import optimtx as otx

try:
    from bench_core import compare, make_tree
    from shapes import PARAM_SETS, Shape, numel
except ImportError:  # imported as benchmarks.bench_optimizers
    from benchmarks.bench_core import compare, make_tree
    from benchmarks.shapes import PARAM_SETS, Shape, numel

Step = Callable[[], None]
HAS_SCHEDULEFREE = importlib.util.find_spec("schedulefree") is not None


def _torch_params(shapes: list[Shape]) -> list[torch.nn.Parameter]:
    params = [torch.nn.Parameter(p) for p in make_tree(shapes, seed=0, scale=0.02).values()]
    for p, g in zip(params, make_tree(shapes, seed=1, scale=0.01).values(), strict=True):
        p.grad = g
    return params


def _torch_optimizer(cls: type, **kwargs: object) -> Callable[[list[Shape]], Step]:
    def build(shapes: list[Shape]) -> Step:
        opt = cls(_torch_params(shapes), foreach=True, **kwargs)
        return lambda: opt.step()

    return build


def _ema_anchor(shapes: list[Shape]) -> Step:
    from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

    params = _torch_params(shapes)
    module = torch.nn.ParameterList(params)
    ema = AveragedModel(module, multi_avg_fn=get_ema_multi_avg_fn(0.999), use_buffers=False)
    opt = torch.optim.AdamW(params, lr=1e-3, foreach=True)

    def step() -> None:
        opt.step()
        ema.update_parameters(module)

    return step


def _per_tensor_clip_anchor(shapes: list[Shape]) -> Step:
    params = _torch_params(shapes)
    opt = torch.optim.SGD(params, lr=0.1, foreach=True)

    def step() -> None:
        for p in params:
            torch.nn.utils.clip_grad_norm_([p], 1.0)
        opt.step()

    return step


def _schedulefree_anchor(name: str, fallback: Callable[[list[Shape]], Step], **kwargs: object):
    def build(shapes: list[Shape]) -> Step:
        if not HAS_SCHEDULEFREE:
            return fallback(shapes)
        import schedulefree

        opt = getattr(schedulefree, name)(_torch_params(shapes), **kwargs)
        opt.train()
        return lambda: opt.step()

    return build


# name -> (optimtx transform, anchor builder, anchor label)
CASES: dict[str, tuple[Callable[[], otx.GradientTransformation], Callable[[list[Shape]], Step], str]] = {
    # Baselines: the plain optimizers the others extend, against the torch class they equal.
    "sgd(momentum) baseline": (
        lambda: otx.sgd(0.1, momentum=0.9),
        _torch_optimizer(torch.optim.SGD, lr=0.1, momentum=0.9),
        "SGD(momentum) foreach",
    ),
    "adam baseline": (lambda: otx.adam(1e-3), _torch_optimizer(torch.optim.Adam, lr=1e-3), "Adam foreach"),
    "adamw baseline": (lambda: otx.adamw(1e-3), _torch_optimizer(torch.optim.AdamW, lr=1e-3), "AdamW foreach"),
    "lamb": (lambda: otx.lamb(1e-3, weight_decay=1e-2), _torch_optimizer(torch.optim.AdamW, lr=1e-3), "AdamW foreach"),
    "lars": (lambda: otx.lars(0.1), _torch_optimizer(torch.optim.SGD, lr=0.1, momentum=0.9), "SGD(momentum) foreach"),
    "lookahead(adam)": (
        lambda: otx.lookahead(otx.adam(1e-3), 5, 0.5),
        _torch_optimizer(torch.optim.Adam, lr=1e-3),
        "Adam foreach",
    ),
    "agc+sgd": (
        lambda: otx.chain(otx.adaptive_grad_clip(0.01), otx.sgd(0.1, momentum=0.9)),
        _torch_optimizer(torch.optim.SGD, lr=0.1, momentum=0.9),
        "SGD(momentum) foreach",
    ),
    "zero_nans+centralize+sgd": (
        lambda: otx.chain(otx.zero_nans(), otx.centralize(), otx.sgd(0.1, momentum=0.9)),
        _torch_optimizer(torch.optim.SGD, lr=0.1, momentum=0.9),
        "SGD(momentum) foreach",
    ),
    "clip_by_norm(per_tensor)+sgd": (
        lambda: otx.chain(otx.clip_by_norm(1.0, per_tensor=True), otx.sgd(0.1)),
        _per_tensor_clip_anchor,
        "clip_grad_norm_ per tensor + SGD foreach",
    ),
    "schedule_free_adamw": (
        lambda: otx.schedule_free_adamw(2.5e-3),
        _schedulefree_anchor("AdamWScheduleFree", _torch_optimizer(torch.optim.AdamW, lr=2.5e-3), lr=2.5e-3),
        "schedulefree.AdamWScheduleFree" if HAS_SCHEDULEFREE else "AdamW foreach",
    ),
    "schedule_free_sgd": (
        lambda: otx.schedule_free_sgd(1.0),
        _schedulefree_anchor(
            "SGDScheduleFree", _torch_optimizer(torch.optim.SGD, lr=1.0, momentum=0.9), lr=1.0, foreach=True
        ),
        "schedulefree.SGDScheduleFree" if HAS_SCHEDULEFREE else "SGD(momentum) foreach",
    ),
    "adamw+ema_params": (
        lambda: otx.chain(otx.adamw(1e-3), otx.ema_params(0.999)),
        _ema_anchor,
        "AdamW foreach + AveragedModel(ema)",
    ),
}


def optimtx_step(tx: otx.GradientTransformation, shapes: list[Shape], compiled: bool) -> Step:
    """One pure step per call (update + apply_updates), optionally through ``torch.compile``."""
    grads = make_tree(shapes, seed=1, scale=0.01)
    box = {"params": make_tree(shapes, seed=0, scale=0.02)}
    box["state"] = tx.init(box["params"])

    def pure(grads, state, params):
        updates, state = tx.update(grads, state, params)
        return otx.apply_updates(params, updates), state

    if compiled:
        torch._dynamo.reset()  # every case compiles the same ``pure`` code: start each from a clean cache
    fn = torch.compile(pure) if compiled else pure

    def step() -> None:
        box["params"], box["state"] = fn(grads, box["state"], box["params"])

    return step


def bench(name: str, set_name: str, quick: bool, compiled: bool) -> dict[str, object]:
    factory, anchor, label = CASES[name]
    shapes = PARAM_SETS[set_name]()
    repeats, iters = (3, 3) if quick else (9, 5)
    timings = compare(optimtx_step(factory(), shapes, compiled), anchor(shapes), 2, repeats, iters)
    mode = "compiled" if compiled else "eager"
    return {"case": name, "mode": mode, "set": set_name, "values": numel(shapes), "anchor": label, **timings}


def main(argv: list[str] | None = None) -> list[dict[str, object]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 repeats x 3 steps")
    parser.add_argument("--compile", action="store_true", help="also time torch.compile'd optimtx steps")
    parser.add_argument("--sets", nargs="*", default=["resnet50"], choices=list(PARAM_SETS))
    parser.add_argument("--only", default="", help="comma-separated case names (default: all)")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    names = [n for n in CASES if not args.only or n in args.only.split(",")]
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, float32, CPU; load average {load}")
    print("| case | mode | set | optimtx median (min) ms | anchor | anchor median (min) ms | optimtx / anchor |")
    print("|---|---|---|---:|---|---:|---:|")
    rows = []
    for set_name in args.sets:
        for name in names:
            for compiled in (False, True) if args.compile else (False,):
                r = bench(name, set_name, args.quick, compiled)
                rows.append(r)
                print(
                    f"| {r['case']} | {r['mode']} | {r['set']} | {r['optimtx_ms']:.1f} ({r['optimtx_min_ms']:.1f}) | "
                    f"{r['anchor']} | {r['torch_ms']:.1f} ({r['torch_min_ms']:.1f}) | {r['ratio']:.2f} |",
                    flush=True,
                )
    return rows


if __name__ == "__main__":
    main()
