"""The number and 0-d-tensor forms of each batched kernel agree with plain tensor arithmetic."""

from __future__ import annotations

import torch
from hypothesis import given
from hypothesis import strategies as st

from optimtx.transforms import kernels
from tests.strategies import trees

SCALARS = st.floats(-2.0, 2.0)


def _pairs(tree):
    xs = list(tree.values())
    return xs, [x * 0.5 - 1 for x in xs]


def _both_forms(fn, xs, ys, *scalars):
    as_numbers = fn(xs, ys, *scalars)
    as_tensors = fn(xs, ys, *(torch.tensor(s, dtype=torch.float64) for s in scalars))
    return as_numbers, as_tensors


@given(tree=trees(dtype=torch.float64), alpha=SCALARS)
def test_add_scaled(tree, alpha):
    xs, ys = _pairs(tree)
    for out in _both_forms(kernels.add_scaled, xs, ys, alpha):
        for x, y, o in zip(xs, ys, out, strict=True):
            torch.testing.assert_close(o, x + alpha * y)


@given(tree=trees(dtype=torch.float64), weight=st.floats(0.0, 1.0))
def test_lerp(tree, weight):
    xs, ys = _pairs(tree)
    for out in _both_forms(kernels.lerp, xs, ys, weight):
        for x, y, o in zip(xs, ys, out, strict=True):
            torch.testing.assert_close(o, torch.lerp(x, y, weight))


@given(tree=trees(dtype=torch.float64), decay=st.floats(0.0, 1.0), rate=SCALARS)
def test_decay_add_square(tree, decay, rate):
    xs, gs = _pairs(tree)
    for out in _both_forms(kernels.decay_add_square, xs, gs, decay, rate):
        for x, g, o in zip(xs, gs, out, strict=True):
            torch.testing.assert_close(o, decay * x + rate * g * g)


@given(tree=trees(dtype=torch.float64), value=SCALARS)
def test_mul_and_add(tree, value):
    xs = list(tree.values())
    for v in (value, torch.tensor(value, dtype=torch.float64)):
        for x, m, a in zip(xs, kernels.mul(xs, v), kernels.add(xs, v), strict=True):
            torch.testing.assert_close(m, x * value)
            torch.testing.assert_close(a, x + value)


def test_tensor_scalars_keep_the_leaf_dtype():
    xs = [torch.ones(2, dtype=torch.float32)]
    out = kernels.add_scaled(xs, xs, torch.tensor(0.5, dtype=torch.float64))
    assert out[0].dtype == torch.float32
