"""Wrapper arguments are refused clearly at construction; counts and mid-window resumes behave as documented."""

from __future__ import annotations

import math
import warnings

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

import optimtx as otx
from optimtx.core.warnings import AccumulationResumeWarning


def _opt():
    return torch.optim.SGD([nn.Parameter(torch.ones(2))], lr=0.1)


@pytest.mark.parametrize("optimizer", [None, "SGD", torch.optim.SGD, nn.Linear(1, 1), 3, {"lr": 0.1}])
def test_wrong_optimizer_types_are_a_type_error(optimizer):
    with pytest.raises(TypeError, match=r"torch.optim.Optimizer"):
        otx.OptimWrapper(optimizer)
    with pytest.raises(TypeError, match=r"torch.optim.Optimizer"):
        otx.AmpOptimWrapper(optimizer=optimizer)


@pytest.mark.parametrize(
    ("value", "error"),
    [(0, ValueError), (-2, ValueError), (2.0, TypeError), ("2", TypeError), (True, TypeError), (None, TypeError)],
)
def test_bad_accumulative_counts(value, error):
    with pytest.raises(error, match=r"accumulative_counts"):
        otx.OptimWrapper(_opt(), accumulative_counts=value)


BAD_CLIPS = [
    (dict(max_norm=math.nan), ValueError),
    (dict(max_norm=-1.0), ValueError),
    (dict(max_norm="1"), TypeError),
    (dict(max_norm=True), TypeError),
    (dict(max_norm=1.0, norm_type=0), ValueError),
    (dict(max_norm=1.0, norm_type="two"), ValueError),
    (dict(max_norm=1.0, error_if_nonfinite="False"), TypeError),
    (dict(max_norm=1.0, error_if_nonfinite=1), TypeError),
    (dict(max_norm=1.0, foreach="yes"), TypeError),
    (dict(max_norm=1.0, max_nrom=2.0), ValueError),
    (dict(type="value", clip_value=math.nan), ValueError),
    (dict(type="value", clip_value=-0.5), ValueError),
    (dict(type="value", max_norm=1.0), ValueError),
    (dict(type=["norm"], max_norm=1.0), ValueError),
    (dict(type="l2", max_norm=1.0), ValueError),
    ({}, TypeError),
    ([("max_norm", 1.0)], TypeError),
]


@pytest.mark.parametrize(("clip_grad", "error"), BAD_CLIPS)
def test_bad_clip_grad_is_refused_and_the_callers_dict_is_untouched(clip_grad, error):
    caller = dict(clip_grad) if isinstance(clip_grad, dict) else list(clip_grad)
    with pytest.raises(error):
        otx.OptimWrapper(_opt(), clip_grad=clip_grad)
    assert clip_grad == caller or any(v != v for v in getattr(clip_grad, "values", list)())


@pytest.mark.parametrize(
    ("init", "maximum", "error"),
    [
        ("3", 10, TypeError),
        (-1, 10, ValueError),
        (11, 10, ValueError),
        (2.5, 10, TypeError),
        (1.0, 10, TypeError),
        (0, -5, ValueError),
        (0, 10.5, TypeError),
        (True, 10, TypeError),
        (None, 10, TypeError),
    ],
)
def test_initialize_count_status_refuses_bad_counts_and_changes_nothing(init, maximum, error):
    wrapper = otx.OptimWrapper(_opt(), accumulative_counts=3)
    before = (wrapper._inner_count, wrapper._max_counts, wrapper._remainder_counts)
    with pytest.raises(error):
        wrapper.initialize_count_status(nn.Linear(1, 1), init, maximum)
    assert (wrapper._inner_count, wrapper._max_counts, wrapper._remainder_counts) == before


def _run(wrapper, p, losses):
    for scale in losses:
        wrapper.update_params((scale * p).sum())


@given(acc=st.integers(1, 4), done=st.integers(0, 9), more=st.integers(1, 8))
def test_resume_mid_window_does_exactly_what_the_docs_say(acc, done, more):
    """The window's earlier gradients are lost; the rest of it still divides by acc; later windows are whole."""
    p = nn.Parameter(torch.zeros(1))
    wrapper = otx.OptimWrapper(torch.optim.SGD([p], lr=1.0), accumulative_counts=acc)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        wrapper.initialize_count_status(nn.Linear(1, 1), done, 100)
    assert any(issubclass(w.category, AccumulationResumeWarning) for w in caught) == (done % acc != 0)
    _run(wrapper, p, [1.0] * more)
    # expected: every micro-batch gradient 1/acc; a step applies whatever was summed since the last step
    expected, pending = 0.0, 0.0
    for count in range(done + 1, done + more + 1):
        pending += 1.0 / acc
        if count % acc == 0:
            expected -= pending
            pending = 0.0
    torch.testing.assert_close(p.detach(), torch.tensor([expected]))


def test_mid_window_checkpoint_records_the_count_and_warns_once_on_load():
    p = nn.Parameter(torch.zeros(1))
    wrapper = otx.OptimWrapper(torch.optim.SGD([p], lr=1.0), accumulative_counts=4)
    _run(wrapper, p, [1.0] * 6)
    sd = wrapper.state_dict()
    assert sd["inner_count"] == 6
    resumed = otx.OptimWrapper(torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=1.0), accumulative_counts=4)
    with pytest.warns(AccumulationResumeWarning, match=r"2 micro-batches done"):
        resumed.load_state_dict(sd)
    assert resumed.inner_count == 6
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        resumed.initialize_count_status(nn.Linear(1, 1), 6, 100)  # once per wrapper: no second warning
    bad = {**sd, "inner_count": -1}
    with pytest.raises(ValueError, match=r"inner_count|init_counts"):
        resumed.load_state_dict(bad)
    assert "inner_count" not in otx.OptimWrapper(_opt()).state_dict()  # no accumulation: torch's keys only


@pytest.mark.parametrize(
    "state",
    [
        {"state": {}, "param_groups": "x"},
        {"state": {}, "param_groups": [None]},
        {"state": [], "param_groups": [{"params": [0], "lr": 0.1}]},
        {"state": {}, "param_groups": [{"lr": 0.1}]},
        "not a dict",
    ],
)
def test_malformed_optimizer_states_are_clear_errors(state):
    wrapper = otx.OptimWrapper(_opt())
    with pytest.raises((ValueError, TypeError)):
        wrapper.load_state_dict(state)
    assert wrapper.get_lr() == {"lr": [0.1]}


def test_non_tensor_losses_and_flags_are_refused():
    wrapper = otx.AmpOptimWrapper(optimizer=_opt())
    with pytest.raises(TypeError, match="loss"):
        wrapper.update_params(1.0)
    with pytest.raises(TypeError, match="tensor loss"):
        wrapper.loss_scaler.scale(2.0)
    with pytest.raises(TypeError, match="use_fsdp"):
        otx.AmpOptimWrapper(optimizer=_opt(), use_fsdp="no")
    assert wrapper.inner_count == 0
