"""Train a small CNN on scikit-learn's 8x8 digits from an MMEngine-style config (the README's "run" command).

    python examples/train_digits.py                       # default config: examples/configs/digits.py
    python examples/train_digits.py --compare             # also a hand-written torch loop, side by side
    python examples/train_digits.py --resume work_dirs/train_digits/latest.pth --epochs 12

What the config drives: AmpOptimWrapper (bfloat16 autocast on the CPU, float16 with dynamic
loss scaling on CUDA), gradient accumulation, clipping, per-parameter rules (no decay on norm
and bias, a custom lr multiplier for the head) and a warmup + cosine parameter schedule.
Every epoch writes a checkpoint (model, wrapper, schedulers, epoch, RNG state: the same size
every epoch) and history.pt (the per-step curves); --resume continues bit for bit, and Ctrl-C
says how to. training.png shows loss, test accuracy per epoch, lr per param group (named as
optimtx.explain names them), grad norm, and the loss scale where one is used (CUDA float16).
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
HISTORY_KEYS = ("loss", "lr", "grad_norm", "loss_scale", "skipped", "accuracy")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(DEFAULT_CONFIG), help="Python config file (default: %(default)s)")
    parser.add_argument("--epochs", type=int, default=None, help="stop after this many epochs (default: the config's)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work-dir", default="work_dirs/train_digits", help="checkpoints and training.png go here")
    parser.add_argument("--resume", default=None, help="checkpoint to continue from")
    parser.add_argument("--compare", action="store_true", help="also train with a plain hand-written torch loop")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument(
        "--no-progress", action="store_true", help="no tqdm progress bar (it is off anyway when not on a terminal)"
    )
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
        self.group_names = otx.param_group_names(self.model, self.wrapper)  # explain's labels, one per real group
        self.history: dict[str, list] = {k: [] for k in HISTORY_KEYS}
        self.epoch = 0

    def state_dict(self) -> dict[str, Any]:
        """What resuming needs, the same size every epoch; the growing curves go to history.pt instead."""
        return {
            "model": self.model.state_dict(),
            "optim_wrapper": self.wrapper.state_dict(),
            "param_schedulers": [s.state_dict() for s in self.schedulers],
            "epoch": self.epoch,
            "rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
            "history_lengths": {k: len(v) for k, v in self.history.items()},
        }

    def load_state_dict(self, state: dict[str, Any], history: dict[str, list] | None) -> None:
        """Restore a checkpoint; ``history`` (from history.pt) is cut back to the checkpoint's epoch."""
        self.model.load_state_dict(state["model"])
        self.wrapper.load_state_dict(state["optim_wrapper"])
        for scheduler, sd in zip(self.schedulers, state["param_schedulers"], strict=True):
            scheduler.load_state_dict(sd)
        self.epoch = state["epoch"]
        lengths = state["history_lengths"]
        if history is not None and all(len(history.get(k, [])) >= n for k, n in lengths.items()):
            self.history = {k: list(history[k][:n]) for k, n in lengths.items()}
        else:
            print("history.pt is missing or shorter than the checkpoint: training.png shows the resumed part only")
            self.history = {k: [] for k in HISTORY_KEYS}
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
    # disable=None: tqdm draws only on a terminal, so logs and pipes get the per-epoch lines alone.
    for idx in tqdm(batches, desc=f"epoch {run.epoch + 1}", leave=False, disable=None if progress else True):
        xb, yb = x[idx].to(run.device), y[idx].to(run.device)
        with wrapper.optim_context(model):
            loss = nn.functional.cross_entropy(model(xb), yb)
        wrapper.update_params(loss)
        losses.append(loss.detach().float())
        if wrapper.should_update():  # this micro-step just stepped the optimizer
            norm = getattr(wrapper, "last_grad_norm", None)
            norms.append(torch.tensor(math.nan) if norm is None else norm.detach().float().cpu())
            scales.append(_loss_scale(wrapper))
            lrs.append([g["lr"] for g in wrapper.optimizer.param_groups])  # real groups, not the base settings
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


