"""The digits run under DistributedDataParallel: two processes on one machine (gloo on the CPU, NCCL on GPUs).

    torchrun --nproc_per_node=2 examples/ddp_train.py
    # on a machine without a usable network interface name, add: GLOO_SOCKET_IFNAME=lo
    # e.g. GLOO_SOCKET_IFNAME=lo torchrun --nproc_per_node=2 --master_addr=127.0.0.1 --master_port=29500 \\
    #          examples/ddp_train.py --epochs 4

Same config as examples/train_digits.py. ``wrapper.optim_context(model)`` skips DDP's gradient
all-reduce on the accumulation micro-steps (``no_sync``) and autocasts; a ``DistributedSampler``
gives each process its own shard; rank 0 alone writes the checkpoints and prints the accuracy.
"""

from __future__ import annotations

import argparse
import copy
import os
import sys
import time
from pathlib import Path

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

sys.path.insert(0, str(Path(__file__).resolve().parent))
from digits_common import DigitsCNN, accuracy, load_digits_tensors

import optimtx as otx
from optimtx.cli import build_param_schedulers, load_config

DEFAULT_CONFIG = Path(__file__).resolve().parent / "configs" / "digits.py"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(DEFAULT_CONFIG))
    parser.add_argument("--epochs", type=int, default=None, help="default: the config's max_epochs")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work-dir", default="work_dirs/ddp_train")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if "RANK" not in os.environ:
        raise SystemExit("run me with torchrun, e.g.: torchrun --nproc_per_node=2 examples/ddp_train.py")
    use_cuda = torch.cuda.is_available()
    dist.init_process_group(backend="nccl" if use_cuda else "gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    device = f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}" if use_cuda else "cpu"
    if use_cuda:
        torch.cuda.set_device(device)
    try:
        train(args, rank, world, device)
    finally:
        dist.destroy_process_group()


def train(args: argparse.Namespace, rank: int, world: int, device: str) -> None:
    cfg = load_config(args.config)
    epochs = args.epochs if args.epochs is not None else cfg.get("max_epochs", 10)
    batch_size = cfg.get("batch_size", 32)
    wcfg = copy.deepcopy(cfg["optim_wrapper"])
    wcfg.setdefault("dtype", "float16" if device.startswith("cuda") else "bfloat16")
    accum = wcfg.get("accumulative_counts", 1)

    x_train, y_train, x_test, y_test = load_digits_tensors()
    dataset = TensorDataset(x_train, y_train)
    sampler = DistributedSampler(dataset, num_replicas=world, rank=rank, shuffle=True, seed=args.seed, drop_last=True)
    loader = DataLoader(dataset, batch_size=batch_size, sampler=sampler, drop_last=True)
    n_batches = len(loader) // accum * accum  # no accumulation window straddles two epochs

    torch.manual_seed(args.seed)  # the same initial weights on every rank (DDP also broadcasts them)
    model = DistributedDataParallel(DigitsCNN().to(device), device_ids=[device] if device.startswith("cuda") else None)
    wrapper = otx.build_optim_wrapper(model, wcfg)
    schedulers = build_param_schedulers(wrapper, cfg.get("param_scheduler", []), n_batches // accum)
    work_dir = Path(args.work_dir)
    if rank == 0:
        print(
            f"{world} processes, {n_batches} micro-batches of {batch_size} per process per epoch, accumulation {accum}"
        )
        work_dir.mkdir(parents=True, exist_ok=True)
    for epoch in range(epochs):
        sampler.set_epoch(epoch)
        model.train()
        start, losses = time.perf_counter(), []
        for i, (xb, yb) in enumerate(loader):
            if i == n_batches:
                break
            with wrapper.optim_context(model):  # no_sync() on accumulation micro-steps, autocast
                loss = nn.functional.cross_entropy(model(xb.to(device)), yb.to(device))
            wrapper.update_params(loss)
            losses.append(loss.detach())
            if wrapper.should_update():
                for scheduler in schedulers:
                    scheduler.step()
        mean_loss = torch.stack(losses).float().mean()
        dist.all_reduce(mean_loss)
        if rank == 0:
            acc = accuracy(model.module, x_test.to(device), y_test.to(device))
            names = otx.param_group_names(model, wrapper)  # the labels explain() prints
            lrs = ", ".join(f"{n} {g['lr']:.2e}" for n, g in zip(names, wrapper.optimizer.param_groups, strict=True))
            print(
                f"epoch {epoch + 1}  loss {float(mean_loss) / world:.4f}  test acc {acc:.3f}  "
                f"lr [{lrs}]  {time.perf_counter() - start:.2f}s",
                flush=True,
            )
            state = {
                "model": model.module.state_dict(),
                "optim_wrapper": wrapper.state_dict(),
                "param_schedulers": [s.state_dict() for s in schedulers],
                "epoch": epoch + 1,
                "rng": torch.get_rng_state(),
            }
            torch.save(state, work_dir / "latest.pth")
        dist.barrier()  # nobody races ahead of the checkpoint
    flat = torch.cat([p.detach().reshape(-1).float() for p in model.parameters()])
    gathered = [torch.empty_like(flat) for _ in range(world)]
    dist.all_gather(gathered, flat)
    if rank == 0:
        print(f"ranks in sync: {all(torch.equal(gathered[0], g) for g in gathered)}")
        print(f"test accuracy: {accuracy(model.module, x_test.to(device), y_test.to(device)):.3f}")


if __name__ == "__main__":
    main()
