"""optax's stateful-schedule protocol in ``optimtx.optax``: extras reach the schedule, laws and refusals.

The numbers against optax (a stateful schedule, a WrappedSchedule, inject_hyperparams given a stateful
schedule) are in test_optax_namespace_parity.py; here what those cases cannot show.
"""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import optimtx.optax as optax


class LossScaled:
    """Learning rate ``0.1 * loss`` of the update it is used in; the state counts the updates seen."""

    def init(self):
        return torch.zeros((), dtype=torch.int64)

    def update(self, state, **extra):
        return state + 1

    def __call__(self, state, loss=1.0, **extra):
        return 0.1 * loss


def test_the_update_extras_reach_the_schedule_and_its_state_advances():
    tx = optax.inject_stateful_hyperparams(optax.sgd)(learning_rate=LossScaled())
    p = {"w": torch.zeros(2, dtype=torch.float64)}
    g = {"w": torch.ones(2, dtype=torch.float64)}
    state = tx.init(p)
    assert isinstance(state, optax.InjectStatefulHyperparamsState)
    updates, state = tx.update(g, state, p, loss=3.0)
    torch.testing.assert_close(updates["w"], torch.full((2,), -0.3, dtype=torch.float64))
    torch.testing.assert_close(state.hyperparams["learning_rate"], torch.tensor(0.3, dtype=torch.float64))
    assert int(state.hyperparams_states["learning_rate"]) == 1 and int(state.count) == 1


@settings(max_examples=15, deadline=None)
@given(st.lists(st.floats(-5, 5, allow_nan=False), min_size=1, max_size=4), st.floats(0.1, 4.0))
def test_pure_and_deterministic(values, loss):
    g = {"w": torch.tensor(values, dtype=torch.float64)}
    p = {"w": torch.zeros_like(g["w"])}
    tx = optax.inject_hyperparams(optax.adam)(learning_rate=LossScaled(), b1=0.8)
    state = tx.init(p)
    before = (g["w"].clone(), p["w"].clone())
    first = tx.update(g, state, p, loss=loss)
    second = tx.update(g, state, p, loss=loss)
    assert torch.equal(first[0]["w"], second[0]["w"])
    assert torch.equal(g["w"], before[0]) and torch.equal(p["w"], before[1])
    assert int(state.count) == 0  # the old state is untouched


def test_a_plain_inject_hyperparams_keeps_its_state():
    tx = optax.inject_hyperparams(optax.sgd)(learning_rate=0.1)
    assert isinstance(tx.init({"w": torch.zeros(1)}), optax.InjectHyperparamsState)


def test_refusals():
    with pytest.raises(TypeError, match="WrappedSchedule needs a schedule"):
        optax.WrappedSchedule(0.1)
    with pytest.raises(ValueError, match="static_args"):
        optax.inject_stateful_hyperparams(optax.sgd, static_args="nope")
    tx = optax.inject_stateful_hyperparams(optax.sgd)(learning_rate=LossScaled())
    other = optax.inject_hyperparams(optax.sgd)(learning_rate=0.1)
    p = {"w": torch.zeros(1)}
    with pytest.raises((TypeError, ValueError), match="inject_stateful_hyperparams"):
        tx.update({"w": torch.ones(1)}, other.init(p), p)
