"""Whole-tensor views of DTensor (FSDP2) shards, for rules that need a matrix's every entry.

Elementwise rules (Adam's moments, momentum) work on FSDP2's sharded gradients as they
are: each rank updates its own rows. A matrix rule (Muon's Newton-Schulz iteration, a
Shampoo/SOAP preconditioner) must see the whole matrix, so it gathers the shards, computes
the same result on every rank, and keeps only its own shard of that result again. The
helpers here do exactly that and are no-ops on plain tensors, so one code path serves a
single process and a sharded run.

Memory per rank: while one matrix is processed, its full gradient (and whatever the rule
allocates for it) exists on every rank; matrices are gathered one at a time, so the peak
is set by the largest matrix, not by the model. Compute is repeated on every rank.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import Tensor


def is_dtensor(t: Tensor) -> bool:
    """Whether ``t`` is a ``torch.distributed.tensor.DTensor`` (duck-typed: no distributed import).

    Example:
        >>> import torch
        >>> is_dtensor(torch.ones(2))
        False
    """
    return hasattr(t, "full_tensor") and hasattr(t, "placements") and hasattr(t, "device_mesh")


def gather_full(t: Tensor) -> Tensor:
    """The whole tensor behind ``t``: its gathered value for a DTensor (a collective), else ``t`` itself.

    Every rank of ``t``'s mesh must call this for the same tensor, in the same order.

    Example:
        >>> import torch
        >>> gather_full(torch.ones(2))
        tensor([1., 1.])
    """
    return t.full_tensor() if is_dtensor(t) else t  # type: ignore[attr-defined]


def shard_like(full: Tensor, like: Tensor) -> Tensor:
    """``full`` placed as ``like`` is: this rank's shard when ``like`` is a DTensor, else ``full``.

    ``full`` must hold the same value on every rank (it was computed from a gathered
    tensor), so each rank takes its own shard locally and nothing is communicated.

    Example:
        >>> import torch
        >>> shard_like(torch.zeros(2), torch.ones(2))
        tensor([0., 0.])
    """
    if not is_dtensor(like):
        return full
    # Deferred: torch builds without distributed support must still import optimtx.
    from torch.distributed.tensor import distribute_tensor

    return distribute_tensor(full, like.device_mesh, like.placements, src_data_rank=None)  # type: ignore[attr-defined]


def on_whole(fn: Callable[[Tensor], Tensor], t: Tensor) -> Tensor:
    """``fn`` applied to the whole tensor behind ``t``, the result placed as ``t`` is.

    Equal to ``fn(t)`` on a plain tensor; on a DTensor, ``fn`` sees the gathered matrix
    (on every rank) and each rank keeps its shard of the result.

    Example:
        >>> import torch
        >>> on_whole(lambda m: m / m.norm(), torch.tensor([3.0, 4.0]))
        tensor([0.6000, 0.8000])
    """
    return shard_like(fn(gather_full(t)), t)
