"""Train a small CNN on scikit-learn's 8x8 digits from an MMEngine-style config (the README's "run" command).

    python examples/train_digits.py                       # default config: examples/configs/digits.py
    python examples/train_digits.py --compare             # also a hand-written torch loop, side by side
    python examples/train_digits.py --resume work_dirs/train_digits/latest.pth --epochs 12

What the config drives: AmpOptimWrapper (bfloat16 autocast on the CPU, float16 with dynamic
loss scaling on CUDA), gradient accumulation, clipping, per-parameter rules (no decay on norm
and bias, a custom lr multiplier for the head) and a warmup + cosine parameter schedule.
Every epoch writes a checkpoint (model, wrapper, schedulers, epoch, RNG state); --resume
continues bit for bit. training.png shows loss, lr per group, grad norm and loss scale.
"""

from __future__ import annotations

import argparse
import copy
import math
import sys
import time
from pathlib import Path
from typing import Any

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from digits_common import DigitsCNN, accuracy, epoch_batches, load_digits_tensors

import optimtx as otx
from optimtx.cli import build_param_schedulers, load_config

DEFAULT_CONFIG = Path(__file__).resolve().parent / "configs" / "digits.py"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(DEFAULT_CONFIG), help="Python config file (default: %(default)s)")
    parser.add_argument("--epochs", type=int, default=None, help="stop after this many epochs (default: the config's)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work-dir", default="work_dirs/train_digits", help="checkpoints and training.png go here")
    parser.add_argument("--resume", default=None, help="checkpoint to continue from")
    parser.add_argument("--compare", action="store_true", help="also train with a plain hand-written torch loop")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--no-progress", action="store_true", help="no tqdm progress bar")
    parser.add_argument("--no-plot", action="store_true", help="do not write training.png")
    return parser.parse_args(argv)


def wrapper_config(cfg: dict[str, Any], device: str) -> dict[str, Any]:
    """The config's optim_wrapper with ``dtype`` chosen for the device when the config leaves it out."""
    wcfg = copy.deepcopy(cfg["optim_wrapper"])
    if wcfg.get("type") == "AmpOptimWrapper" and "dtype" not in wcfg:
        wcfg["dtype"] = "float16" if device.startswith("cuda") else "bfloat16"
    return wcfg


