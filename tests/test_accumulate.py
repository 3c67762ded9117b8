"""accumulate: k calls equal one call of the inner transform on the window's mean (or sum)."""

from __future__ import annotations

import io

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import optimtx as otx
from tests.strategies import clone_tree, trees


def _grads(tree, k):
    return [{n: v * (i + 1) + i for n, v in tree.items()} for i in range(k)]


@settings(max_examples=20)
@given(tree=trees(), k=st.integers(1, 4), average=st.booleans())
def test_window_equals_inner_on_mean_or_sum(tree, k, average):
    params = {n: v + 1 for n, v in tree.items()}
    inner = otx.adam(0.1)
    tx = otx.accumulate(inner, k, average=average)
    state = tx.init(params)
    window = _grads(tree, k)
    for g in window[:-1]:
        updates, new_state = tx.update(g, state, params)
        assert all(torch.equal(u, torch.zeros_like(u)) for u in updates.values())
        assert _bytes(new_state.inner_state) == _bytes(state.inner_state)
        state = new_state
    updates, state = tx.update(window[-1], state, params)
    total = {n: sum(g[n] for g in window) for n in tree}
    combined = {n: t / k for n, t in total.items()} if average else total
    expected, _ = inner.update(combined, inner.init(params), params)
    for n in tree:
        torch.testing.assert_close(updates[n], expected[n])
    assert state.mini_step.item() == 0 and state.gradient_step.item() == 1
    assert all(torch.equal(a, torch.zeros_like(a)) for a in state.acc_grads.values())


@settings(max_examples=10)
@given(tree=trees(min_ndim=1), k=st.integers(2, 4), stop=st.integers(1, 7))  # 0-d: core's trace promotes
def test_resuming_from_state_dict_is_bitwise_identical(tree, k, stop):
    params = {n: v + 1 for n, v in tree.items()}
    tx = otx.accumulate(otx.sgd(0.1, momentum=0.9), k)
    grads = _grads(tree, 8)

    def run(state, gs):
        outs = []
        for g in gs:
            u, state = tx.update(g, state, params)
            outs.append(u)
        return outs, state

    straight, _ = run(tx.init(params), grads)
    first, mid = run(tx.init(params), grads[:stop])
    buf = io.BytesIO()
    torch.save(otx.state_dict(mid), buf)
    buf.seek(0)
    resumed_state = otx.load_state_dict(tx.init(params), torch.load(buf, weights_only=True))
    rest, _ = run(resumed_state, grads[stop:])
    for a, b in zip(straight, first + rest, strict=True):
        for n in tree:
            assert torch.equal(a[n], b[n])


def test_inputs_are_not_mutated_and_counters_are_int64():
    tx = otx.accumulate(otx.sgd(0.1), 2)
    g = {"w": torch.ones(3)}
    before = clone_tree(g)
    state = tx.init(g)
    _, state = tx.update(g, state, g)
    assert torch.equal(g["w"], before["w"])
    assert state.mini_step.dtype == torch.int64 and state.gradient_step.dtype == torch.int64
    assert state.mini_step.item() == 1


def test_schedules_see_applied_updates_only():
    tx = otx.accumulate(otx.inject_hyperparams(otx.sgd)(lr=otx.schedules.linear(1.0, 0.0, 4)), 3)
    state = tx.init({"w": torch.zeros(1)})
    for _ in range(6):
        _, state = tx.update({"w": torch.ones(1)}, state)
    assert otx.get_hyperparams(state)["lr"].item() == pytest.approx(0.75)  # 2 applied updates: value at count 1


@pytest.mark.parametrize(
    "kwargs,exc,match",
    [
        ({"every_k": 0}, ValueError, "every_k"),
        ({"every_k": 2.0}, TypeError, "every_k"),
        ({"every_k": 2, "average": "yes"}, TypeError, "average"),
    ],
)
def test_invalid_arguments(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        otx.accumulate(otx.identity(), **kwargs)


def test_inner_must_be_a_transform():
    with pytest.raises(TypeError, match="GradientTransformation"):
        otx.accumulate("sgd", 2)


def _bytes(state) -> bytes:
    buf = io.BytesIO()
    torch.save(state, buf)
    return buf.getvalue()
