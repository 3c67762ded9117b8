"""optax.contrib's schedule_free_sgd / schedule_free_adamw: refusals and laws (parity is in test_optax_rules_parity)."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import optimtx as otx
import optimtx.optax.contrib as contrib


@pytest.mark.parametrize("factory", [contrib.schedule_free_sgd, contrib.schedule_free_adamw])
@pytest.mark.parametrize("bad", [-1, 2.5, True])
def test_a_malformed_warmup_is_refused(factory, bad):
    with pytest.raises(ValueError, match="warmup_steps"):
        factory(warmup_steps=bad)


@pytest.mark.parametrize("factory", [contrib.schedule_free_sgd, contrib.schedule_free_adamw])
def test_b1_zero_is_refused(factory):
    with pytest.raises(ValueError, match="b1"):
        factory(b1=0.0)


def test_update_needs_params():
    tx = contrib.schedule_free_adamw()
    p = {"w": torch.ones(2)}
    with pytest.raises((TypeError, ValueError), match="params"):
        tx.update({"w": torch.ones(2)}, tx.init(p))


@given(
    st.lists(st.floats(-10, 10), min_size=3, max_size=3),
    st.integers(0, 3),
    st.sampled_from(["sgd", "adamw"]),
)
def test_pure_and_deterministic(grad, warmup, which):
    factory = contrib.schedule_free_sgd if which == "sgd" else contrib.schedule_free_adamw
    tx = factory(0.5, warmup_steps=warmup, weight_decay=0.1)
    p = {"w": torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)}
    g = {"w": torch.tensor(grad, dtype=torch.float64)}
    before = (p["w"].clone(), g["w"].clone())
    state = tx.init(p)
    first = tx.update(g, state, p)
    second = tx.update(g, state, p)
    torch.testing.assert_close(p["w"], before[0])
    torch.testing.assert_close(g["w"], before[1])
    torch.testing.assert_close(first[0], second[0])
    assert otx.apply_updates(p, first[0])["w"].isfinite().all()
