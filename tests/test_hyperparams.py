"""inject_hyperparams: same results as the plain factory; values readable, settable and schedulable."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import optimtx as otx
from tests.strategies import trees

CASES = [
    (otx.sgd, {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.01}),
    (otx.adam, {"lr": 0.01, "betas": (0.8, 0.99), "eps": 1e-6}),
    (otx.adamw, {"lr": 0.01, "weight_decay": 0.1}),
    (otx.clip_by_global_norm, {"max_norm": 0.5}),
]


@pytest.mark.parametrize("factory,kwargs", CASES, ids=[f.__name__ for f, _ in CASES])
@settings(max_examples=8)
@given(tree=trees(min_ndim=1))
def test_injected_equals_plain(factory, kwargs, tree):
    params = {k: v + 1 for k, v in tree.items()}
    plain, injected = factory(**kwargs), otx.inject_hyperparams(factory)(**kwargs)
    s1, s2 = plain.init(params), injected.init(params)
    for _ in range(3):
        u1, s1 = plain.update(tree, s1, params)
        u2, s2 = injected.update(tree, s2, params)
        for k in tree:
            torch.testing.assert_close(u2[k], u1[k], rtol=1e-6, atol=1e-7)


def test_get_and_set_hyperparams_inside_a_chain():
    tx = otx.chain(otx.clip_by_global_norm(1.0), otx.inject_hyperparams(otx.adam)(lr=0.1, betas=(0.9, 0.999)))
    state = tx.init({"w": torch.ones(2)})
    hp = otx.get_hyperparams(state)
    assert set(hp) == {"lr", "betas"} and hp["lr"].dtype == torch.float32
    assert isinstance(hp["betas"], tuple) and hp["betas"][1].item() == pytest.approx(0.999)
    new = otx.set_hyperparams(state, lr=0.5, betas=(torch.tensor(0.5), torch.tensor(0.9)))
    assert otx.get_hyperparams(new)["lr"].item() == 0.5
    assert otx.get_hyperparams(state)["lr"].item() == pytest.approx(0.1)  # input untouched
    u_new, _ = tx.update({"w": torch.ones(2)}, new)
    ref = otx.chain(otx.clip_by_global_norm(1.0), otx.adam(0.5, betas=(0.5, 0.9)))
    u_ref, _ = ref.update({"w": torch.ones(2)}, ref.init({"w": torch.ones(2)}))
    torch.testing.assert_close(u_new["w"], u_ref["w"])


def test_schedule_follows_the_count_and_records_the_value_used():
    sched = otx.schedules.linear(1.0, 0.0, 4)
    tx = otx.inject_hyperparams(otx.sgd)(lr=sched)
    state = tx.init({"w": torch.zeros(1)})
    seen = []
    for _ in range(5):
        u, state = tx.update({"w": torch.ones(1)}, state)
        seen.append(-u["w"].item())
        assert otx.get_hyperparams(state)["lr"].item() == pytest.approx(seen[-1])
    assert seen == pytest.approx([1.0, 0.75, 0.5, 0.25, 0.0])


def test_tuple_valued_schedule_matches_fixed_betas_and_records_each_value():
    """A schedule may return a tuple hyperparameter (betas); each update converts it element by element."""
    g = {"w": torch.tensor([1.0, -2.0, 0.5])}
    scheduled = otx.inject_hyperparams(otx.adam)(lr=0.1, betas=lambda count: (0.8, 0.99))
    plain = otx.adam(lr=0.1, betas=(0.8, 0.99))
    s1, s2 = scheduled.init(g), plain.init(g)
    for _ in range(3):
        (u1, s1), (u2, s2) = scheduled.update(g, s1), plain.update(g, s2)
        torch.testing.assert_close(u1["w"], u2["w"], rtol=1e-6, atol=0)
    varying = otx.inject_hyperparams(otx.adam)(lr=0.1, betas=lambda count: (0.9 - 0.1 * count, 0.999))
    state = varying.init(g)
    for step in range(3):
        _, state = varying.update(g, state)
        b1, b2 = otx.get_hyperparams(state)["betas"]
        assert (b1.item(), b2.item()) == pytest.approx((0.9 - 0.1 * step, 0.999))


@settings(max_examples=15)
@given(pattern=st.lists(st.booleans(), min_size=1, max_size=8))
def test_skipped_steps_do_not_advance_schedules(pattern):
    sched = otx.schedules.exponential_decay(1.0, 1, 0.5)
    tx = otx.apply_if_finite(otx.inject_hyperparams(otx.sgd)(lr=sched))
    state = tx.init({"w": torch.zeros(1)})
    applied = 0
    for finite in pattern:
        g = {"w": torch.ones(1) if finite else torch.tensor([math.nan])}
        u, state = tx.update(g, state)
        if finite:
            assert -u["w"].item() == pytest.approx(0.5**applied)
            applied += 1
    assert otx.get_hyperparams(state)["lr"].item() == pytest.approx(0.5 ** max(applied - 1, 0))
    assert state.inner_state.count.item() == applied


def test_static_and_int_arguments_stay_python_values():
    tx = otx.inject_hyperparams(otx.sgd, static_args=("dampening",))(0.1, momentum=0.9, dampening=0.0, nesterov=True)
    assert set(otx.get_hyperparams(tx.init({"w": torch.ones(1)}))) == {"lr", "momentum"}


def test_float64_params_get_float64_hyperparams():
    tx = otx.inject_hyperparams(otx.sgd)(lr=0.1)
    state = tx.init({"w": torch.ones(1, dtype=torch.float64)})
    assert otx.get_hyperparams(state)["lr"].dtype == torch.float64
    assert otx.get_hyperparams(state)["lr"].item() == 0.1  # no float32 rounding on the way
    assert otx.get_hyperparams(otx.set_hyperparams(state, lr=0.3))["lr"].item() == 0.3


def test_errors():
    tx = otx.inject_hyperparams(otx.sgd)(lr=0.1)
    state = tx.init({"w": torch.ones(1)})
    with pytest.raises(ValueError, match=r"Unknown hyperparameters \['momentum'\].*\['lr'\]"):
        otx.set_hyperparams(state, momentum=0.9)
    with pytest.raises(ValueError, match="0-d"):
        otx.set_hyperparams(state, lr=torch.ones(2))
    with pytest.raises(ValueError, match="No InjectHyperparamsState"):
        otx.get_hyperparams(otx.sgd(0.1).init({"w": torch.ones(1)}))
    with pytest.raises(ValueError, match="lr"):
        otx.inject_hyperparams(otx.sgd)(lr=-1.0)  # validated when built
    with pytest.raises(TypeError, match="unexpected keyword"):
        otx.inject_hyperparams(otx.sgd)(lr=0.1, betas=(0.9, 0.9))
    with pytest.raises(TypeError, match="factory"):
        otx.inject_hyperparams(3)
    adam_state = otx.inject_hyperparams(otx.adam)(lr=0.1, betas=(0.9, 0.99)).init({"w": torch.ones(1)})
    with pytest.raises(ValueError, match=r"pair \(beta1, beta2\)|sequence of 2"):
        otx.set_hyperparams(adam_state, betas=0.9)
