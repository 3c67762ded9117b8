"""Step time and state bytes of 8- and 4-bit AdamW (``quantize_state``) next to torch's AdamW.

For each parameter set, one step is ``tx.update`` + ``apply_updates`` (pure, float32); the
anchor is ``torch.optim.AdamW(foreach=True)``, timed alternately in the same process
(``bench_core.compare``). Bytes per parameter are measured from the state's tensors.

    python benchmarks/bench_low_bit.py --quick            # ResNet-50 shapes, few repeats
    python benchmarks/bench_low_bit.py --sets 4x512x512 4x4M
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

import torch

if __package__ in (None, ""):  # run as a script: time this checkout's optimtx
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import optimtx as otx

try:
    from bench_core import compare, make_tree
    from bench_optimizers import optimtx_step
    from shapes import PARAM_SETS, Shape, numel
except ImportError:  # imported as benchmarks.bench_low_bit
    from benchmarks.bench_core import compare, make_tree
    from benchmarks.bench_optimizers import optimtx_step
    from benchmarks.shapes import PARAM_SETS, Shape, numel

# Besides the suite's sets, a 1M-parameter one that a busy 2-core machine times in a minute.
SETS = {**PARAM_SETS, "4x512x512": lambda: [(512, 512)] * 4}
VARIANTS = {
    "adamw fp32": lambda: otx.adamw(1e-3),
    "adamw 8-bit": lambda: otx.quantize_state(otx.adamw(1e-3), bits=8),
    "adamw 4-bit": lambda: otx.quantize_state(otx.adamw(1e-3), bits=4),
}


def torch_adamw(shapes: list[Shape]) -> Callable[[], None]:
    params = [torch.nn.Parameter(p) for p in make_tree(shapes, seed=0, scale=0.02).values()]
    for p, g in zip(params, make_tree(shapes, seed=1, scale=0.01).values(), strict=True):
        p.grad = g
    return torch.optim.AdamW(params, lr=1e-3, foreach=True).step


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="*", default=["4x512x512", "resnet50"], choices=list(SETS))
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    repeats, iters = (5, 3) if args.quick else (11, 5)
    rows = []
    print("| set | variant | ms/step | torch AdamW ms/step | ratio | state bytes/param |\n|---|---|---|---|---|---|")
    for name in args.sets:
        shapes = SETS[name]()
        for variant, factory in VARIANTS.items():
            tx = factory()
            timing = compare(optimtx_step(tx, shapes, compiled=False), torch_adamw(shapes), 2, repeats, iters)
            # A step keeps the state's structure and sizes, so init's bytes are every step's bytes.
            per_param = otx.state_nbytes(tx.init(make_tree(shapes, seed=0, scale=0.02))) / numel(shapes)
            rows.append(dict(set=name, variant=variant, bytes_per_param=per_param, **timing))
            print(
                f"| {name} | {variant} | {timing['optimtx_ms']:.2f} | {timing['torch_ms']:.2f} | "
                f"{timing['ratio']:.2f} | {per_param:.3f} |",
                flush=True,
            )
    return rows


if __name__ == "__main__":
    main()
