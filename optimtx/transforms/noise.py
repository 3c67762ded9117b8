"""Annealed Gaussian gradient noise (``add_noise``), with the random generator's state kept in the transform state."""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
from torch import Tensor

from optimtx.base import GradientTransformation, Params, Updates
from optimtx.state_tree import check_state, zero_counter
from optimtx.tree import Tree, check_leaves, rebuild
from optimtx.validation import check_non_negative


class AddNoiseState(NamedTuple):
    """State of :func:`add_noise`.

    Attributes:
        count: how many updates were made (int64 0-d).
        rng_state: the CPU ``torch.Generator`` state the next noise is drawn with (a uint8 tensor).
    """

    count: Tensor  # type: ignore[assignment]  # public field name (a contract); shadows tuple.count on purpose
    rng_state: Tensor


def generator_state(key: int | torch.Generator | None) -> Tensor:
    """The CPU generator state a seed (or a copy of ``key``'s state) stands for; ``None`` means seed 0.

    Example:
        >>> torch.equal(generator_state(3), generator_state(torch.Generator().manual_seed(3)))
        True
    """
    if isinstance(key, torch.Generator):
        if key.device.type != "cpu":
            raise ValueError(f"add_noise needs a CPU torch.Generator (its state is kept in the state), got {key!r}.")
        return key.get_state()
    if key is None:
        key = 0
    if isinstance(key, bool) or not isinstance(key, int):
        raise TypeError(f"key must be an int seed or a torch.Generator, got {key!r}.")
    return torch.Generator().manual_seed(key).get_state()


def add_noise(
    eta: float | Tensor, gamma: float | Tensor, key: int | torch.Generator | None = None
) -> GradientTransformation:
    """Add Gaussian noise of variance ``eta / t ** gamma`` at step ``t`` (from 1) to every update.

    The noise comes from a CPU ``torch.Generator`` whose state lives in :class:`AddNoiseState`, so an update is
    a pure function of its inputs (the same state gives the same noise) and nothing global is touched. It is
    drawn on the CPU and moved to the updates' device. The values differ from optax's, whose JAX generator torch
    does not have.

    Args:
        eta: the initial variance (>= 0).
        gamma: how fast the variance decays (>= 0).
        key: an int seed or a CPU ``torch.Generator`` (its current state is copied); ``None`` means seed 0.

    References:
        Neelakantan et al., 2015, *Adding Gradient Noise Improves Learning for Very Deep Networks*.
        optax: ``optax.add_noise``.

    Example:
        >>> tx = add_noise(0.01, 0.55, key=0)
        >>> s = tx.init({"w": torch.zeros(3)})
        >>> u, s = tx.update({"w": torch.zeros(3)}, s)
        >>> torch.equal(u["w"], tx.update({"w": torch.zeros(3)}, tx.init({"w": torch.zeros(3)}))[0]["w"])
        True
    """
    check_non_negative("eta", eta)
    check_non_negative("gamma", gamma)
    start = generator_state(key)

    def init(params: Params) -> AddNoiseState:
        return AddNoiseState(count=zero_counter(params), rng_state=start.clone())

    def update(
        updates: Updates, state: AddNoiseState, params: Params | None = None, **extra: Any
    ) -> tuple[Tree, AddNoiseState]:
        del params, extra
        check_state(state, AddNoiseState, "add_noise")
        us = check_leaves(updates)
        count = state.count + 1
        generator = torch.Generator()
        generator.set_state(state.rng_state)
        noise = [torch.randn(u.shape, generator=generator, dtype=u.dtype).to(u.device) for u in us]
        std = [torch.sqrt(eta / count.to(u.dtype) ** gamma).to(u.device) for u in us]
        out = [u + s * n for u, s, n in zip(us, std, noise, strict=True)]
        return rebuild(updates, out), AddNoiseState(count=count, rng_state=generator.get_state())

    return GradientTransformation(init, update)
