"""Pure torch.func training on the digits: the whole optimizer is one chain built in code.

    python examples/functional_digits.py

    tx = scale_by_amp(                      # dynamic loss scaling: unscale, skip non-finite steps
        accumulate(                         # two micro-batches make one update
            chain(clip_by_global_norm(5.0), # clip the accumulated mean
                  inject_hyperparams(adamw)(lr=warmup + cosine schedule, weight_decay=0.05))),
        every_k=2))

No module holds the weights: ``params`` is a dict, ``state`` a NamedTuple tree, and each
step is ``grads -> tx.update -> apply_updates``. Forward runs under bfloat16 autocast on the
CPU and float16 on CUDA (where the loss scale matters).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
from torch import Tensor, nn
from torch.func import functional_call, grad_and_value

sys.path.insert(0, str(Path(__file__).resolve().parent))
from digits_common import epoch_batches, load_digits_tensors

import optimtx as otx


def make_model(width: int = 32) -> nn.Module:
    """A batch-norm-free CNN (torch.func and running statistics do not mix without extra plumbing)."""
    return nn.Sequential(
        nn.Conv2d(1, width, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(width, 2 * width, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(2 * width * 16, 10),
    )


def build_tx(total_updates: int, every_k: int = 2) -> otx.GradientTransformation:
    lr = otx.schedules.warmup_cosine_decay(
        1e-4, 3e-3, warmup_steps=max(1, total_updates // 10), decay_steps=total_updates, end_value=1e-5
    )
    inner = otx.chain(otx.clip_by_global_norm(5.0), otx.inject_hyperparams(otx.adamw)(lr=lr, weight_decay=0.05))
    return otx.scale_by_amp(otx.accumulate(inner, every_k=every_k), init_scale=2.0**12)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args(argv)
    device, every_k = args.device, 2
    dtype = torch.float16 if device.startswith("cuda") else torch.bfloat16
    x_train, y_train, x_test, y_test = (t.to(device) for t in load_digits_tensors())
    torch.manual_seed(args.seed)
    model = make_model().to(device)
    params = {k: v.detach() for k, v in model.named_parameters()}
    n_batches = (len(y_train) // args.batch_size) // every_k * every_k
    tx = build_tx(args.epochs * n_batches // every_k, every_k)
    state = tx.init(params)

    def scaled_loss(p: dict[str, Tensor], xb: Tensor, yb: Tensor, loss_scale: Tensor) -> Tensor:
        with torch.autocast(device_type=device.split(":")[0], dtype=dtype):
            logits = functional_call(model, p, (xb,))
        return nn.functional.cross_entropy(logits.float(), yb) * loss_scale

    step_fn = grad_and_value(scaled_loss)
    losses = []
    for epoch in range(args.epochs):
        epoch_losses = []
        for idx in epoch_batches(len(y_train), args.batch_size, args.seed, epoch)[:n_batches]:
            scale = otx.current_loss_scale(state)
            grads, loss = step_fn(params, x_train[idx], y_train[idx], scale)
            updates, state = tx.update(grads, state, params)  # pure: nothing above is mutated
            params = otx.apply_updates(params, updates)
            epoch_losses.append(loss / scale)
        losses.append(float(torch.stack(epoch_losses).mean()))
        with torch.no_grad():
            acc = float((functional_call(model, params, (x_test,)).argmax(1) == y_test).float().mean())
        lr = float(otx.get_hyperparams(state)["lr"])
        print(f"epoch {epoch + 1}  loss {losses[-1]:.4f}  test acc {acc:.3f}  lr {lr:.2e}  loss scale {float(scale):g}")
    print(f"test accuracy: {acc:.3f}")
    return {"losses": losses, "accuracy": acc, "params": params, "state": state}


if __name__ == "__main__":
    main()
