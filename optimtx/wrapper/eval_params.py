"""Evaluate with the weights an optimizer keeps for evaluation (schedule-free ``x``, EMA, lookahead's slow weights).

On the pure path these are plain functions of the state
([`schedule_free_eval_params`][optimtx.schedule_free_eval_params],
[`get_ema_params`][optimtx.get_ema_params], [`get_slow_params`][optimtx.get_slow_params]). Facade users hold
parameters inside ``nn.Module`` objects instead, so [`eval_params`][optimtx.eval_params] swaps the
evaluation weights into those parameters for the length of a ``with`` block and puts the
training values back, bit for bit, afterwards.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import torch
from torch import Tensor

from optimtx.core.base import State
from optimtx.core.state_tree import iter_nodes
from optimtx.core.tree import matched_leaves, rebuild
from optimtx.transforms.ema import EmaParamsState, get_ema_params
from optimtx.transforms.lookahead import LookaheadState, get_slow_params
from optimtx.transforms.schedule_free import ScheduleFreeState, schedule_free_eval_params
from optimtx.wrapper.swapped_params import forget, register, training_value
from optimtx.wrapper.torch_optimizer import TransformOptimizer

__all__ = ["eval_params", "evaluation_params"]

_EVAL_STATES = (ScheduleFreeState, EmaParamsState, LookaheadState)


def evaluation_params(state: State, params: dict[str, Tensor]) -> dict[str, Tensor] | None:
    """The evaluation weights held in ``state`` for ``params``, or ``None`` if it holds none.

    Raises ``ValueError`` when ``state`` holds several kinds (say EMA and schedule-free),
    since the choice would be a guess, and when the weights do not match ``params`` by name
    and shape (a state built for other parameters).

    Example:
        >>> import optimtx as otx
        >>> tx = otx.chain(otx.sgd(0.1), otx.ema_params(0.9))
        >>> evaluation_params(tx.init({"w": torch.ones(1)}), {"w": torch.ones(1)})
        {'w': tensor([1.])}
    """
    found = [n for n in iter_nodes(state) if isinstance(n, _EVAL_STATES)]
    if not found:
        return None
    if len(found) > 1:
        kinds = sorted({type(n).__name__ for n in found})
        raise ValueError(
            f"The optimizer state holds {len(found)} sets of evaluation weights ({', '.join(kinds)}); "
            "eval_params() can only swap in one. Read them with get_ema_params / schedule_free_eval_params / "
            "get_slow_params on the sub-state you mean."
        )
    if isinstance(found[0], ScheduleFreeState):
        values = schedule_free_eval_params(found[0], params)
    elif isinstance(found[0], EmaParamsState):
        values = get_ema_params(found[0])
    else:
        values = get_slow_params(found[0])
    # By name and shape (never by position, never broadcast), in the parameters' dtypes.
    return rebuild(params, matched_leaves(values, params, "evaluation weights"))


def _transform_optimizer(optimizer: Any) -> Any:
    inner = getattr(optimizer, "optimizer", optimizer)  # an OptimWrapper holds its optimizer there
    if not isinstance(inner, TransformOptimizer):
        raise TypeError(
            f"eval_params() needs a TransformOptimizer (or an OptimWrapper around one), got {type(inner).__name__}; "
            "build it with optimizer=dict(type='TransformOptimizer', transform=dict(type='schedule_free_adamw', ...))."
        )
    return inner


def _is_transform_optimizer(optimizer: Any) -> bool:
    return isinstance(optimizer, TransformOptimizer)


def _swaps(optimizer: Any) -> list[tuple[Tensor, Tensor]]:
    """(parameter, evaluation value) pairs from the shared state and every group's state."""
    # Keyed as TransformOptimizer keys them: "<group>.<index>" for the shared part, "<index>" within a group.
    parts: list[tuple[dict[str, Tensor], State]] = []
    if optimizer._shared_tx is not None:
        parts.append((optimizer._all_params(), optimizer._shared_state))
    for group, state in zip(optimizer.param_groups, optimizer.transform_states, strict=True):
        parts.append(({str(i): p for i, p in enumerate(group["params"])}, state))
    swaps = []
    for params, state in parts:
        values = evaluation_params(state, {k: training_value(p) for k, p in params.items()})
        if values is not None:
            swaps += [(params[k], values[k]) for k in params]  # the same names, checked above
    return swaps


@contextlib.contextmanager
def eval_params(optimizer: Any) -> Iterator[None]:
    """Inside the block, the parameters hold the optimizer's evaluation weights; afterwards the training ones.

    Works with a [`TransformOptimizer`][optimtx.TransformOptimizer], an ``OptimWrapper`` around one, or an
    ``OptimWrapperDict`` of those, whose transform contains ``schedule_free_adamw`` /
    ``schedule_free_sgd`` (evaluates at ``x``), ``ema_params`` (the average) or ``lookahead``
    (the slow weights). Everything is computed before any parameter changes; the training
    values are restored exactly, also when the block raises. Blocks may nest: an inner block
    computes the evaluation weights from the training values as well (it sees what the outer one
    sees) and on exit leaves the outer block's weights in place. Stepping a ``TransformOptimizer``
    inside a block is refused with a ``RuntimeError``.

    Example:
        >>> import optimtx as otx
        >>> w = torch.nn.Parameter(torch.zeros(1))
        >>> opt = otx.TransformOptimizer([w], dict(type="schedule_free_sgd", lr=1.0, momentum=0.5))
        >>> for _ in range(2):
        ...     w.grad = torch.ones(1)
        ...     opt.step()
        >>> with eval_params(opt):
        ...     print(w.detach())  # x: the average of z_1 = -1 and z_2 = -2
        tensor([-1.5000])
        >>> w.detach()  # y, the training point
        tensor([-1.7500])
    """
    wrappers = getattr(optimizer, "optim_wrappers", None)  # an OptimWrapperDict: every wrapper in it
    if isinstance(wrappers, dict):  # wrappers around other optimizers have nothing to swap in
        targets = [w for w in wrappers.values() if _is_transform_optimizer(getattr(w, "optimizer", None))]
    else:
        targets = [optimizer]
    swaps = [pair for target in targets for pair in _swaps(_transform_optimizer(target))]
    if not swaps:
        raise ValueError(
            "eval_params() found no evaluation weights in this optimizer's transform state; it needs "
            "schedule_free_adamw/schedule_free_sgd, ema_params or lookahead in the transform."
        )
    saved = [p.detach().clone() for p, _ in swaps]
    registered = [id(p) for (p, _), value in zip(swaps, saved, strict=True) if register(p, value)]
    try:
        with torch.no_grad():
            for p, value in swaps:
                p.copy_(value)
        yield
    finally:
        with torch.no_grad():
            for (p, _), original in zip(swaps, saved, strict=True):
                p.copy_(original)
        for key in registered:
            forget(key)
