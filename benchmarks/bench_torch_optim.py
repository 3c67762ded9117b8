"""Time optimtx's torch.optim equivalents (RAdam ... Muon) against the torch classes, and bf16 moments against fp32.

Per transform, on the same float32 CPU tensors, one step of:

- ``optimtx eager``: ``update`` then ``apply_updates`` (pure, every step allocates new tensors);
- ``optimtx compiled``: for the elementwise ones, :func:`optimtx.compile_step` with ``donate=True``
  (update and ``apply_updates`` fused over flat buffers); plain ``torch.compile`` of ``update`` for
  Adafactor (per-tensor norms) and Muon (per-matrix iterations);
- ``torch``: the ``torch.optim`` class with ``foreach=True`` (Muon has no foreach implementation:
  its single-tensor one), stepping in place.

The two timed against each other run alternately in every repeat (see ``bench_core.compare``).
``--state-dtype`` adds the state-memory table: bytes of optimizer state per parameter value and
step time, fp32 against bf16 first moments (``mu_dtype``), for AdamW and SGD with momentum.

Run from the repository root::

    python benchmarks/bench_torch_optim.py --quick
    python benchmarks/bench_torch_optim.py --set resnet50 --no-compile --state-dtype
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path

import torch

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    sys.path.insert(0, str(Path(__file__).resolve().parent))

import optimtx as otx

try:
    from bench_core import compare, make_tree
    from shapes import PARAM_SETS, Shape, numel
except ImportError:  # imported as benchmarks.bench_torch_optim
    from benchmarks.bench_core import compare, make_tree
    from benchmarks.shapes import PARAM_SETS, Shape, numel

MUON_SHAPES: list[Shape] = [(256, 256)] * 6 + [(512, 256), (256, 512)]

# name -> (optimtx factory, torch class, kwargs both take, compile over flat buffers?)
CASES: dict[str, tuple[Callable[..., otx.GradientTransformation], type, dict, bool]] = {
    "radam": (otx.radam, torch.optim.RAdam, dict(lr=1e-3, weight_decay=1e-2), True),
    "nadam": (otx.nadam, torch.optim.NAdam, dict(lr=1e-3, weight_decay=1e-2), True),
    "adadelta": (otx.adadelta, torch.optim.Adadelta, dict(lr=1.0, weight_decay=1e-2), True),
    "adafactor": (otx.adafactor, torch.optim.Adafactor, dict(lr=1e-2, weight_decay=1e-2), False),
    "rprop": (otx.rprop, torch.optim.Rprop, dict(lr=1e-2), True),
    "asgd": (otx.asgd, torch.optim.ASGD, dict(lr=1e-2, weight_decay=1e-2), True),
    "muon": (otx.muon, torch.optim.Muon, dict(lr=2e-2), False),
}


def pure_step(tx: otx.GradientTransformation, shapes: list[Shape]) -> Callable[[], None]:
    """One pure step per call: ``update`` then ``apply_updates``."""
    grads = make_tree(shapes, seed=1, scale=0.01)
    box = {"params": make_tree(shapes, seed=0, scale=0.02)}
    box["state"] = tx.init(box["params"])

    def step() -> None:
        updates, box["state"] = tx.update(grads, box["state"], box["params"])
        box["params"] = otx.apply_updates(box["params"], updates)

    return step


def torch_step(cls: type, kwargs: dict, shapes: list[Shape]) -> Callable[[], None]:
    """One in-place ``opt.step()`` per call (``foreach=True`` where the class has it)."""
    params = [torch.nn.Parameter(p) for p in make_tree(shapes, seed=0, scale=0.02).values()]
    for p, g in zip(params, make_tree(shapes, seed=1, scale=0.01).values(), strict=True):
        p.grad = g
    extra = {} if cls is torch.optim.Muon else {"foreach": True}
    opt = cls(params, **kwargs, **extra)
    return opt.step


def compiled_step(tx: otx.GradientTransformation, flat: bool, shapes: list[Shape]) -> Callable[[], None]:
    """One compiled pure step per call.

    Elementwise transforms: :func:`optimtx.compile_step` with ``donate=True`` (flat parameters and
    state, gradients gathered into one reused buffer, no allocation). Others: ``torch.compile`` of
    ``update`` on the tree, then ``apply_updates``.
    """
    if not flat:
        return pure_step(otx.GradientTransformation(tx.init, torch.compile(tx.update)), shapes)
    fast = otx.compile_step(tx, donate=True)
    grads = make_tree(shapes, seed=1, scale=0.01)
    box = {"params": make_tree(shapes, seed=0, scale=0.02)}
    box["state"] = fast.init(box["params"])
    box["params"] = fast.layout().unflatten(fast.layout().flatten(box["params"]))

    def step() -> None:
        box["params"], box["state"] = fast.step(box["params"], grads, box["state"])

    return step


def bench_case(name: str, shapes: list[Shape], quick: bool, compile_too: bool) -> dict[str, object]:
    factory, cls, kwargs, flat = CASES[name]
    shapes = MUON_SHAPES if name == "muon" else shapes
    repeats, iters = (3, 2) if quick else (7, 3)
    theirs = torch_step(cls, kwargs, shapes)
    row: dict[str, object] = {"name": name, "torch": cls.__name__, "tensors": len(shapes), "values": numel(shapes)}
    eager = compare(pure_step(factory(**kwargs), shapes), theirs, warmup=2, repeats=repeats, iters=iters)
    row.update(eager_ms=eager["optimtx_ms"], torch_ms=eager["torch_ms"], eager_ratio=eager["ratio"])
    if compile_too:
        step = compiled_step(factory(**kwargs), flat, shapes)
        step()  # compile outside the timing
        done = compare(step, theirs, warmup=2, repeats=repeats, iters=iters)
        row.update(compiled_ms=done["optimtx_ms"], compiled_ratio=done["ratio"])
    return row


def format_row(r: dict[str, object]) -> str:
    compiled_part = (
        f"{r['compiled_ms']:.1f} | {r['compiled_ratio']:.2f}" if "compiled_ms" in r else "not run | -"  # type: ignore[str-format]
    )
    return (
        f"| {r['name']} | {r['torch']} | {r['tensors']} | {r['values']:,} | {r['eager_ms']:.1f} | "
        f"{r['torch_ms']:.1f} | {r['eager_ratio']:.2f} | {compiled_part} |"
    )


HEADER = (
    "| transform | torch class | tensors | values | optimtx eager ms | torch ms | eager / torch | "
    "optimtx compiled ms | compiled / torch |\n|---|---|---:|---:|---:|---:|---:|---:|---:|"
)


def state_bytes_per_value(state: object, values: int) -> float:
    """Bytes of every tensor in ``state`` (counters included) per parameter value."""
    from optimtx.state_tree import map_tensors

    sizes: list[int] = []
    map_tensors(lambda t: sizes.append(t.numel() * t.element_size()) or t, state)
    return sum(sizes) / values


def bench_state_dtype(shapes: list[Shape], quick: bool) -> list[str]:
    """Rows of the fp32-vs-bf16-moment table: state bytes per value and eager step time."""
    repeats, iters = (3, 2) if quick else (7, 3)
    rows = []
    for label, make in (
        ("adamw", lambda dtype: otx.adamw(1e-3, mu_dtype=dtype)),
        ("sgd momentum 0.9", lambda dtype: otx.sgd(1e-2, momentum=0.9, mu_dtype=dtype)),
    ):
        fp32, bf16 = make(None), make(torch.bfloat16)
        params = make_tree(shapes, seed=0, scale=0.02)
        sizes = [state_bytes_per_value(tx.init(params), numel(shapes)) for tx in (fp32, bf16)]
        timing = compare(pure_step(bf16, shapes), pure_step(fp32, shapes), warmup=2, repeats=repeats, iters=iters)
        rows.append(
            f"| {label} | {sizes[0]:.2f} | {sizes[1]:.2f} | {timing['torch_ms']:.1f} | {timing['optimtx_ms']:.1f} | "
            f"{timing['ratio']:.2f} |"
        )
    return rows


STATE_HEADER = (
    "| optimizer | fp32 state bytes/value | bf16-mu state bytes/value | fp32 step ms | bf16-mu step ms "
    "| bf16 / fp32 |\n"
    "|---|---:|---:|---:|---:|---:|"
)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats (a smoke run)")
    parser.add_argument("--set", default="resnet50", choices=list(PARAM_SETS))
    parser.add_argument("--cases", nargs="*", default=list(CASES), choices=list(CASES))
    parser.add_argument("--no-compile", action="store_true", help="skip the compiled variant (compiling takes minutes)")
    parser.add_argument("--state-dtype", action="store_true", help="also the fp32 vs bf16 moments table")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, float32, CPU; load average {load}")
    print(f"parameter set {args.set} (Muon: {len(MUON_SHAPES)} matrices, 256-512 wide)\n")
    print(HEADER)
    shapes = PARAM_SETS[args.set]()
    for name in args.cases:
        print(format_row(bench_case(name, shapes, args.quick, not args.no_compile)), flush=True)
    if args.state_dtype:
        print("\n" + STATE_HEADER)
        for row in bench_state_dtype(PARAM_SETS["resnet50"](), args.quick):
            print(row, flush=True)


if __name__ == "__main__":
    main()