def batches_per_epoch(n: int, batch_size: int, accumulative_counts: int) -> int:
    """Full batches only, a multiple of ``accumulative_counts``: no accumulation window straddles two epochs."""
    return (n // batch_size) // accumulative_counts * accumulative_counts


class Run:
    """Model, wrapper and schedulers built from the config, plus the per-step history."""

    def __init__(self, cfg: dict[str, Any], args: argparse.Namespace, n_train: int) -> None:
        torch.manual_seed(args.seed)
        self.device = args.device
        self.model = DigitsCNN().to(self.device)
        self.wcfg = wrapper_config(cfg, self.device)
        self.wrapper = otx.build_optim_wrapper(self.model, self.wcfg)
        self.n_batches = batches_per_epoch(n_train, cfg["batch_size"], self.wcfg.get("accumulative_counts", 1))
        self.n_updates = self.n_batches // self.wcfg.get("accumulative_counts", 1)
        # Schedulers step once per optimizer step: an "epoch" of a converted schedule is n_updates steps.
        self.schedulers = build_param_schedulers(self.wrapper, cfg.get("param_scheduler", []), self.n_updates)
        self.history: dict[str, list] = {"loss": [], "lr": [], "grad_norm": [], "loss_scale": [], "skipped": []}
        self.epoch = 0

    def state_dict(self) -> dict[str, Any]:
        return {
            "model": self.model.state_dict(),
            "optim_wrapper": self.wrapper.state_dict(),
            "param_schedulers": [s.state_dict() for s in self.schedulers],
            "epoch": self.epoch,
            "rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
            "history": self.history,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state["model"])
        self.wrapper.load_state_dict(state["optim_wrapper"])
        for scheduler, sd in zip(self.schedulers, state["param_schedulers"], strict=True):
            scheduler.load_state_dict(sd)
        self.epoch = state["epoch"]
        self.history = state["history"]
        torch.set_rng_state(state["rng"])
        if state["cuda_rng"]:
            torch.cuda.set_rng_state_all(state["cuda_rng"])


def train_epoch(run: Run, x: torch.Tensor, y: torch.Tensor, batch_size: int, seed: int, progress: bool) -> float:
    """One epoch of the optimtx loop; returns the mean loss. Host reads happen once, at the end."""
    from tqdm import tqdm

    model, wrapper = run.model, run.wrapper
    model.train()
    losses, norms, scales, lrs, skipped = [], [], [], [], []
    batches = epoch_batches(len(y), batch_size, seed, run.epoch)[: run.n_batches]
    for idx in tqdm(batches, desc=f"epoch {run.epoch + 1}", leave=False, disable=not progress):
        xb, yb = x[idx].to(run.device), y[idx].to(run.device)
        with wrapper.optim_context(model):
            loss = nn.functional.cross_entropy(model(xb), yb)
        wrapper.update_params(loss)
        losses.append(loss.detach().float())
        if wrapper.should_update():  # this micro-step just stepped the optimizer
            norm = getattr(wrapper, "last_grad_norm", None)
            norms.append(torch.tensor(math.nan) if norm is None else norm.detach().float().cpu())
            scales.append(_loss_scale(wrapper))
            lrs.append([g["lr"] for g in wrapper.param_groups])
            skipped.append(bool(getattr(wrapper, "step_was_skipped", False)))
            for scheduler in run.schedulers:
                scheduler.step()
    run.history["loss"] += torch.stack(losses).tolist()
    run.history["grad_norm"] += torch.stack(norms).tolist()
    run.history["loss_scale"] += torch.stack(scales).tolist()
    run.history["lr"] += lrs
    run.history["skipped"] += skipped
    run.epoch += 1
    return float(torch.stack(losses).mean())


def _loss_scale(wrapper: Any) -> torch.Tensor:
    scaler = getattr(wrapper, "loss_scaler", None)
    if scaler is None or not scaler.is_enabled():
        return torch.tensor(1.0)
    return scaler.scale_tensor.detach().clone().cpu()


def save_plot(history: dict[str, list], path: Path) -> None:
    """loss per micro-step; lr per group, pre-clip grad norm and loss scale per optimizer step."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(10, 6), constrained_layout=True)
    axes[0, 0].plot(history["loss"], lw=0.8)
    axes[0, 0].set(title="loss", xlabel="micro-step", yscale="log")
    lrs = list(zip(*history["lr"], strict=True)) if history["lr"] else []
    for i, group in enumerate(lrs):
        axes[0, 1].plot(group, label=f"group {i}")
    axes[0, 1].set(title="lr per param group", xlabel="optimizer step")
    axes[0, 1].legend(fontsize="small")
    axes[1, 0].plot(history["grad_norm"], lw=0.8)
    axes[1, 0].set(title="grad norm (before clipping)", xlabel="optimizer step")
    axes[1, 1].plot(history["loss_scale"])
    axes[1, 1].set(title="loss scale", xlabel="optimizer step")
    fig.savefig(path, dpi=100)
    plt.close(fig)


def train_optimtx(cfg: dict[str, Any], args: argparse.Namespace, data: tuple, epochs: int) -> tuple[Run, list, float]:
    x_train, y_train, x_test, y_test = data
    run = Run(cfg, args, len(y_train))
    work_dir = Path(args.work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    if args.resume:
        run.load_state_dict(torch.load(args.resume, weights_only=False))
        print(f"resumed from {args.resume} at epoch {run.epoch}")
    times, acc = [], math.nan
    while run.epoch < epochs:
        start = time.perf_counter()
        loss = train_epoch(run, x_train, y_train, cfg["batch_size"], args.seed, not args.no_progress)
        times.append(time.perf_counter() - start)
        acc = accuracy(run.model, x_test.to(run.device), y_test.to(run.device))
        lrs = ", ".join(f"{lr:.2e}" for lr in run.history["lr"][-1])
        print(
            f"epoch {run.epoch:2d}  loss {loss:.4f}  test acc {acc:.3f}  lr [{lrs}]  "
            f"grad norm {run.history['grad_norm'][-1]:.3f}  loss scale {run.history['loss_scale'][-1]:g}  "
            f"skipped {sum(run.history['skipped'][-run.n_updates :])}  {times[-1]:.2f}s",
            flush=True,
        )
        state = run.state_dict()
        torch.save(state, work_dir / f"epoch_{run.epoch}.pth")
        torch.save(state, work_dir / "latest.pth")
    if run.epoch and math.isnan(acc):
        acc = accuracy(run.model, x_test.to(run.device), y_test.to(run.device))
    return run, times, acc


def torch_param_groups(model: nn.Module, wcfg: dict[str, Any]) -> list[dict[str, Any]]:
    """Hand-made torch param groups with exactly the lr / weight decay explain() reports for the config."""
    rows = {row.name: row for row in otx.explain(model, wcfg)}
    groups: dict[tuple, list] = {}
    for name, p in model.named_parameters():
        groups.setdefault((rows[name].lr, rows[name].weight_decay), []).append(p)
    return [dict(params=ps, lr=lr, weight_decay=wd) for (lr, wd), ps in groups.items()]


def train_torch(cfg: dict[str, Any], args: argparse.Namespace, data: tuple, epochs: int) -> tuple[list, float]:
    """The same run written by hand: torch AdamW, autocast, GradScaler, clip_grad_norm_, torch schedulers."""
    x_train, y_train, x_test, y_test = data
    torch.manual_seed(args.seed)
    device = args.device
    model = DigitsCNN().to(device)
    wcfg = wrapper_config(cfg, device)
    opt_cfg = {k: v for k, v in wcfg["optimizer"].items() if k not in ("type", "lr", "weight_decay")}
    optimizer = torch.optim.AdamW(torch_param_groups(model, wcfg), **opt_cfg)
    accum = wcfg.get("accumulative_counts", 1)
    n_batches = batches_per_epoch(len(y_train), cfg["batch_size"], accum)
    n_updates = n_batches // accum
    warm, cos = cfg["param_scheduler"]  # the default config's shape: LinearLR warmup, then cosine
    scheduler = torch.optim.lr_scheduler.SequentialLR(
        optimizer,
        [
            torch.optim.lr_scheduler.LinearLR(optimizer, warm["start_factor"], total_iters=warm["end"] * n_updates),
            torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, cos["T_max"] * n_updates, cos.get("eta_min", 0.0)),
        ],
        milestones=[cos["begin"] * n_updates],
    )
    dtype = getattr(torch, wcfg["dtype"])
    scaler = torch.amp.GradScaler(device, enabled=dtype == torch.float16)
    max_norm = wcfg["clip_grad"]["max_norm"]
    times = []
    for epoch in range(epochs):
        start = time.perf_counter()
        model.train()
        for i, idx in enumerate(epoch_batches(len(y_train), cfg["batch_size"], args.seed, epoch)[:n_batches]):
            xb, yb = x_train[idx].to(device), y_train[idx].to(device)
            with torch.autocast(device_type=device.split(":")[0], dtype=dtype):
                loss = nn.functional.cross_entropy(model(xb), yb)
            scaler.scale(loss / accum).backward()
            if (i + 1) % accum == 0:
                scaler.unscale_(optimizer)
                torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
                scaler.step(optimizer)
                scaler.update()
                optimizer.zero_grad()
                scheduler.step()
        times.append(time.perf_counter() - start)
    return times, accuracy(model, x_test.to(device), y_test.to(device))


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    cfg = load_config(args.config)
    cfg.setdefault("batch_size", 32)
    epochs = args.epochs if args.epochs is not None else cfg.get("max_epochs", 10)
    data = load_digits_tensors()
    print(otx.explain(DigitsCNN(), wrapper_config(cfg, args.device)))
    total = time.perf_counter()
    run, times, acc = train_optimtx(cfg, args, data, epochs)
    total = time.perf_counter() - total
    if not args.no_plot:
        save_plot(run.history, Path(args.work_dir) / "training.png")
    result = {"run": run, "times": times, "accuracy": acc, "seconds": total}
    if args.compare:
        torch_times, torch_acc = train_torch(cfg, args, data, epochs)
        print(f"\n{'epoch':>5}  {'optimtx s':>9}  {'torch s':>9}")
        for i, (a, b) in enumerate(zip(times, torch_times[-len(times) :], strict=True)):
            print(f"{i + 1:>5}  {a:9.3f}  {b:9.3f}")
        print(f"{'total':>5}  {sum(times):9.3f}  {sum(torch_times):9.3f}")
        print(f"final test accuracy  optimtx {acc:.3f}  torch {torch_acc:.3f}")
        result.update(torch_times=torch_times, torch_accuracy=torch_acc)
    print(f"wall time: {total:.1f}s")
    print(f"test accuracy: {acc:.3f}")
    return result


if __name__ == "__main__":
    main()
