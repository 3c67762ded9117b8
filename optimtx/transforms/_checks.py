"""The check every parameter-free transform still makes: updates match the params when ``update`` gets them."""

from __future__ import annotations

from collections.abc import Mapping

from torch import Tensor

from optimtx.core.tree import check_leaves, matched_leaves


def matched_to_params(updates: Mapping[str, Tensor], params: Mapping[str, Tensor] | None) -> list[Tensor]:
    """``updates``' tensors, checked leaf by leaf, and against ``params`` by name, order, shape and dtype if given.

    Example:
        >>> import torch
        >>> matched_to_params({"w": torch.ones(1)}, {"w": torch.zeros(1)})
        [tensor([1.])]
    """
    return check_leaves(updates) if params is None else matched_leaves(updates, params)
