"""Compiled functional training: one flat buffer of parameters, one compiled kernel per step.

``compile_step`` compiles ``update`` + ``apply_updates`` of a pure transform over flat
per-dtype buffers. Here the loss is written as a function of that flat buffer, so
``torch.func.grad`` returns the gradient already flat and ``flat_step`` updates the buffer
without gathering or copying anything. The first step compiles (a few seconds); the
others run the compiled kernel.

Run: python examples/compiled_training.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch
from torch.func import functional_call, grad

import optimtx as otx
from optimtx.compile import compile_step

sys.path.insert(0, str(Path(__file__).resolve().parent))
from functional_training import make_problem


def main(steps: int = 200, backend: str = "inductor", verbose: bool = True) -> list[float]:
    """Train with a compiled clip + AdamW step and return the loss after every step."""
    model, x, y = make_problem()
    fast = compile_step(
        otx.chain(otx.clip_by_global_norm(1.0), otx.adamw(0.02, weight_decay=1e-4)), donate=True, backend=backend
    )
    params = {k: v.detach().clone() for k, v in model.named_parameters()}
    state = fast.init(params)
    layout = fast.layout()
    flat = layout.flatten(params)  # {"float32@cpu": one buffer}; copied once, here

    def flat_loss(flat: dict[str, torch.Tensor]) -> torch.Tensor:
        return torch.nn.functional.mse_loss(functional_call(model, layout.unflatten(flat), (x,)), y)

    losses = []
    for step in range(steps):
        flat, state = fast.flat_step(flat, grad(flat_loss)(flat), state)
        losses.append(flat_loss(flat).item())
        if verbose and (step + 1) % 50 == 0:
            print(f"step {step + 1:4d}  loss {losses[-1]:.5f}")
    return losses


if __name__ == "__main__":
    main()
