"""optax.contrib's reduce_on_plateau: a hand-worked schedule, refusals and purity (parity: test_optax_rules_parity)."""

from __future__ import annotations

import pytest
import torch

from optimtx.optax.contrib import reduce_on_plateau


def test_a_hand_worked_sequence_of_losses():
    # patience 2, cooldown 1: two non-improving checks halve the scale, the next check only cools down.
    tx = reduce_on_plateau(factor=0.5, patience=2, cooldown=1)
    g = {"w": torch.ones(2, dtype=torch.float64)}
    state, scales = tx.init(g), []
    for loss in (3.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 1.0):
        u, state = tx.update(g, state, value=torch.tensor(loss))
        scales.append(float(u["w"][0]))
    assert scales == [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25, 0.25]


def test_min_scale_is_a_floor():
    tx = reduce_on_plateau(factor=0.1, patience=1, min_scale=0.05)
    g = {"w": torch.ones(1)}
    state = tx.init(g)
    for _ in range(4):
        _, state = tx.update(g, state, value=torch.tensor(1.0))
    assert float(state.scale) == pytest.approx(0.05)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"factor": 1.0}, "factor"),
        ({"rtol": -1.0}, "rtol"),
        ({"rtol": 0.0, "atol": 0.0}, "rtol > 0"),
        ({"rtol": 2.0}, "<= 1"),
    ],
)
def test_malformed_arguments_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        reduce_on_plateau(**kwargs)


def test_update_without_value_is_refused_and_inputs_stay_untouched():
    tx = reduce_on_plateau()
    g = {"w": torch.ones(2)}
    state = tx.init(g)
    with pytest.raises(TypeError, match="value="):
        tx.update(g, state)
    before = [t.clone() for t in state]
    tx.update(g, state, value=torch.tensor(2.0))
    assert all(torch.equal(a, b) for a, b in zip(before, state, strict=True))
