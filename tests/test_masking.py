"""masked and multi_transform equal applying each transform to its own subset."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import optimtx as otx
from tests.strategies import trees


def _sub(tree, names):
    return {k: tree[k] for k in names}


@settings(max_examples=20)
@given(tree=trees(min_ndim=1), data=st.data())
def test_masked_equals_inner_on_the_subset(tree, data):
    mask = {k: data.draw(st.booleans()) for k in tree}
    chosen = [k for k, m in mask.items() if m]
    params = {k: v + 1 for k, v in tree.items()}
    inner = otx.adamw(0.1, weight_decay=0.1)
    tx = otx.masked(inner, mask)
    state = tx.init(params)
    ref_state = inner.init(_sub(params, chosen))
    for _ in range(2):
        updates, state = tx.update(tree, state, params)
        expected, ref_state = inner.update(_sub(tree, chosen), ref_state, _sub(params, chosen))
        assert list(updates) == list(tree)
        for k in tree:
            assert torch.equal(updates[k], expected[k] if mask[k] else tree[k])
    assert repr(otx.state_dict(state.inner_state)) == repr(otx.state_dict(ref_state))


@settings(max_examples=20)
@given(tree=trees(min_ndim=1, max_leaves=5), data=st.data())
def test_multi_transform_equals_each_transform_on_its_labels(tree, data):
    labels = {k: data.draw(st.sampled_from(["fast", "slow", "frozen"])) for k in tree}
    transforms = {"fast": otx.sgd(0.5, momentum=0.9), "slow": otx.adam(0.01), "frozen": otx.scale(0.0)}
    params = {k: v + 1 for k, v in tree.items()}
    tx = otx.multi_transform(transforms, lambda p: {k: labels[k] for k in p})
    updates, state = tx.update(tree, tx.init(params), params)
    assert list(updates) == list(tree)
    for label, inner in transforms.items():
        names = [k for k in tree if labels[k] == label]
        expected, _ = inner.update(_sub(tree, names), inner.init(_sub(params, names)), _sub(params, names))
        for k in names:
            assert torch.equal(updates[k], expected[k])
        assert set(state.inner_states) == set(transforms)


def test_callable_mask_uses_updates_without_params():
    tx = otx.masked(otx.scale(2.0), lambda t: {k: v.ndim > 1 for k, v in t.items()})
    g = {"w": torch.ones(2, 2), "b": torch.ones(2)}
    updates, _ = tx.update(g, tx.init(g))
    assert torch.equal(updates["w"], 2 * g["w"]) and torch.equal(updates["b"], g["b"])


def test_unused_transform_is_allowed():
    tx = otx.multi_transform({"a": otx.sgd(0.1), "b": otx.adam(0.1)}, {"w": "a"})
    g = {"w": torch.ones(2)}
    updates, state = tx.update(g, tx.init(g), g)
    assert torch.allclose(updates["w"], torch.full((2,), -0.1))
    assert set(state.inner_states) == {"a", "b"}


def test_label_without_transform_lists_both_sides():
    tx = otx.multi_transform({"a": otx.identity()}, {"w": "a", "b": "nodecay"})
    with pytest.raises(ValueError, match=r"'nodecay'.*no transform.*\['a'\]"):
        tx.init({"w": torch.ones(1), "b": torch.ones(1)})


def test_parameter_without_label_is_named():
    tx = otx.multi_transform({"a": otx.identity()}, {"w": "a", "ghost": "a"})
    with pytest.raises(
        ValueError,
        match=r"missing \['b'\] \(parameters without an entry\).*unexpected \['ghost'\] \(entries for unknown names\)",
    ):
        tx.init({"w": torch.ones(1), "b": torch.ones(1)})


def test_mask_errors():
    with pytest.raises(ValueError, match="missing"):
        otx.masked(otx.identity(), {"w": True}).init({"w": torch.ones(1), "b": torch.ones(1)})
    with pytest.raises(TypeError, match="bool"):
        otx.masked(otx.identity(), {"w": 1}).init({"w": torch.ones(1)})
    with pytest.raises(TypeError, match="mask"):
        otx.masked(otx.identity(), ["w"])
    with pytest.raises(TypeError, match="GradientTransformation"):
        otx.masked(None, {})


def test_multi_transform_argument_errors():
    with pytest.raises(TypeError, match="non-empty dict"):
        otx.multi_transform({}, {})
    with pytest.raises(TypeError, match=r"transforms\['a'\]"):
        otx.multi_transform({"a": "sgd"}, {})
    with pytest.raises(TypeError, match="labels"):
        otx.multi_transform({"a": otx.identity()}, ["a"])
