"""compile_step / compile_update give the eager pure results (checked with the cheap 'eager' backend)."""

from __future__ import annotations

import pytest
import torch

import optimtx as otx
from optimtx.compile import FlatLayout, compile_step, compile_update


def _tree(seed: int, dtypes=(torch.float32,)):
    gen = torch.Generator().manual_seed(seed)
    shapes = [(4, 3), (5,), (2, 2, 2), (1,)]
    return {f"t{i}": torch.randn(s, generator=gen).to(dtypes[i % len(dtypes)]) for i, s in enumerate(shapes)}


def _tx():
    return otx.chain(otx.clip_by_global_norm(0.5), otx.adamw(0.1, weight_decay=0.1))


def _eager_run(steps: int, dtypes):
    tx = _tx()
    params = _tree(0, dtypes)
    state = tx.init(params)
    for i in range(steps):
        updates, state = tx.update(_tree(10 + i, dtypes), state, params)
        params = otx.apply_updates(params, updates)
    return params


@pytest.mark.parametrize("donate", [False, True])
@pytest.mark.parametrize("dtypes", [(torch.float32,), (torch.float32, torch.float64)])
def test_compile_step_matches_eager_chain(donate, dtypes):
    fast = compile_step(_tx(), donate=donate, backend="eager")
    params = _tree(0, dtypes)
    state = fast.init(params)
    for i in range(4):
        params, state = fast.step(params, _tree(10 + i, dtypes), state)
    want = _eager_run(4, dtypes)
    assert list(params) == list(want)
    for key in want:
        assert params[key].dtype == want[key].dtype and params[key].shape == want[key].shape
        torch.testing.assert_close(params[key], want[key], rtol=1e-5, atol=1e-6)
    assert len(fast.layout().groups) == len(dtypes)


def test_compile_step_without_donate_leaves_inputs_alone():
    fast = compile_step(_tx(), backend="eager")
    params, grads = _tree(0), _tree(1)
    before = {k: v.clone() for k, v in params.items()}
    state = fast.init(params)
    state_before = [t.clone() for t in torch.utils._pytree.tree_leaves(state)]
    fast.step(params, grads, state)
    assert all(torch.equal(params[k], before[k]) for k in params)
    assert all(torch.equal(a, b) for a, b in zip(torch.utils._pytree.tree_leaves(state), state_before))


def test_compile_update_matches_eager_update():
    tx, fast = _tx(), compile_update(_tx(), backend="eager")
    params, grads = _tree(0), _tree(1)
    want, _ = tx.update(grads, tx.init(params), params)
    got, _ = fast.update(grads, fast.init(params), params)
    assert list(got) == list(want)
    for key in want:
        torch.testing.assert_close(got[key], want[key], rtol=1e-5, atol=1e-6)


def test_flatten_is_a_view_for_consecutive_leaves_and_a_copy_otherwise():
    buffer = torch.arange(6.0)
    tree = {"a": buffer[:2].view(2, 1), "b": buffer[2:]}
    layout = FlatLayout.of(tree)
    flat = layout.flatten(tree)["float32@cpu"]
    assert flat.data_ptr() == buffer.data_ptr() and torch.equal(flat, buffer)
    scattered = {"a": torch.ones(2, 1), "b": torch.zeros(4)}
    copied = layout.flatten(scattered)["float32@cpu"]
    assert torch.equal(copied, torch.tensor([1.0, 1, 0, 0, 0, 0]))
    back = layout.unflatten({"float32@cpu": copied})
    assert back["a"].shape == (2, 1) and torch.equal(back["b"], torch.zeros(4))


def test_flatten_reuses_the_out_buffer():
    layout = FlatLayout.of({"a": torch.ones(2), "b": torch.ones(3)})
    out: dict[str, torch.Tensor] = {}
    first = layout.flatten({"a": torch.ones(2), "b": torch.zeros(3)}, out=out)["float32@cpu"]
    second = layout.flatten({"a": torch.zeros(2), "b": torch.ones(3)}, out=out)["float32@cpu"]
    assert first.data_ptr() == second.data_ptr() == out["float32@cpu"].data_ptr()
    assert torch.equal(second, torch.tensor([0.0, 0, 1, 1, 1]))


def test_errors_name_the_fix():
    fast = compile_step(_tx(), backend="eager")
    with pytest.raises(ValueError, match="init"):
        fast.step(_tree(0), _tree(1), None)
    fast.init(_tree(0))
    with pytest.raises(ValueError, match="keys"):
        fast.step({"other": torch.ones(1)}, {"other": torch.ones(1)}, None)
