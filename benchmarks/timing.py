"""Timing primitives: variants timed side by side, medians, and a memory-bandwidth probe."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch


def sync(device: torch.device) -> None:
    """Wait for queued kernels, so a timer measures work and not just launches."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


@dataclass
class Variant:
    """One way of doing a case's step.

    ``setup`` runs untimed before every timed ``step`` (e.g. to put fresh gradients back).
    ``role`` is ``"anchor"`` for torch/MMEngine references and ``"optimtx"`` for ours.
    """

    name: str
    step: Callable[[], object]
    setup: Callable[[], object] = lambda: None
    role: str = "anchor"
    note: str = ""
    times_ms: list[float] = field(default_factory=list)

    @property
    def median_ms(self) -> float:
        return statistics.median(self.times_ms)


def time_round_robin(variants: list[Variant], device: torch.device, warmup: int, repeats: int) -> None:
    """Time every variant ``repeats`` times, interleaved so drifts in clock speed hit all alike."""
    for _ in range(warmup):
        for v in variants:
            v.setup()
            v.step()
            sync(device)
    for _ in range(repeats):
        for v in variants:
            v.setup()
            sync(device)
            start = time.perf_counter()
            v.step()
            sync(device)
            v.times_ms.append((time.perf_counter() - start) * 1e3)


def probe_bandwidth(device: torch.device, numel: int = 1 << 25, repeats: int = 21) -> dict[str, float]:
    """Sustained memory bandwidth in GB/s: a read-only sum, a copy and a STREAM-style triad (``a = b + s * c``).

    Bytes counted are those the kernel must move (sum: one read; copy: read + write; triad:
    2 reads + 1 write), without write-allocate traffic, as STREAM counts them. The best
    of the three is the bound's bandwidth, so the bound errs on the optimistic side.
    """
    if device.type == "cuda":  # a GPU copies 128 MiB in tens of microseconds: time bigger arrays
        numel = max(numel, 1 << 27)
    b = torch.rand(numel, device=device)
    c = torch.rand(numel, device=device)
    a = torch.empty_like(b)
    itemsize = b.element_size()
    results = {}
    for name, fn, nbytes in (
        ("read", lambda: b.sum(), numel * itemsize),
        ("copy", lambda: a.copy_(b), 2 * numel * itemsize),
        ("triad", lambda: torch.add(b, c, alpha=1.5, out=a), 3 * numel * itemsize),
    ):
        times = []
        for _ in range(repeats + 1):
            sync(device)
            start = time.perf_counter()
            fn()
            sync(device)
            times.append(time.perf_counter() - start)
        # The fastest run: the bound should be what the memory system can do, not a noisy average.
        results[name] = nbytes / min(times[1:]) / 1e9
    results["best"] = max(results["read"], results["copy"], results["triad"])
    return results
