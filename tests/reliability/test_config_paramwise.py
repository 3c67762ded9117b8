"""Hostile and careless paramwise_cfg values: refused before anything is built, caller's dicts untouched."""

from __future__ import annotations

import copy
import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import optimtx as otx

MULTS = [
    "bias_lr_mult",
    "bias_decay_mult",
    "norm_decay_mult",
    "dwconv_decay_mult",
    "flat_decay_mult",
    "dcn_offset_lr_mult",
]
BAD_NUMBERS = [-1.0, -1e-12, math.nan, math.inf, -math.inf]
BAD_TYPES = ["x", "0.1", True, None.__class__, [0.1], {"v": 1}, torch.tensor([0.1, 0.2])]


def _model():
    return torch.nn.Sequential(torch.nn.Conv2d(2, 2, 3, groups=2), torch.nn.BatchNorm2d(2), torch.nn.Linear(2, 2))


def _build(paramwise_cfg):
    model = _model()
    before = copy.deepcopy(paramwise_cfg)
    try:
        return otx.build_optim_wrapper(
            model, dict(optimizer=dict(type="SGD", lr=0.1, weight_decay=1e-4), paramwise_cfg=paramwise_cfg)
        )
    finally:
        assert repr(paramwise_cfg) == repr(before)  # never mutated, whatever happened


@pytest.mark.parametrize("mult", MULTS)
@pytest.mark.parametrize("value", BAD_NUMBERS)
def test_bad_multiplier_values_are_refused(mult, value):
    with pytest.raises(ValueError, match=mult):
        _build({mult: value})


@pytest.mark.parametrize("mult", MULTS)
@pytest.mark.parametrize("value", BAD_TYPES, ids=repr)
def test_bad_multiplier_types_are_refused(mult, value):
    with pytest.raises(TypeError, match=mult):
        _build({mult: value})


@pytest.mark.parametrize(
    ("custom_keys", "error", "match"),
    [
        ({"0": 2.0}, TypeError, r"custom_keys\['0'\] must be a dict"),
        ({"0": dict(lr_mult="x")}, TypeError, "lr_mult"),
        ({"0": dict(lr_mult=-1.0)}, ValueError, "lr_mult"),
        ({"0": dict(decay_mult=math.nan)}, ValueError, "decay_mult"),
        ({"0": dict(decay_mult=math.inf)}, ValueError, "decay_mult"),
        ({"": dict(lr_mult=1.0)}, TypeError, "non-empty"),
        ({3: dict(lr_mult=1.0)}, TypeError, "non-empty"),
        ({"0": {1: 2}}, TypeError, "option names"),
        ({"0": dict(params=[])}, ValueError, "params"),
        (["0"], TypeError, "custom_keys must be a dict"),
    ],
)
def test_bad_custom_keys_are_refused(custom_keys, error, match):
    with pytest.raises(error, match=match):
        _build(dict(custom_keys=custom_keys))


@pytest.mark.parametrize("value", ["yes", "False", 1, None])
def test_bypass_duplicate_must_be_a_bool(value):
    with pytest.raises(TypeError, match="bypass_duplicate"):
        _build(dict(bypass_duplicate=value))


@given(value=st.floats(0.0, 1e3, allow_nan=False), mult=st.sampled_from(MULTS))
def test_every_finite_non_negative_multiplier_builds(value, mult):
    wrapper = _build({mult: value})
    assert all(math.isfinite(g["lr"]) and g["lr"] >= 0 for g in wrapper.optimizer.param_groups)


def test_other_custom_options_pass_through_to_the_group():
    wrapper = _build(dict(custom_keys={"2.": dict(lr_mult=2.0, momentum=0.5)}))
    (group,) = [g for g in wrapper.optimizer.param_groups if g.get("momentum") == 0.5]
    assert group["lr"] == pytest.approx(0.2)
