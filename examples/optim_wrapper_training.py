"""Train a small classifier with AmpOptimWrapper on the CPU: float16 autocast, dynamic loss
scaling, gradient accumulation over 4 micro-batches, and clipping by global norm.

Run: python examples/optim_wrapper_training.py
"""

from __future__ import annotations

import torch
from torch import nn

import optimtx as otx


def make_data(n: int = 512) -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.randn(n, 8)
    y = (x[:, :4].sum(dim=1) > 0).long()
    return x, y


def main(epochs: int = 4, micro_batch: int = 16, verbose: bool = True) -> float:
    torch.manual_seed(0)
    x, y = make_data()
    model = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 2))
    wrapper = otx.AmpOptimWrapper(
        # A smaller first scale than GradScaler's 65536: the first steps would overflow anyway.
        loss_scale=dict(init_scale=1024.0, growth_interval=10),
        dtype="float16",
        optimizer=torch.optim.AdamW(model.parameters(), lr=3e-3),
        accumulative_counts=4,
        clip_grad=dict(max_norm=1.0),
    )
    batches = x.shape[0] // micro_batch
    wrapper.initialize_count_status(model, 0, epochs * batches)
    skipped = torch.zeros((), dtype=torch.int64)  # counted on the device: no host read per step
    for epoch in range(epochs):
        for i in range(batches):
            xb, yb = x[i * micro_batch : (i + 1) * micro_batch], y[i * micro_batch : (i + 1) * micro_batch]
            with wrapper.optim_context(model):
                logits = model(xb)
            wrapper.update_params(nn.functional.cross_entropy(logits.float(), yb))
            if wrapper.should_update():  # a real step happened: last_step describes it
                skipped += (~wrapper.last_step.applied).long()
        with torch.no_grad():
            accuracy = (model(x).argmax(dim=1) == y).float().mean().item()
        if verbose:
            print(
                f"epoch {epoch}: accuracy {accuracy:.3f}, loss scale {wrapper.loss_scaler.get_scale():g}, "
                f"grad norm {float(wrapper.last_step.grad_norm):.3f}, skipped steps so far {int(skipped)}"
            )
    return accuracy


if __name__ == "__main__":
    main()
