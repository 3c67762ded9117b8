"""scale and scale_by_learning_rate."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import optimtx as otx
from tests.strategies import trees


@given(tree=trees(), factor=st.floats(-10.0, 10.0))
def test_scale_multiplies(tree, factor):
    tx = otx.scale(factor)
    out, _ = tx.update(tree, tx.init(tree))
    for k in tree:
        torch.testing.assert_close(out[k], tree[k] * factor)


@given(tree=trees(), lr=st.floats(0.0, 1.0), flip=st.booleans())
def test_constant_lr_scales_by_minus_lr(tree, lr, flip):
    tx = otx.scale_by_learning_rate(lr, flip_sign=flip)
    sign = -1.0 if flip else 1.0
    for lr_form in (lr, torch.tensor(lr)):
        tx = otx.scale_by_learning_rate(lr_form, flip_sign=flip)
        state = tx.init(tree)
        assert state == otx.EmptyState()
        out, _ = tx.update(tree, state)
        for k in tree:
            torch.testing.assert_close(out[k], tree[k] * (sign * lr))


def test_schedule_sees_the_count_before_incrementing():
    seen = []

    def schedule(count):
        seen.append(count.clone())
        return 0.5 * (count + 1)

    tx = otx.scale_by_learning_rate(schedule)
    state = tx.init({})
    g = {"w": torch.ones(1)}
    outs = []
    for _ in range(3):
        out, state = tx.update(g, state)
        outs.append(out["w"].item())
    assert [int(c) for c in seen] == [0, 1, 2]
    assert outs == [-0.5, -1.0, -1.5]
    assert state.count.dtype == torch.int64 and int(state.count) == 3


def test_schedule_state_is_a_counter():
    tx = otx.scale_by_learning_rate(lambda count: 0.1)
    state = tx.init({"w": torch.ones(2)})
    assert isinstance(state, otx.ScaleByLearningRateState)
    assert state.count.shape == () and state.count.dtype == torch.int64


@pytest.mark.parametrize("bad,exc", [(-0.1, ValueError), (float("nan"), ValueError), ("0.1", TypeError)])
def test_invalid_lr(bad, exc):
    with pytest.raises(exc, match="lr"):
        otx.scale_by_learning_rate(bad)


def test_lr_tensor_must_be_0d():
    with pytest.raises(ValueError, match="0-d"):
        otx.scale_by_learning_rate(torch.tensor([0.1, 0.2]))
