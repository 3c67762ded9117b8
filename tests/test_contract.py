"""Generic laws, run over every entry of tests/transform_table.py.

The laws of the public kit (state_dict round trip, fullgraph compile equal to eager, no host reads,
placement) run over the same table in tests/test_testing_kit.py through optimtx.testing.check_transform;
this file keeps the laws the kit does not state (hypothesis-drawn trees, torch.save, errors, autograd).
"""

from __future__ import annotations

import io

import pytest
import torch
from hypothesis import given, settings

from tests.strategies import clone_tree, trees
from tests.transform_table import TABLE

IDS = [c.name for c in TABLE]


def _build(case):
    return case.factory(**case.kwargs)


def _call(tx, grads, state, params):
    return tx.update(grads, state, params)


def _stepped(case):
    """The transform, sample params, and its state after one update."""
    tx = _build(case)
    params = {"a": torch.randn(3, 2), "b": torch.randn(4)}
    _, state = _call(tx, {k: torch.randn_like(v) for k, v in params.items()}, tx.init(params), params)
    return tx, params, state


@pytest.mark.parametrize("case", TABLE, ids=IDS)
@settings(max_examples=10)
@given(tree=trees())
def test_update_is_pure_and_deterministic(case, tree):
    tx = _build(case)
    params = {k: v * 0.5 + 1 for k, v in tree.items()}
    state = tx.init(params)
    grads_before, params_before = clone_tree(tree), clone_tree(params)
    state_bytes = _serialise(state)
    u1, s1 = _call(tx, tree, state, params)
    u2, s2 = _call(tx, tree, state, params)
    for k in tree:  # inputs untouched
        assert torch.equal(tree[k], grads_before[k])
        assert torch.equal(params[k], params_before[k])
    assert _serialise(state) == state_bytes
    assert list(u1) == list(tree)  # keys and order kept
    for k in tree:  # bitwise reproducible
        torch.testing.assert_close(u1[k], u2[k], rtol=0, atol=0, equal_nan=True)
    assert _serialise(s1) == _serialise(s2)


@pytest.mark.parametrize("case", TABLE, ids=IDS)
def test_state_round_trips_through_torch_save(case):
    _, _, state = _stepped(case)
    buf = io.BytesIO()
    torch.save(state, buf)
    buf.seek(0)
    loaded = torch.load(buf, weights_only=False)
    assert _serialise(loaded) == _serialise(state)


@pytest.mark.parametrize(
    "case,kwargs,exc,match",
    [(c, kw, e, m) for c in TABLE for kw, e, m in c.invalid],
    ids=[f"{c.name}-{i}" for c in TABLE for i, _ in enumerate(c.invalid)],
)
def test_invalid_kwargs_raise(case, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        case.factory(**kwargs)


def _serialise(state) -> bytes:
    buf = io.BytesIO()
    torch.save(state, buf)
    return buf.getvalue()


@pytest.mark.parametrize("case", TABLE, ids=IDS)
def test_updates_and_states_keep_leaf_dtypes(case):
    """0-d and low-precision leaves keep their dtype (a 0-d hyperparameter tensor must not promote them)."""
    tx = _build(case)
    params = {
        "scalar": torch.tensor(0.5),
        "vec": torch.linspace(-1, 1, 4),
        "half": torch.linspace(-1, 1, 3, dtype=torch.bfloat16),
        "half_scalar": torch.tensor(0.25, dtype=torch.bfloat16),
    }
    state = tx.init(params)
    for _ in range(2):
        updates, state = _call(tx, {k: v * 0.1 for k, v in params.items()}, state, params)
    assert {k: u.dtype for k, u in updates.items()} == {k: p.dtype for k, p in params.items()}


@pytest.mark.parametrize(
    "case", [c for c in TABLE if c.differentiable], ids=[c.name for c in TABLE if c.differentiable]
)
def test_updates_are_differentiable_with_respect_to_gradients(case):
    """Autograd flows from the updates back to several gradient leaves (meta-learning through a step)."""
    tx = _build(case)
    params = {"a": torch.linspace(-1, 1, 6, dtype=torch.float64).reshape(2, 3), "b": torch.ones(4, dtype=torch.float64)}
    grads = {k: (v * 0.3 + 0.1).requires_grad_() for k, v in params.items()}
    state = tx.init(params)
    updates, state = _call(tx, grads, state, params)
    updates, _ = _call(tx, {k: g * 2 for k, g in grads.items()}, state, params)
    total = sum(u.sum() for u in updates.values())
    assert total.requires_grad
    total.backward()
    for g in grads.values():
        assert g.grad is not None and torch.isfinite(g.grad).all()
