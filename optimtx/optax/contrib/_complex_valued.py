"""optax.contrib's ``split_real_and_imaginary``: run a real transform on complex parameters' two parts.

On flat dicts, a complex entry ``k`` reaches the inner transform as two real entries,
``"k.real"`` and ``"k.imaginary"`` (optax's pair of leaves); real entries pass as they are.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

import torch
from torch import Tensor

from optimtx.core.base import GradientTransformation, Params, State, Updates

NOT_TRAJECTORIES: tuple[str, ...] = ("SplitRealAndImaginaryState",)

__all__ = ["SplitRealAndImaginaryState", "split_real_and_imaginary"]


class SplitRealAndImaginaryState(NamedTuple):
    """optax's state: the inner transform's state over the split tree.

    Example:
        >>> SplitRealAndImaginaryState._fields
        ('inner_state',)
    """

    inner_state: State


def _split(tree: Mapping[str, Tensor]) -> dict[str, Tensor]:
    out: dict[str, Tensor] = {}
    for k, v in tree.items():
        parts = {f"{k}.real": v.real, f"{k}.imaginary": v.imag} if v.is_complex() else {k: v}
        clash = set(parts) & (set(out) | (set(tree) - {k}))
        if clash:
            raise ValueError(f"split_real_and_imaginary: the split names {sorted(clash)} are already keys of the tree.")
        out |= parts
    return out


def _merge(split: Mapping[str, Tensor], like: Mapping[str, Tensor]) -> dict[str, Tensor]:
    return {
        k: torch.complex(split[f"{k}.real"], split[f"{k}.imaginary"]) if v.is_complex() else split[k]
        for k, v in like.items()
    }


def split_real_and_imaginary(inner: GradientTransformation) -> GradientTransformation:
    """optax.contrib's ``split_real_and_imaginary``: ``inner`` sees each complex tensor as two real ones.

    Example:
        >>> from optimtx.optax import clip_by_block_rms
        >>> tx = split_real_and_imaginary(clip_by_block_rms(1.0))
        >>> g = {"z": torch.tensor([3.0 + 0.5j])}
        >>> tx.update(g, tx.init(g))[0]  # the real part is clipped on its own
        {'z': tensor([1.+0.5000j])}
    """

    def init(params: Params) -> SplitRealAndImaginaryState:
        return SplitRealAndImaginaryState(inner.init(_split(params)))

    def update(
        updates: Updates, state: SplitRealAndImaginaryState, params: Params | None = None, **extra: Any
    ) -> tuple[dict[str, Tensor], SplitRealAndImaginaryState]:
        split_params = None if params is None else _split(params)
        out, inner_state = inner.update(_split(updates), state.inner_state, split_params, **extra)
        return _merge(out, updates), SplitRealAndImaginaryState(inner_state)

    return GradientTransformation(init, update)
