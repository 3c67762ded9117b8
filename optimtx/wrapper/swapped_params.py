"""Which parameters hold evaluation weights right now (inside an ``eval_params`` block), and their training values.

``eval_params`` records each parameter it swaps; a nested block computes the evaluation weights
from the recorded training values, and ``TransformOptimizer.step`` refuses to step a parameter that
holds evaluation weights.
"""

from __future__ import annotations

from collections.abc import Iterable

from torch import Tensor

__all__ = ["forget", "refuse_step_while_swapped", "register", "training_value"]

# While an eval_params block is active: id(parameter) -> (parameter, its training value). A nested block
# computes the evaluation weights from the training values (schedule-free's x depends on them), not from
# the evaluation weights the parameters hold at that moment.
_SWAPPED: dict[int, tuple[Tensor, Tensor]] = {}


def training_value(p: Tensor) -> Tensor:
    """``p``'s training value: the recorded one while a block has swapped it, else ``p`` itself (detached).

    Example:
        >>> import torch
        >>> training_value(torch.ones(1))
        tensor([1.])
    """
    entry = _SWAPPED.get(id(p))
    return entry[1] if entry is not None and entry[0] is p else p.detach()


def refuse_step_while_swapped(params: Iterable[Tensor]) -> None:
    """Raise if any of ``params`` holds evaluation weights (an [`eval_params`][optimtx.eval_params] block is open).

    A step there would start from the evaluation weights as if they were the training point, and the
    block's exit would then overwrite the step.

    Example:
        >>> import torch
        >>> refuse_step_while_swapped([torch.zeros(1)])
    """
    if _SWAPPED and any(id(p) in _SWAPPED and _SWAPPED[id(p)][0] is p for p in params):
        raise RuntimeError(
            "optimizer.step() was called inside an eval_params() block, where the parameters hold the "
            "evaluation weights, not the training point; step after the block ends."
        )


def register(p: Tensor, training: Tensor) -> bool:
    """Record ``p``'s training value unless an enclosing block has (the outermost block holds the training one).

    Returns whether this call recorded it (and so must `forget` it).

    Example:
        >>> import torch
        >>> p = torch.zeros(1)
        >>> register(p, p.clone()), register(p, p.clone())
        (True, False)
        >>> forget(id(p))
    """
    if id(p) in _SWAPPED and _SWAPPED[id(p)][0] is p:
        return False
    _SWAPPED[id(p)] = (p, training)
    return True


def forget(key: int) -> None:
    """Drop the record made by `register` for ``id(p) == key``.

    Example:
        >>> forget(12345)
    """
    _SWAPPED.pop(key, None)
