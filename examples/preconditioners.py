"""SOAP, Shampoo, PSGD-Kron and MARS next to AdamW on an ill-conditioned regression, through configs.

Each optimizer is built from a config dict (``dict(type="soap", ...)``, the ``TRANSFORMS`` registry) inside a
``TransformOptimizer``, with clipping chained in front, and trains the same small two-layer model on inputs
whose feature scales span a factor of 100. It prints each one's loss and time per step; the learning rates are
reasonable defaults, not tuned, so the ranking says little about larger problems (see docs/preconditioners.md).

    python examples/preconditioners.py --steps 200
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import torch
from torch import nn

import optimtx as otx

CONFIGS: dict[str, dict[str, Any]] = {
    "adamw": dict(type="adamw", lr=1e-2),
    "soap": dict(type="soap", lr=1e-2, precondition_frequency=10, weight_decay=0.0),
    "shampoo": dict(
        type="shampoo", lr=3e-2, block_size=64, start_preconditioning_step=5, preconditioning_compute_steps=5
    ),
    "psgd_kron": dict(type="psgd_kron", lr=3e-3),
    "mars": dict(type="mars", lr=1e-2, lr_1d=1e-2),
}


def _data(n: int = 256, d: int = 16) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    scales = torch.logspace(0, 2, d)  # feature scales 1 .. 100
    x = torch.randn(n, d, generator=gen) * scales
    w = torch.randn(d, 4, generator=gen) / scales[:, None]
    return x, torch.tanh(x @ w) + 0.01 * torch.randn(n, 4, generator=gen)


def train(name: str, steps: int) -> dict[str, float]:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(16, 32), nn.Tanh(), nn.Linear(32, 4))
    transform = otx.chain(otx.clip_by_global_norm(1.0), otx.TRANSFORMS.build(CONFIGS[name]))
    optimizer = otx.TransformOptimizer(model.parameters(), transform)
    x, y = _data()
    start = time.perf_counter()
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = (model(x) - y).pow(2).mean()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return dict(first=losses[0], last=losses[-1], ms_per_step=(time.perf_counter() - start) / steps * 1e3)


def main(argv: list[str] | None = None) -> dict[str, dict[str, float]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    args = parser.parse_args(argv)
    results = {name: train(name, args.steps) for name in CONFIGS}
    for name, r in results.items():
        print(f"{name:<10} loss {r['first']:.4f} -> {r['last']:.4f}   {r['ms_per_step']:.2f} ms/step")
    return results


if __name__ == "__main__":
    main()
