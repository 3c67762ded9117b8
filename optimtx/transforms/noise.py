"""Annealed Gaussian gradient noise (``add_noise``), drawn from a counter-based generator kept in the state.

The noise is a pure function of (seed, step, entry): a SplitMix64 hash of those integers gives uniform
bits, and Box-Muller turns pairs of them into normal values. Everything is integer and float tensor
arithmetic on the parameters' device, so an update neither reads back to the host nor touches a global
generator, compiles, and gives the same noise for the same state.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import torch
from torch import Tensor

from optimtx.core.base import GradientTransformation, Params, Updates
from optimtx.core.state_tree import check_state, has_complex, on_real_view, params_device, wide_float, zero_counter
from optimtx.core.tree import Tree, rebuild
from optimtx.core.validation import check_non_negative
from optimtx.transforms._checks import matched_to_params

__all__ = ["AddNoiseState", "add_noise", "normal_like"]

_GOLDEN = -7046029254386353131  # 0x9E3779B97F4A7C15 as a signed int64
_MIX1 = -4658895280553007687  # 0xBF58476D1CE4E5B9
_MIX2 = -7723592293110705685  # 0x94D049BB133111EB


class AddNoiseState(NamedTuple):
    """State of `add_noise`.

    Attributes:
        count: how many updates were made (int64 0-d).
        rng_key: the seed the noise is drawn from (int64 0-d).
    """

    count: Tensor  # type: ignore[assignment]  # public field name (a contract); shadows tuple.count on purpose
    rng_key: Tensor


def _shift_right(x: Tensor, bits: int) -> Tensor:
    """Logical right shift of int64 values (torch's ``>>`` keeps the sign bit)."""
    return (x >> bits) & ((1 << (64 - bits)) - 1)


def _splitmix64(x: Tensor) -> Tensor:
    """SplitMix64's finaliser: 64 well-mixed bits from an int64 (arithmetic wraps around, as intended)."""
    z = x + _GOLDEN
    z = (z ^ _shift_right(z, 30)) * _MIX1
    z = (z ^ _shift_right(z, 27)) * _MIX2
    return z ^ _shift_right(z, 31)


def _uniform(bits: Tensor, dtype: torch.dtype) -> Tensor:
    """A value in (0, 1) from the top 53 bits."""
    return (_shift_right(bits, 11).to(dtype) + 0.5) * 2.0**-53


def normal_like(key: Tensor, count: Tensor, tensors: list[Tensor]) -> list[Tensor]:
    """Standard normal noise shaped like each tensor, a pure function of ``key``, ``count`` and the entry.

    Example:
        >>> a = normal_like(torch.tensor(0), torch.tensor(1), [torch.zeros(2)])
        >>> b = normal_like(torch.tensor(0), torch.tensor(1), [torch.zeros(2)])
        >>> torch.equal(a[0], b[0]), a[0].shape
        (True, torch.Size([2]))
    """
    stream = _splitmix64(_splitmix64(key) + count)
    out, offset = [], 0
    for t in tensors:
        wide = wide_float(t.device)
        index = torch.arange(offset, offset + t.numel(), dtype=torch.int64, device=t.device) * 2
        u1 = _uniform(_splitmix64(stream.to(t.device) + index), wide)
        u2 = _uniform(_splitmix64(stream.to(t.device) + index + 1), wide)
        z = torch.sqrt(-2.0 * torch.log(u1)) * torch.cos(2.0 * math.pi * u2)
        out.append(z.reshape(t.shape).to(t.dtype))
        offset += t.numel()
    return out


def _seed(key: int | torch.Generator | None) -> int:
    if isinstance(key, torch.Generator):  # one draw, at construction
        return int(torch.randint(-(2**62), 2**62, (), generator=key, device=key.device))
    if key is None:
        return 0
    if isinstance(key, bool) or not isinstance(key, int):
        raise TypeError(f"key must be an int seed or a torch.Generator, got {key!r}.")
    return key


def add_noise(
    eta: float | Tensor, gamma: float | Tensor, key: int | torch.Generator | None = None
) -> GradientTransformation:
    """Add Gaussian noise of variance ``eta / t ** gamma`` at step ``t`` (from 1) to every update.

    The noise comes from a counter-based generator (see the module docstring) whose seed and step live in
    `AddNoiseState`: the same state gives the same noise, nothing global is touched, and the noise is
    made on the updates' device. Its values differ from optax's (JAX's generator).

    Args:
        eta: the initial variance (>= 0).
        gamma: how fast the variance decays (>= 0).
        key: an int seed, or a ``torch.Generator`` a seed is drawn from once; ``None`` means seed 0.

    References:
        Neelakantan et al., 2015, *Adding Gradient Noise Improves Learning for Very Deep Networks*.
        optax: ``optax.add_noise``.

    Example:
        >>> tx = add_noise(0.01, 0.55, key=0)
        >>> g = {"w": torch.zeros(1000)}
        >>> u, state = tx.update(g, tx.init(g))
        >>> round(u["w"].std().item(), 1)  # sqrt(0.01 / 1 ** 0.55)
        0.1
    """
    check_non_negative("eta", eta)
    check_non_negative("gamma", gamma)
    seed = _seed(key)

    def init(params: Params) -> AddNoiseState:
        key_tensor = torch.tensor(seed, dtype=torch.int64, device=params_device(params))
        return AddNoiseState(count=zero_counter(params), rng_key=key_tensor)

    def update(
        updates: Updates, state: AddNoiseState, params: Params | None = None, **extra: Any
    ) -> tuple[Tree, AddNoiseState]:
        check_state(state, AddNoiseState, "add_noise")
        us = matched_to_params(updates, params)
        if has_complex(us):  # noise on the real and imaginary parts alike, as on the real view
            return on_real_view(update, updates, state, params, extra)
        count = state.count + 1
        noise = normal_like(state.rng_key, count, us)
        std = torch.sqrt(eta / count.to(wide_float(count.device)) ** gamma)
        out = [u + std.to(u.device, u.dtype) * n for u, n in zip(us, noise, strict=True)]
        return rebuild(updates, out), AddNoiseState(count=count, rng_key=state.rng_key)

    return GradientTransformation(init, update)
