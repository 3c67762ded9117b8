"""AdamW's chain with its last three passes fused, for Python-number hyperparameters.

``adamw`` is ``chain(scale_by_adam, add_decayed_weights, scale_by_learning_rate)``. Run
block by block, each block allocates a parameter-sized buffer for its output: Adam's
quotient, the decayed update and the scaled update. Fused, one buffer holds
``-lr * weight_decay * param`` and one in-place ``addcdiv`` adds ``-lr * mu / denominator``
to it. The state has the same structure as the chain's, so the two are interchangeable;
the results agree to float rounding.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from optimtx.core.base import GradientTransformation, Params, Updates
from optimtx.core.tree import Tree, matched_leaves, rebuild
from optimtx.transforms.adam import ScaleByAdamState, _moments
from optimtx.transforms.weight_decay import require_params


def fuse_adamw(
    chained: GradientTransformation,
    b1: float | Tensor,
    b2: float | Tensor,
    eps: float | Tensor,
    amsgrad: bool,
    lr: float,
    weight_decay: float,
    mu_dtype: torch.dtype | None = None,
) -> GradientTransformation:
    """``chained`` (AdamW's chain for these numbers) with an ``update`` that allocates two buffers fewer.

    ``chained`` must be ``chain(scale_by_adam(b1, b2, eps, amsgrad, mu_dtype), add_decayed_weights(weight_decay),
    scale_by_learning_rate(lr))``, without the middle block when ``weight_decay`` is 0. Its
    ``init`` is reused, and its ``update`` handles a state of the wrong shape (to raise its error).

    Example:
        >>> from optimtx.core.base import chain
        >>> from optimtx.transforms.adam import scale_by_adam
        >>> from optimtx.transforms.scaling import scale_by_learning_rate
        >>> tx = fuse_adamw(chain(scale_by_adam(), scale_by_learning_rate(0.1)), 0.9, 0.999, 1e-8, False, 0.1, 0.0)
        >>> p = {"w": torch.ones(1)}
        >>> tx.update({"w": torch.full((1,), 5.0)}, tx.init(p), p)[0]
        {'w': tensor([-0.1000])}
    """
    blocks = 3 if weight_decay != 0 else 2

    def update(updates: Updates, state: Any, params: Params | None = None, **extra: Any) -> tuple[Tree, Any]:
        if not isinstance(state, tuple) or len(state) != blocks or not isinstance(state[0], ScaleByAdamState):
            return chained.update(updates, state, params, **extra)  # raises the chain's clear error
        grads = matched_leaves(updates, state[0].mu, keep_dtype=mu_dtype is not None)
        if any(g.is_complex() for g in grads):
            return chained.update(updates, state, params, **extra)  # the blocks handle complex tensors
        if weight_decay != 0:
            param_leaves = matched_leaves(
                require_params(params, "add_decayed_weights"), state[0].mu, "params", keep_dtype=mu_dtype is not None
            )
        adam_state, mu, denominator = _moments(grads, updates, state[0], b1, b2, eps, amsgrad, mu_dtype)
        new_state = (adam_state, *state[1:])
        if not mu:
            return {}, new_state
        if weight_decay != 0:
            # Fresh, and mul's backward does not need its output, so the in-place addcdiv is safe.
            out = list(torch._foreach_mul(param_leaves, -lr * weight_decay))
            torch._foreach_addcdiv_(out, mu, denominator, value=-lr)
        else:
            out = list(torch._foreach_div(mu, denominator))  # fresh; div's backward needs only its inputs
            torch._foreach_mul_(out, -lr)
        return rebuild(updates, out), new_state

    return GradientTransformation(chained.init, update)
