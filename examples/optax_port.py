"""An optax training loop, ported by changing the import: `import optimtx.optax as optax`.

A small MLP fits a noisy sine with `torch.func` (the functional style optax code is written in):
warmup + cosine learning rate, gradient clipping, AdamW without decay on biases, gradients
accumulated over two steps, and a moving average of the gradient norm recorded in the state.

    python examples/optax_port.py --steps 300
"""

from __future__ import annotations

import argparse
import math

import torch

import optimtx.optax as optax


def make_data(n: int = 256, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 1, generator=gen) * 2 * math.pi - math.pi
    return x, torch.sin(x) + 0.05 * torch.randn(n, 1, generator=gen)


def init_params(seed: int = 0) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return {
        "w1": torch.randn(32, 1, generator=gen),
        "b1": torch.zeros(32),
        "w2": torch.randn(1, 32, generator=gen) / math.sqrt(32),
        "b2": torch.zeros(1),
    }


def loss_fn(params: dict[str, torch.Tensor], x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    hidden = torch.tanh(x @ params["w1"].T + params["b1"])
    return ((hidden @ params["w2"].T + params["b2"] - y) ** 2).mean()


def make_optimizer(steps: int) -> optax.MultiSteps:
    schedule = optax.warmup_cosine_decay_schedule(0.0, 3e-2, warmup_steps=steps // 20, decay_steps=steps // 2)
    no_bias_decay = lambda params: {k: not k.startswith("b") for k in params}  # noqa: E731
    tx = optax.chain(
        optax.monitor({"grad_norm": optax.measure_with_ema(optax.global_norm, decay=0.9)}),
        optax.clip_by_global_norm(1.0),
        optax.adamw(schedule, weight_decay=1e-4, mask=no_bias_decay),
    )
    return optax.MultiSteps(tx, every_k_schedule=2)


def main(argv: list[str] | None = None) -> dict[str, object]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=600)
    args = parser.parse_args(argv)
    x, y = make_data()
    params = init_params()
    optimizer = make_optimizer(args.steps)
    state = optimizer.init(params)
    grad_fn = torch.func.grad_and_value(loss_fn)
    losses = []
    for step in range(args.steps):
        grads, loss = grad_fn(params, x, y)
        updates, state = optimizer.update(grads, state, params)
        params = optax.apply_updates(params, updates)
        losses.append(float(loss))
        if step % max(args.steps // 6, 1) == 0:
            print(f"step {step:4d}  loss {losses[-1]:.4f}")
    grad_norm = float(state.inner_state[0].measurements["grad_norm"]["value"])
    print(f"final loss {losses[-1]:.4f}  (smoothed gradient norm {grad_norm:.3f})")
    return {"losses": losses, "params": params, "grad_norm": grad_norm}


if __name__ == "__main__":
    main()
