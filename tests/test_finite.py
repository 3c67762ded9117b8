"""apply_if_finite: non-finite steps give zeros, keep the inner state and are counted."""

from __future__ import annotations

import io
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import optimtx as otx
from optimtx.transforms.finite import found_nonfinite
from tests.strategies import trees


@settings(max_examples=30)
@given(data=st.data(), dtype=st.sampled_from([torch.float16, torch.bfloat16, torch.float32, torch.float64]))
def test_found_nonfinite_matches_isfinite(data, dtype):
    tree = data.draw(trees(nonfinite=True, dtype=dtype))
    expected = not all(torch.isfinite(v).all() for v in tree.values())
    assert found_nonfinite(list(tree.values())).item() == float(expected)


@settings(max_examples=15)
@given(pattern=st.lists(st.booleans(), min_size=1, max_size=8))
def test_counters_and_skips_follow_the_pattern(pattern):
    inner = otx.sgd(0.1, momentum=0.9)
    tx = otx.apply_if_finite(inner)
    params = {"w": torch.ones(2)}
    state, ref_state = tx.init(params), inner.init(params)
    consecutive = total = 0
    for finite in pattern:
        g = {"w": torch.ones(2) if finite else torch.tensor([1.0, math.inf])}
        before = _bytes(state.inner_state)
        u, state = tx.update(g, state, params)
        if finite:
            expected, ref_state = inner.update(g, ref_state, params)
            assert torch.equal(u["w"], expected["w"])
            consecutive = 0
        else:
            assert torch.equal(u["w"], torch.zeros(2)) and _bytes(state.inner_state) == before
            consecutive, total = consecutive + 1, total + 1
        assert state.notfinite_count.item() == consecutive and state.total_notfinite.item() == total
        assert state.last_finite.item() == finite


def test_empty_tree_and_bad_inner():
    assert found_nonfinite([]).item() == 0.0
    with pytest.raises(TypeError, match="GradientTransformation"):
        otx.apply_if_finite(object())


def _bytes(state) -> bytes:
    buf = io.BytesIO()
    torch.save(state, buf)
    return buf.getvalue()
