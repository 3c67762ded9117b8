"""LossScaler on its own: GradScaler parity of the scale sequence, state round-trips, disabled mode."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from optimtx.wrapper.loss_scaler import LossScaler


@given(overflows=st.lists(st.booleans(), min_size=1, max_size=12), interval=st.integers(1, 3))
def test_scale_sequence_matches_grad_scaler(overflows, interval):
    ours = LossScaler(init_scale=16.0, growth_interval=interval)
    ref = torch.amp.GradScaler("cpu", init_scale=16.0, growth_interval=interval)
    p_ours, p_ref = torch.nn.Parameter(torch.ones(2)), torch.nn.Parameter(torch.ones(2))
    opt_ours, opt_ref = torch.optim.SGD([p_ours], lr=0.1), torch.optim.SGD([p_ref], lr=0.1)
    for overflow in overflows:
        factor = float("inf") if overflow else 1.0
        for scaler, p, opt in ((ours, p_ours, opt_ours), (ref, p_ref, opt_ref)):
            scaler.scale((p * factor).sum()).backward()
            scaler.step(opt)
            scaler.update()
            opt.zero_grad()
        assert ours.get_scale() == ref.get_scale()
        assert ours.step_was_skipped() == overflow
        assert torch.equal(p_ours, p_ref)
    assert ours.state_dict() == ref.state_dict()


def test_loads_a_grad_scaler_state():
    ref = torch.amp.GradScaler("cpu", init_scale=32.0, growth_interval=7)
    ours = LossScaler()
    ours.load_state_dict(ref.state_dict())
    assert ours.state_dict() == ref.state_dict()


def test_disabled_scaler_passes_through():
    scaler = LossScaler(enabled=False)
    loss = torch.tensor(3.0)
    assert scaler.scale(loss) is loss
    p = torch.nn.Parameter(torch.ones(1))
    p.grad = torch.tensor([float("inf")])
    scaler.step(torch.optim.SGD([p], lr=1.0))
    scaler.update()
    assert torch.isnan(p).all() or torch.isinf(p).all()
    assert not scaler.step_was_skipped() and scaler.get_scale() == 1.0
    scaler.load_state_dict(LossScaler(init_scale=4.0).state_dict())
    assert scaler.get_scale() == 1.0


def test_unscale_happens_once_per_step():
    p = torch.nn.Parameter(torch.ones(1))
    opt = torch.optim.SGD([p], lr=1.0)
    scaler = LossScaler(init_scale=4.0)
    scaler.scale(p.sum()).backward()
    scaler.unscale_(opt)
    scaler.unscale_(opt)
    assert torch.equal(p.grad, torch.tensor([1.0]))


@pytest.mark.parametrize(
    ("kwargs", "error", "needle"),
    [
        (dict(init_scale=0.0), ValueError, "init_scale"),
        (dict(growth_factor=1.0), ValueError, "growth_factor"),
        (dict(backoff_factor=1.5), ValueError, "1.5"),
        (dict(growth_interval=0), ValueError, "growth_interval"),
        (dict(enabled="yes"), TypeError, "'yes'"),
    ],
)
def test_bad_arguments(kwargs, error, needle):
    with pytest.raises(error, match=needle):
        LossScaler(**kwargs)


def test_bad_state_is_rejected():
    with pytest.raises(TypeError, match="dict"):
        LossScaler().load_state_dict([1.0])
    with pytest.raises(ValueError, match="_growth_tracker"):
        LossScaler().load_state_dict({"scale": 1.0, "growth_factor": 2.0, "backoff_factor": 0.5, "growth_interval": 1})


@given(
    values=st.lists(st.floats(-1e4, 1e4) | st.sampled_from([float("inf"), float("nan")]), min_size=1, max_size=8),
    scale=st.sampled_from([1.0, 3.0, 1024.0, 65536.0]),
    half=st.booleans(),
)
def test_in_place_unscale_equals_pure_unscale_grads(values, scale, half):
    from optimtx.transforms.amp import unscale_grads

    dtype = torch.float16 if half else torch.float32
    grad = torch.tensor(values, dtype=dtype)
    p = torch.nn.Parameter(torch.zeros(len(values), dtype=dtype))
    p.grad = grad.clone()
    scaler = LossScaler(init_scale=scale)
    scaler.unscale_(torch.optim.SGD([p], lr=0.1))
    (expected,), found = unscale_grads([grad], torch.tensor(scale))
    torch.testing.assert_close(p.grad, expected, rtol=0, atol=0, equal_nan=True)
    assert torch.equal(scaler._found(), found)
