"""Functional training: torch.func.grad over a dict of parameters, a scheduled AdamW, gradient accumulation.

The whole optimizer is one pure value ``tx``; the training state is ``(params, state)``.
Each step takes the gradient of the loss with respect to the parameter dict, turns it
into updates, and adds them. The learning rate follows a warmup + cosine schedule kept
in the optimizer state, and the mean of every two mini-batch gradients makes one update.

Run: python examples/functional_training.py
"""

from __future__ import annotations

import torch
from torch.func import functional_call, grad

import optimtx as otx


def make_problem(seed: int = 0) -> tuple[torch.nn.Module, torch.Tensor, torch.Tensor]:
    """A small MLP and a noisy smooth regression target."""
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(2, 16), torch.nn.Tanh(), torch.nn.Linear(16, 1))
    x = torch.rand(256, 2, generator=gen) * 4 - 2
    y = torch.sin(x[:, :1]) + 0.5 * x[:, 1:] + 0.01 * torch.randn(256, 1, generator=gen)
    return model, x, y


def main(updates_to_make: int = 300, every_k: int = 2, verbose: bool = True) -> list[float]:
    """Train and return the full-batch loss after each applied update."""
    model, x, y = make_problem()

    def loss_fn(params: dict[str, torch.Tensor], xb: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.mse_loss(functional_call(model, params, (xb,)), yb)

    lr = otx.schedules.warmup_cosine_decay(0.0, 0.05, warmup_steps=20, decay_steps=updates_to_make, end_value=1e-3)
    tx = otx.chain(
        otx.clip_by_global_norm(1.0),
        otx.accumulate(otx.inject_hyperparams(otx.adamw)(lr=lr, weight_decay=1e-4), every_k=every_k),
    )
    params = {k: v.detach() for k, v in model.named_parameters()}
    state = tx.init(params)
    losses = []
    batches = torch.arange(len(x)).chunk(every_k)
    for step in range(updates_to_make * every_k):
        idx = batches[step % every_k]
        grads = grad(loss_fn)(params, x[idx], y[idx])
        updates, state = tx.update(grads, state, params)
        params = otx.apply_updates(params, updates)
        if (step + 1) % every_k == 0:
            losses.append(loss_fn(params, x, y).item())
            if verbose and len(losses) % 50 == 0:
                current_lr = otx.get_hyperparams(state)["lr"].item()
                print(f"update {len(losses):4d}  lr {current_lr:.4f}  loss {losses[-1]:.5f}")
    return losses


if __name__ == "__main__":
    main()
