"""add_decayed_weights: updates + weight_decay * params, with masks."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import optimtx as otx
from tests.strategies import trees


def _params(tree):
    return {k: v * 0.5 + 1 for k, v in tree.items()}


@given(tree=trees(), wd=st.floats(0.0, 1.0))
def test_adds_decayed_params(tree, wd):
    params = _params(tree)
    for wd_form in (wd, torch.tensor(wd)):
        tx = otx.add_decayed_weights(wd_form)
        out, _ = tx.update(tree, tx.init(params), params)
        for k in tree:
            torch.testing.assert_close(out[k], tree[k] + wd * params[k])


@given(tree=trees(min_leaves=2), data=st.data())
def test_masked_leaves_pass_unchanged(tree, data):
    params = _params(tree)
    mask = {k: data.draw(st.booleans()) for k in tree}
    for mask_form in (mask, lambda p: mask):
        tx = otx.add_decayed_weights(0.5, mask=mask_form)
        out, _ = tx.update(tree, tx.init(params), params)
        assert list(out) == list(tree)
        for k in tree:
            expected = tree[k] + 0.5 * params[k] if mask[k] else tree[k]
            torch.testing.assert_close(out[k], expected, rtol=0, atol=0)


def test_callable_mask_gets_the_params():
    params = {"w": torch.ones(2, 2), "b": torch.ones(2)}
    tx = otx.add_decayed_weights(1.0, mask=lambda p: {k: v.ndim > 1 for k, v in p.items()})
    out, _ = tx.update({k: torch.zeros_like(v) for k, v in params.items()}, tx.init(params), params)
    assert torch.equal(out["w"], torch.ones(2, 2)) and torch.equal(out["b"], torch.zeros(2))


def test_needs_params():
    tx = otx.add_decayed_weights(0.1)
    with pytest.raises(ValueError, match="needs the current parameters"):
        tx.update({"w": torch.ones(1)}, tx.init({}))


def test_mask_must_cover_every_parameter():
    params = {"w": torch.ones(1), "b": torch.ones(1)}
    tx = otx.add_decayed_weights(0.1, mask={"w": True, "x": False})
    with pytest.raises(ValueError, match=r"missing \['b'\].*unexpected \['x'\]"):
        tx.update(params, tx.init(params), params)


def test_mask_values_must_be_bools():
    params = {"w": torch.ones(1)}
    tx = otx.add_decayed_weights(0.1, mask={"w": torch.tensor(True)})
    with pytest.raises(TypeError, match="bools"):
        tx.update(params, tx.init(params), params)


def test_params_must_match_updates():
    tx = otx.add_decayed_weights(0.1)
    with pytest.raises(ValueError, match=r"updates do not match.*missing \[.v.\], unexpected \[.w.\]"):
        tx.update({"w": torch.ones(1)}, tx.init({}), {"v": torch.ones(1)})
