"""Quickstart: fit a tiny linear regression with a pure optimtx chain and torch.func.

Run: python examples/quickstart.py
"""

from __future__ import annotations

import torch
from torch.func import functional_call, grad

import optimtx as otx


def main(steps: int = 200) -> float:
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 1)
    x = torch.randn(256, 3)
    y = x @ torch.tensor([[1.5], [-2.0], [0.5]]) + 0.3

    def loss_fn(params, x, y):
        return torch.nn.functional.mse_loss(functional_call(model, params, (x,)), y)

    params = {k: v.detach() for k, v in model.named_parameters()}
    tx = otx.chain(otx.clip_by_global_norm(1.0), otx.scale(-0.1))
    state = tx.init(params)
    for step in range(steps):
        grads = grad(loss_fn)(params, x, y)
        updates, state = tx.update(grads, state, params)
        params = otx.apply_updates(params, updates)
        if step % 50 == 0:
            print(f"step {step:4d}  loss {loss_fn(params, x, y).item():.5f}")
    final = loss_fn(params, x, y).item()
    print(f"final loss {final:.6f}")
    return final


if __name__ == "__main__":
    main()
