"""Clipping transforms equal torch.nn.utils.clip_grad_norm_ / clip_grad_value_."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import optimtx as otx
from tests.strategies import clone_tree, trees


def _torch_clip_norm(tree, max_norm, norm_type):
    grads = clone_tree(tree)
    params = [torch.nn.Parameter(torch.zeros_like(g)) for g in grads.values()]
    for p, g in zip(params, grads.values(), strict=True):
        p.grad = g
    total = torch.nn.utils.clip_grad_norm_(params, max_norm, norm_type)
    return {k: p.grad for k, p in zip(grads, params, strict=True)}, total


@given(
    tree=trees(nonfinite=True),
    max_norm=st.floats(0.0, 10.0),
    norm_type=st.sampled_from([1.0, 2.0, 3.0, math.inf]),
)
def test_clip_by_global_norm_matches_torch(tree, max_norm, norm_type):
    expected, total = _torch_clip_norm(tree, max_norm, norm_type)
    tx = otx.clip_by_global_norm(max_norm, norm_type)
    got, state = tx.update(tree, tx.init(tree))
    for k in tree:
        torch.testing.assert_close(got[k], expected[k], equal_nan=True, rtol=0, atol=0)
    torch.testing.assert_close(state.norm, total.float(), equal_nan=True)


@given(tree=trees(nonfinite=True), clip_value=st.floats(0.0, 10.0))
def test_clip_by_value_matches_torch(tree, clip_value):
    grads = clone_tree(tree)
    params = [torch.nn.Parameter(torch.zeros_like(g)) for g in grads.values()]
    for p, g in zip(params, grads.values(), strict=True):
        p.grad = g
    torch.nn.utils.clip_grad_value_(params, clip_value)
    tx = otx.clip_by_value(clip_value)
    got, _ = tx.update(tree, tx.init(tree))
    for k, p in zip(tree, params, strict=True):
        torch.testing.assert_close(got[k], p.grad, equal_nan=True, rtol=0, atol=0)


def test_error_if_nonfinite_raises():
    tx = otx.clip_by_global_norm(1.0, error_if_nonfinite=True)
    g = {"w": torch.tensor([math.inf])}
    with pytest.raises(RuntimeError, match="non-finite"):
        tx.update(g, tx.init(g))


@pytest.mark.parametrize("bad", [-1.0, math.nan])
def test_negative_max_norm_rejected(bad):
    with pytest.raises(ValueError, match="max_norm"):
        otx.clip_by_global_norm(bad)


def test_bad_norm_type_rejected():
    with pytest.raises(ValueError, match="norm_type"):
        otx.clip_by_global_norm(1.0, norm_type=-2)
