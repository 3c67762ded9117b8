"""Run a worker function in 2 gloo processes on this machine and collect what each rank returns.

Every safeguard against a hang: rendezvous through a file in the test's own directory
(no TCP port to race for), gloo on the loopback interface, a timeout on
``init_process_group`` (so collectives give up), and an overall deadline after which
the workers are killed and the test fails.
"""

from __future__ import annotations

import datetime
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.distributed as dist
from torch import Tensor

WORLD_SIZE = 2
COLLECTIVE_TIMEOUT_S = 60

requires_gloo = pytest.mark.skipif(
    not (dist.is_available() and dist.is_gloo_available()), reason="needs torch.distributed with gloo"
)


def run_workers(worker: Callable[..., Any], tmp_path: Path, *args: Any, timeout_s: float = 150) -> list[Any]:
    """``worker(rank, *args)`` in 2 processes; returns each rank's result (it must be ``torch.save``-able)."""
    import torch.multiprocessing as mp

    context = mp.spawn(_entry, args=(worker, str(tmp_path), args), nprocs=WORLD_SIZE, join=False)
    deadline = time.monotonic() + timeout_s
    while not context.join(timeout=2):
        if time.monotonic() > deadline:
            for process in context.processes:
                process.kill()
            pytest.fail(f"the {WORLD_SIZE} workers did not finish within {timeout_s} s")
    return [torch.load(tmp_path / f"rank{r}.pt", weights_only=False) for r in range(WORLD_SIZE)]


def _entry(rank: int, worker: Callable[..., Any], out_dir: str, args: tuple) -> None:
    os.environ.update(GLOO_SOCKET_IFNAME="lo", MASTER_ADDR="127.0.0.1")
    torch.set_num_threads(1)
    dist.init_process_group(
        "gloo",
        init_method=f"file://{os.path.join(out_dir, 'rendezvous')}",
        rank=rank,
        world_size=WORLD_SIZE,
        timeout=datetime.timedelta(seconds=COLLECTIVE_TIMEOUT_S),
    )
    try:
        result = worker(rank, *args)
        torch.save(result, os.path.join(out_dir, f"rank{rank}.pt"))
        dist.barrier()  # neither rank tears gloo down while the other still talks to it
    finally:
        dist.destroy_process_group()


def full(t: Tensor) -> Tensor:
    """A DTensor gathered to a plain tensor (a collective: every rank must call it), else ``t``."""
    return t.full_tensor() if hasattr(t, "full_tensor") else t.detach().clone()
