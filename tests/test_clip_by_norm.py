"""clip_by_norm: the total norm by default (= clip_by_global_norm), each tensor's own norm with per_tensor=True."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import optimtx as otx
from tests.strategies import trees


@settings(max_examples=20)
@given(
    grads=trees(), max_norm=st.sampled_from([0.0, 1e-3, 1.0, 100.0]), norm_type=st.sampled_from([1.0, 2.0, math.inf])
)
def test_default_is_clip_by_global_norm(grads, max_norm, norm_type):
    got, _ = otx.clip_by_norm(max_norm, norm_type).update(grads, otx.clip_by_norm(max_norm, norm_type).init(grads))
    ref = otx.clip_by_global_norm(max_norm, norm_type)
    want, _ = ref.update(grads, ref.init(grads))
    for k in grads:
        torch.testing.assert_close(got[k], want[k], rtol=0, atol=0, equal_nan=True)


@settings(max_examples=20)
@given(
    grads=trees(nonfinite=True),
    max_norm=st.sampled_from([0.0, 1e-3, 1.0, 100.0]),
    norm_type=st.sampled_from([1.0, 2.0, 3.0, math.inf]),
)
def test_per_tensor_is_clip_grad_norm_on_each_tensor(grads, max_norm, norm_type):
    tx = otx.clip_by_norm(max_norm, norm_type, per_tensor=True)
    got, _ = tx.update(grads, tx.init(grads))
    for k, g in grads.items():
        want = g.clone()
        p = torch.nn.Parameter(torch.zeros_like(g))
        p.grad = want
        torch.nn.utils.clip_grad_norm_([p], max_norm, norm_type)
        torch.testing.assert_close(got[k], p.grad, rtol=1e-6, atol=0, equal_nan=True)


def test_per_tensor_leaves_small_tensors_alone_while_global_scales_all():
    g = {"big": torch.tensor([30.0, 40.0]), "small": torch.tensor([0.3, 0.4])}
    per = otx.clip_by_norm(1.0, per_tensor=True)
    glob = otx.clip_by_norm(1.0)
    assert torch.equal(per.update(g, per.init(g))[0]["small"], g["small"])
    assert glob.update(g, glob.init(g))[0]["small"].norm() < 0.02


def test_errors_name_the_argument():
    with pytest.raises(TypeError, match="per_tensor must be True or False, got 1"):
        otx.clip_by_norm(1.0, per_tensor=1)
    with pytest.raises(ValueError, match=r"Invalid max_norm: -1\.0"):
        otx.clip_by_norm(-1.0, per_tensor=True)


def test_config_name():
    tx = otx.TRANSFORMS.build(dict(type="clip_by_norm", max_norm=1.0, per_tensor=True))
    torch.testing.assert_close(
        tx.update({"w": torch.tensor([3.0, 4.0])}, tx.init({}))[0]["w"], torch.tensor([0.6, 0.8])
    )