def save_plot(history: dict[str, list], group_names: list[str], path: Path) -> None:
    """Loss per micro-step, test accuracy per epoch, lr per named group, grad norm per optimizer step.

    The loss-scale panel is drawn only when a scaler ran (float16): with bfloat16 or float32 it is
    a flat line at 1 and says nothing.
    """
    import matplotlib
    import matplotlib.ticker

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scaled = any(s != 1.0 for s in history["loss_scale"])
    fig, axes = plt.subplots(2, 3 if scaled else 2, figsize=(14 if scaled else 10, 6), constrained_layout=True)
    axes = axes.flatten()
    axes[0].plot(history["loss"], lw=0.8)
    axes[0].set(title="training loss", xlabel="micro-step", yscale="log")
    epochs = range(1, len(history["accuracy"]) + 1)
    axes[1].plot(epochs, history["accuracy"], marker="o")
    axes[1].set(title="test accuracy", xlabel="epoch", ylim=(0, 1))
    axes[1].xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    lrs = list(zip(*history["lr"], strict=True)) if history["lr"] else []
    for i, (name, group) in enumerate(zip(group_names, lrs, strict=True)):
        axes[2].plot(group, label=name, linestyle=("-", "--", ":", "-.")[i % 4])
    axes[2].set(title="lr per param group", xlabel="optimizer step")
    axes[2].legend(fontsize="small")
    axes[3].plot(history["grad_norm"], lw=0.8)
    axes[3].set(title="grad norm (before clipping)", xlabel="optimizer step")
    if scaled:
        axes[4].plot(history["loss_scale"])
        axes[4].set(title="loss scale", xlabel="optimizer step", yscale="log")
        axes[5].set_visible(False)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def train_optimtx(cfg: dict[str, Any], args: argparse.Namespace, data: tuple, epochs: int) -> tuple[Run, list, float]:
    x_train, y_train, x_test, y_test = data
    run = Run(cfg, args, len(y_train))
    work_dir = Path(args.work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    if args.resume:
        history_file = Path(args.resume).with_name("history.pt")
        history = torch.load(history_file, weights_only=False) if history_file.is_file() else None
        run.load_state_dict(torch.load(args.resume, weights_only=False), history)
        print(f"resumed from {args.resume} at epoch {run.epoch}")
    times, acc = [], math.nan
    while run.epoch < epochs:
        start = time.perf_counter()
        loss = train_epoch(run, x_train, y_train, cfg["batch_size"], args.seed, not args.no_progress)
        times.append(time.perf_counter() - start)
        acc = accuracy(run.model, x_test.to(run.device), y_test.to(run.device))
        run.history["accuracy"].append(acc)
        print(epoch_line(run, loss, acc, times[-1]), flush=True)
        state = run.state_dict()
        torch.save(state, work_dir / f"epoch_{run.epoch}.pth")
        torch.save(state, work_dir / "latest.pth")
        torch.save(run.history, work_dir / "history.pt")
    if run.epoch and math.isnan(acc):
        acc = accuracy(run.model, x_test.to(run.device), y_test.to(run.device))
    return run, times, acc


def epoch_line(run: Run, loss: float, acc: float, seconds: float) -> str:
    """One line per epoch; the lr of every param group under the name explain gives it."""
    lrs = ", ".join(f"{name} {lr:.2e}" for name, lr in zip(run.group_names, run.history["lr"][-1], strict=True))
    scale, skipped = run.history["loss_scale"][-1], sum(run.history["skipped"][-run.n_updates :])
    scale_text = f"  loss scale {scale:g}  skipped {skipped}" if scale != 1 else ""  # no scaler: nothing to say
    return (
        f"epoch {run.epoch:2d}  loss {loss:.4f}  test acc {acc:.3f}  lr [{lrs}]  "
        f"grad norm {run.history['grad_norm'][-1]:.3f}{scale_text}  {seconds:.2f}s"
    )


def resume_hint(args: argparse.Namespace) -> str:
    """What Ctrl-C prints: where the last checkpoint is and the command that continues from it."""
    latest = Path(args.work_dir) / "latest.pth"
    if not latest.is_file():
        return "interrupted before the first checkpoint; run the same command again to start over"
    epoch = torch.load(latest, weights_only=False)["epoch"]
    command = ["python", "examples/train_digits.py", "--resume", str(latest)]
    if Path(args.config).resolve() != DEFAULT_CONFIG:
        command += ["--config", args.config]
    if args.work_dir != "work_dirs/train_digits":
        command += ["--work-dir", args.work_dir]
    if args.epochs is not None:
        command += ["--epochs", str(args.epochs)]
    return f"interrupted; {latest} holds the model after epoch {epoch}. Continue with:\n  {' '.join(command)}"


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
    try:
        run, times, acc = train_optimtx(cfg, args, data, epochs)
    except KeyboardInterrupt:  # Ctrl-C: no traceback, but where the run stands and how to go on
        print("\n" + resume_hint(args), file=sys.stderr)
        raise SystemExit(130) from None
    total = time.perf_counter() - total
    if not args.no_plot:
        save_plot(run.history, run.group_names, Path(args.work_dir) / "training.png")
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
