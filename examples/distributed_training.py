"""Train a small classifier on several processes: DDP or FSDP2, fp16 loss scaling, accumulation, clipping.

Each rank reads its own slice of the data; gradients are averaged over the ranks, the
clip uses the global norm, and an overflow on any rank skips the step on every rank.
Rank 0 writes a checkpoint at the end.

Run (CPU, 2 processes; use --nproc_per_node=gpu on a GPU machine):
    torchrun --standalone --nproc_per_node=2 examples/distributed_training.py
    torchrun --standalone --nproc_per_node=2 examples/distributed_training.py --fsdp --checkpoint /tmp/ckpt.pt
"""

from __future__ import annotations

import argparse
import datetime
import os

import torch
import torch.distributed as dist
from torch import nn

import optimtx as otx


def setup() -> torch.device:
    """Join the process group torchrun describes in the environment; return this rank's device."""
    if torch.cuda.is_available():
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
        torch.cuda.set_device(device)
        backend = "nccl"
    else:
        device, backend = torch.device("cpu"), "gloo"
    dist.init_process_group(backend, timeout=datetime.timedelta(seconds=60))
    return device


def wrap(model: nn.Module, device: torch.device, fsdp: bool) -> nn.Module:
    model = model.to(device)
    if fsdp:
        from torch.distributed.fsdp import fully_shard

        for layer in model:
            if isinstance(layer, nn.Linear):
                fully_shard(layer)
        fully_shard(model)
        return model
    return nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)


def main(fsdp: bool = False, checkpoint: str | None = None, steps: int = 24, micro_batch: int = 16) -> float:
    device = setup()
    rank, world = dist.get_rank(), dist.get_world_size()
    torch.manual_seed(0)  # the same data and initial model on every rank
    x = torch.randn(steps * micro_batch * world, 8)
    y = (x[:, :4].sum(dim=1) > 0).long()
    model = wrap(nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 2)), device, fsdp)
    wrapper = otx.AmpOptimWrapper(
        optimizer=torch.optim.AdamW(model.parameters(), lr=3e-3),
        dtype="float16",
        loss_scale=dict(init_scale=1024.0, growth_interval=10),
        accumulative_counts=4,
        clip_grad=dict(max_norm=1.0),
    )
    wrapper.initialize_count_status(model, 0, steps)
    initial = evaluate(model, x, y, device)
    for step in range(steps):
        rows = slice((step * world + rank) * micro_batch, (step * world + rank + 1) * micro_batch)
        with wrapper.optim_context(model):  # the forward pass: DDP skips the all-reduce mid-window
            loss = nn.functional.cross_entropy(model(x[rows].to(device)).float(), y[rows].to(device))
        wrapper.update_params(loss)
    final = evaluate(model, x, y, device)
    if checkpoint is not None:
        save(model, wrapper, fsdp, checkpoint)
    if rank == 0:
        scale = wrapper.loss_scaler.get_scale()
        print(f"{'FSDP2' if fsdp else 'DDP'} on {world} ranks: loss {initial:.4f} -> {final:.4f}, scale {scale}")
    dist.destroy_process_group()
    return final


def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, device: torch.device) -> float:
    with torch.no_grad():
        return nn.functional.cross_entropy(model(x.to(device)).float(), y.to(device)).item()


def save(model: nn.Module, wrapper: otx.AmpOptimWrapper, fsdp: bool, path: str) -> None:
    """Rank 0 writes the model and the wrapper state (FSDP2 gathers the shards first, on every rank)."""
    if fsdp:
        from torch.distributed.checkpoint.state_dict import StateDictOptions, get_state_dict

        options = StateDictOptions(full_state_dict=True, cpu_offload=True)
        model_state, optim_state = get_state_dict(model, wrapper.optimizer, options=options)
        state = dict(model=model_state, optimizer=optim_state, loss_scaler=wrapper.state_dict()["loss_scaler"])
    else:
        state = dict(model=model.module.state_dict(), wrapper=wrapper.state_dict())
    if dist.get_rank() == 0:
        torch.save(state, path)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fsdp", action="store_true", help="shard with FSDP2 (fully_shard) instead of DDP")
    parser.add_argument("--checkpoint", default=None, help="where rank 0 writes the final checkpoint")
    args = parser.parse_args()
    main(fsdp=args.fsdp, checkpoint=args.checkpoint)
