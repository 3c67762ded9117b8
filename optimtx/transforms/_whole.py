"""Run a matrix transform on whole tensors when its leaves are FSDP2 (DTensor) shards.

SOAP, Shampoo and PSGD-Kron precondition a matrix with statistics of the whole matrix; MARS clips each
tensor by its whole norm. On DTensor leaves, `_whole_tensors`
gathers the shards (one collective per leaf, on every rank), runs the transform on the gathered tensors with
a state of plain whole tensors (so every rank holds the same state and computes the same result), and hands
back each rank's shard of the updates. On plain tensors it adds nothing.

Memory per rank: the transform's whole state (not sharded) plus, during ``update``, the gathered gradients
(and parameters, for a transform that reads them).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from torch import Tensor

from optimtx.core.base import GradientTransformation, Params, State, Updates
from optimtx.core.tree import Tree
from optimtx.transforms._dtensor import gather_full, is_dtensor, shard_like


def _gathered(tree: Mapping[str, Any]) -> dict[str, Any]:
    return {k: gather_full(v) if isinstance(v, Tensor) else v for k, v in tree.items()}


def _whole_tensors(tx: GradientTransformation) -> GradientTransformation:
    """``tx`` computed on gathered whole tensors when any leaf is a DTensor; ``tx`` itself otherwise.

    Example:
        >>> import torch
        >>> from optimtx.transforms.scaling import scale
        >>> tx = _whole_tensors(scale(2.0))
        >>> tx.update({"w": torch.ones(2)}, tx.init({"w": torch.ones(2)}))[0]
        {'w': tensor([2., 2.])}
    """

    def init(params: Params) -> State:
        if any(is_dtensor(v) for v in params.values() if isinstance(v, Tensor)):
            return tx.init(_gathered(params))
        return tx.init(params)

    def update(updates: Updates, state: State, params: Params | None = None, **extra: Any) -> tuple[Tree, State]:
        if not any(is_dtensor(v) for v in updates.values() if isinstance(v, Tensor)):
            return tx.update(updates, state, params, **extra)
        whole = None if params is None else _gathered(params)
        out, new_state = tx.update(_gathered(updates), state, whole, **extra)
        return {k: shard_like(v, updates[k]) for k, v in out.items()}, new_state

    return GradientTransformation(init, update)
