"""The facade's clip_grad parsing and in-place clipping, against torch's clip functions."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from optimtx.wrapper.grad_clipping import clip_grads_, parse_clip_grad


@given(
    seed=st.integers(0, 2**16),
    max_norm=st.floats(0.01, 10.0),
    norm_type=st.sampled_from([1.0, 2.0, 3.0, math.inf]),
)
def test_norm_clip_matches_clip_grad_norm(seed, max_norm, norm_type):
    torch.manual_seed(seed)
    params = [torch.nn.Parameter(torch.randn(3, 2)), torch.nn.Parameter(torch.randn(4))]
    grads = [torch.randn_like(p) * 5 for p in params]
    for p, g in zip(params, grads, strict=True):
        p.grad = g.clone()
    expected_norm = torch.nn.utils.clip_grad_norm_(params, max_norm, norm_type)
    ours = [g.clone() for g in grads]
    norm = clip_grads_(ours, parse_clip_grad(dict(max_norm=max_norm, norm_type=norm_type)))
    torch.testing.assert_close(norm, expected_norm)
    for p, g in zip(params, ours, strict=True):
        torch.testing.assert_close(g, p.grad)


def test_value_clip_matches_clip_grad_value():
    p = torch.nn.Parameter(torch.zeros(5))
    p.grad = torch.tensor([-3.0, -0.1, 0.0, 0.2, 7.0])
    ours = [p.grad.clone()]
    assert clip_grads_(ours, parse_clip_grad(dict(type="value", clip_value=0.5))) is None
    torch.nn.utils.clip_grad_value_([p], 0.5)
    assert torch.equal(ours[0], p.grad)


def test_parse_copies_and_keeps_the_caller_dict():
    clip = dict(type="norm", max_norm=1.0, foreach=True)
    config = parse_clip_grad(clip)
    assert config.kwargs == {"max_norm": 1.0, "foreach": True}
    assert clip == dict(type="norm", max_norm=1.0, foreach=True)
    assert parse_clip_grad(None) is None


@pytest.mark.parametrize(
    ("clip", "error", "needle"),
    [
        ({}, TypeError, "{}"),
        ("norm", TypeError, "'norm'"),
        (dict(type="norm"), ValueError, "max_norm"),
        (dict(max_norm=1, clip_vale=2), ValueError, "clip_vale"),
    ],
)
def test_bad_clip_grad(clip, error, needle):
    with pytest.raises(error, match=needle):
        parse_clip_grad(clip)
