"""``ZeroRedundancyOptimizer`` that takes the local optimizer by name, for configs."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch
import torch.distributed as dist
from torch.distributed.optim import ZeroRedundancyOptimizer as _TorchZeroRedundancyOptimizer


def local_optimizer_class(optimizer_type: str) -> type[torch.optim.Optimizer]:
    """The ``torch.optim`` class named ``optimizer_type``.

    Example:
        >>> local_optimizer_class("SGD")
        <class 'torch.optim.sgd.SGD'>
    """
    cls = getattr(torch.optim, optimizer_type, None) if isinstance(optimizer_type, str) else None
    if not (isinstance(cls, type) and issubclass(cls, torch.optim.Optimizer)):
        raise ValueError(
            f"optimizer_type must name a torch.optim optimizer class, got {optimizer_type!r}; e.g. 'SGD' or 'AdamW'."
        )
    return cls


class ZeroRedundancyOptimizer(_TorchZeroRedundancyOptimizer):
    """torch's ZeRO-1 optimizer with the local optimizer given by name (``optimizer_type='SGD'``).

    Needs an initialised process group. ``state_dict()`` gathers the shards on every
    rank and returns the full state on rank 0 and ``{}`` on the other ranks.

    Args:
        params: parameters or param-group dicts, sharded across the ranks.
        optimizer_type: name of the ``torch.optim`` class each rank runs on its shard.
        **kwargs: the local optimizer's hyperparameters and torch's ZeRO options.

    Example:
        >>> import inspect
        >>> list(inspect.signature(ZeroRedundancyOptimizer).parameters)[:2]
        ['params', 'optimizer_type']
    """

    def __init__(self, params: Iterable[Any], optimizer_type: str, **kwargs: Any):
        super().__init__(list(params), local_optimizer_class(optimizer_type), **kwargs)

    def state_dict(self) -> dict[str, Any]:
        """The consolidated state on rank 0; ``{}`` elsewhere."""
        self.consolidate_state_dict()
        return super().state_dict() if dist.get_rank() == 0 else {}
