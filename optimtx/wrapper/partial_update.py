"""Run a transform on the parameters that have gradients, keeping the others' state (TransformOptimizer's step)."""

from __future__ import annotations

import torch
from torch import Tensor

from optimtx.core.base import GradientTransformation, State
from optimtx.core.partial_state import merge_state, restore_entries, restrict_state
from optimtx.core.state_tree import iter_nodes
from optimtx.transforms.masking import MaskedState, MultiTransformState

__all__ = ["partial_update"]


def partial_update(
    tx: GradientTransformation, state: State, grads: dict[str, Tensor], params: dict[str, Tensor]
) -> tuple[dict[str, Tensor], State]:
    """``tx.update`` for the parameters in ``grads`` only; the others keep their per-parameter state.

    Usually the transform runs on just those parameters, with their entries of the state
    (nothing is computed for frozen ones). Masks and labels given as callables may depend
    on the whole tree, so a state with ``masked``/``multi_transform`` nodes runs on the whole
    tree with zeros for the missing gradients; their updates are dropped and their state
    entries put back.

    Example:
        >>> import optimtx as otx
        >>> tx = otx.sgd(0.1, momentum=0.9)
        >>> params = {"0": torch.ones(1), "1": torch.ones(1)}
        >>> updates, state = partial_update(tx, tx.init(params), {"1": torch.ones(1)}, params)
        >>> updates
        {'1': tensor([-0.1000])}
    """
    if len(grads) == len(params):
        return tx.update(grads, state, params)
    names, present = set(params), set(grads)
    if any(isinstance(node, (MaskedState, MultiTransformState)) for node in iter_nodes(state)):
        full = {k: grads[k] if k in grads else torch.zeros_like(p) for k, p in params.items()}
        updates, new_state = tx.update(full, state, params)
        new_state = restore_entries(new_state, state, names - present, names)
        return {k: u for k, u in updates.items() if k in present}, new_state
    sub_params = {k: params[k] for k in grads}
    updates, new_inner = tx.update(grads, restrict_state(state, present, names), sub_params)
    return updates, merge_state(state, new_inner, names)
