"""The optimtx tour: one small regression model trained three ways, on the CPU.

1. From a config dict (MMEngine style): AMP (float16 + dynamic loss scaling),
   gradient accumulation, clipping and per-parameter rules, built by
   ``build_optim_wrapper``; ``explain`` shows who got which lr / weight decay.
2. In a hand-written loop: ``AmpOptimWrapper`` around a ``TransformOptimizer`` that
   runs a pure chain, with a torch LR scheduler editing ``group['lr']``.
3. Fully functional with ``torch.func``: the same chain as pure ``init``/``update``.

Run: python examples/quickstart.py
"""

from __future__ import annotations

import torch
from torch import nn
from torch.func import functional_call, grad

import optimtx as otx


def make_data(n: int = 256) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(n, 8, generator=gen)
    y = torch.sin(x @ torch.randn(8, 1, generator=gen))
    return x, y


def make_model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(8, 32), nn.LayerNorm(32), nn.GELU(), nn.Linear(32, 1))


def batches(x: torch.Tensor, y: torch.Tensor, steps: int, size: int = 32):
    for step in range(steps):
        i = (step * size) % len(x)
        yield x[i : i + size], y[i : i + size]


def train_from_config(x, y, steps: int) -> float:
    model = make_model()
    cfg = dict(
        type="AmpOptimWrapper",
        dtype="bfloat16",
        accumulative_counts=2,
        clip_grad=dict(max_norm=1.0),
        optimizer=dict(type="AdamW", lr=1e-2, weight_decay=0.05),
        paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0),
    )
    print(otx.explain(model, cfg))
    wrapper = otx.build_optim_wrapper(model, cfg)
    wrapper.initialize_count_status(model, 0, steps)
    for xb, yb in batches(x, y, steps):
        with wrapper.optim_context(model):
            loss = nn.functional.mse_loss(model(xb).float(), yb)
        wrapper.update_params(loss)
    return nn.functional.mse_loss(model(x), y).item()


def train_with_transform_optimizer(x, y, steps: int) -> float:
    model = make_model()
    tx = otx.chain(otx.clip_by_global_norm(1.0), otx.inject_hyperparams(otx.adamw)(lr=1e-2, weight_decay=0.05))
    optimizer = otx.TransformOptimizer(model.parameters(), tx)
    wrapper = otx.AmpOptimWrapper(optimizer=optimizer)  # float16 autocast + dynamic loss scaling
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps)
    for xb, yb in batches(x, y, steps):
        with wrapper.optim_context(model):
            loss = nn.functional.mse_loss(model(xb).float(), yb)
        wrapper.update_params(loss)
        scheduler.step()
    print(f"  last lr {wrapper.get_lr()['lr'][0]:.2e}, loss scale {wrapper.state_dict()['loss_scaler']['scale']}")
    return nn.functional.mse_loss(model(x), y).item()


def train_functionally(x, y, steps: int) -> float:
    model = make_model()
    params = {k: v.detach() for k, v in model.named_parameters()}

    def loss_fn(p, xb, yb):
        return nn.functional.mse_loss(functional_call(model, p, (xb,)), yb)

    tx = otx.chain(otx.clip_by_global_norm(1.0), otx.adamw(lr=1e-2, weight_decay=0.05))
    state = tx.init(params)
    for xb, yb in batches(x, y, steps):
        updates, state = tx.update(grad(loss_fn)(params, xb, yb), state, params)
        params = otx.apply_updates(params, updates)
    return loss_fn(params, x, y).item()


def main(steps: int = 160) -> dict[str, float]:
    x, y = make_data()
    start = nn.functional.mse_loss(make_model()(x), y).item()
    print(f"initial loss {start:.4f}\n")
    results = {}
    for title, fn in [
        ("1. config dict -> build_optim_wrapper", train_from_config),
        ("2. AmpOptimWrapper + TransformOptimizer + LR scheduler", train_with_transform_optimizer),
        ("3. pure transforms + torch.func", train_functionally),
    ]:
        print(title)
        results[title] = fn(x, y, steps)
        print(f"  final loss {results[title]:.4f}\n")
    return results


if __name__ == "__main__":
    main()
