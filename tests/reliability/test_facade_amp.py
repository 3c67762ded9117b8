"""AmpOptimWrapper / LossScaler at the edges, against torch.amp.GradScaler('cpu')."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

import optimtx as otx
from optimtx.wrapper.loss_scaler import LossScaler
from tests.reliability.facade_helpers import optimizer_snapshot, same


def _wrapper(params, **kwargs):
    kwargs.setdefault("loss_scale", dict(init_scale=2.0**10))
    return otx.AmpOptimWrapper(optimizer=torch.optim.SGD(params, lr=0.1), **kwargs)


def test_error_inside_step_leaves_the_gradients_scaled_and_the_next_step_right():
    p, q = nn.Parameter(torch.ones(2)), nn.Parameter(torch.ones(2))
    wrapper = _wrapper([p], clip_grad=dict(max_norm=1.0, error_if_nonfinite=True))
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0**10)
    ref = torch.optim.SGD([q], lr=0.1)
    wrapper.backward((p * torch.tensor([float("inf"), 1.0])).sum())
    with pytest.raises(RuntimeError, match=r"non-finite"):
        wrapper.step()
    assert not wrapper.loss_scaler.unscaled
    wrapper.zero_grad()
    # the loop carries on: the next step must unscale again, as GradScaler does after update()
    wrapper.update_params((3 * p).sum())
    scaler.scale((3 * q).sum()).backward()
    scaler.unscale_(ref)
    torch.nn.utils.clip_grad_norm_([q], 1.0)
    scaler.step(ref)
    scaler.update()
    torch.testing.assert_close(p.detach(), q.detach())


def test_error_inside_step_then_more_backward_accumulates_consistently():
    p = nn.Parameter(torch.ones(2))
    wrapper = _wrapper([p], clip_grad=dict(max_norm=100.0))
    wrapper.backward((2 * p).sum())
    before = p.grad.clone()
    original = wrapper.optimizer.step
    wrapper.optimizer.step = lambda **kw: (_ for _ in ()).throw(RuntimeError("device lost"))
    with pytest.raises(RuntimeError, match=r"device lost"):
        wrapper.step()
    assert torch.equal(p.grad, before)  # scaled again, bit for bit (power-of-two scale)
    wrapper.optimizer.step = original
    wrapper.backward((2 * p).sum())  # the window goes on with consistently scaled gradients
    wrapper.step()
    torch.testing.assert_close(p.detach(), torch.full((2,), 1 - 0.1 * 4))


def test_step_with_closure_is_refused_before_anything_changes():
    p = nn.Parameter(torch.ones(2))
    wrapper = _wrapper([p])
    wrapper.backward(p.sum())
    before = optimizer_snapshot(wrapper)
    with pytest.raises(ValueError, match=r"closure"):
        wrapper.step(closure=lambda: p.sum())
    assert same(optimizer_snapshot(wrapper), before)
    with pytest.raises(ValueError, match=r"closure"):
        LossScaler().step(wrapper.optimizer, closure=lambda: None)
    disabled = otx.AmpOptimWrapper(optimizer=torch.optim.SGD([p], lr=0.1), dtype="bfloat16")
    disabled.step(closure=lambda: p.sum())  # no scaling: nothing to protect, as before


BAD_LOSS_SCALES = [
    (dict(init_scale=math.inf), ValueError),
    (dict(init_scale=math.nan), ValueError),
    (dict(init_scale=0.0), ValueError),
    (dict(init_scale=-2.0), ValueError),
    (dict(init_scale=1e40), ValueError),
    (dict(init_scale="65536"), TypeError),
    (dict(growth_factor=1.0), ValueError),
    (dict(growth_factor=0.5), ValueError),
    (dict(growth_factor=math.inf), ValueError),
    (dict(backoff_factor=1.0), ValueError),
    (dict(backoff_factor=0.0), ValueError),
    (dict(backoff_factor=math.nan), ValueError),
    (dict(growth_interval=0), ValueError),
    (dict(growth_interval=2.5), TypeError),
    (dict(enabled="yes"), TypeError),
    (dict(scale=2.0), ValueError),
    (math.inf, ValueError),
    (1e39, ValueError),
    (-1, ValueError),
    ("static", TypeError),
    (True, TypeError),
]


@pytest.mark.parametrize(("loss_scale", "error"), BAD_LOSS_SCALES)
def test_bad_loss_scale_arguments_are_refused_at_construction(loss_scale, error):
    caller = dict(loss_scale) if isinstance(loss_scale, dict) else loss_scale
    with pytest.raises(error):
        otx.AmpOptimWrapper(optimizer=torch.optim.SGD([nn.Parameter(torch.ones(1))], lr=0.1), loss_scale=loss_scale)
    assert caller == loss_scale or caller != caller


def test_bf16_dynamic_stays_unscaled():
    wrapper = otx.AmpOptimWrapper(optimizer=torch.optim.SGD([nn.Parameter(torch.ones(1))], lr=0.1), dtype="bfloat16")
    assert not wrapper.loss_scaler.is_enabled() and wrapper.loss_scaler.get_scale() == 1.0


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("scale", math.nan),
        ("scale", 0.0),
        ("scale", -4.0),
        ("scale", math.inf),
        ("scale", "big"),
        ("growth_factor", 1.0),
        ("backoff_factor", 2.0),
        ("growth_interval", 0),
        ("_growth_tracker", -1),
        ("_growth_tracker", 1.5),
    ],
)
def test_corrupt_loss_scaler_state_is_refused_and_nothing_loads(key, value):
    p = nn.Parameter(torch.ones(2))
    wrapper = _wrapper([p])
    wrapper.update_params(p.sum())
    good = otx.AmpOptimWrapper(optimizer=torch.optim.SGD([nn.Parameter(torch.ones(2))], lr=0.7)).state_dict()
    bad = {**good, "loss_scaler": {**good["loss_scaler"], key: value}}
    before = optimizer_snapshot(wrapper)
    with pytest.raises((ValueError, TypeError), match=key):
        wrapper.load_state_dict(bad)
    assert same(optimizer_snapshot(wrapper), before)
    assert wrapper.get_lr() == {"lr": [0.1]}  # the optimizer part was not loaded first
    with pytest.raises((ValueError, TypeError)):
        wrapper.loss_scaler.load_state_dict(bad["loss_scaler"])


def test_gradscaler_state_with_tensors_loads():
    scaler = torch.amp.GradScaler("cpu", init_scale=8.0)
    ours = LossScaler()
    ours.load_state_dict(scaler.state_dict())
    assert ours.get_scale() == 8.0


def test_sparse_embedding_matches_gradscaler():
    torch.manual_seed(0)
    emb, ref_emb = nn.Embedding(6, 3, sparse=True), nn.Embedding(6, 3, sparse=True)
    ref_emb.load_state_dict(emb.state_dict())
    wrapper = otx.AmpOptimWrapper(
        optimizer=torch.optim.SGD(emb.parameters(), lr=0.5), loss_scale=dict(init_scale=2.0**8)
    )
    ref = torch.optim.SGD(ref_emb.parameters(), lr=0.5)
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0**8)
    idx = torch.tensor([1, 2, 2, 4])
    for _ in range(2):
        wrapper.update_params(emb(idx).sum())
        ref.zero_grad()
        scaler.scale(ref_emb(idx).sum()).backward()
        scaler.step(ref)
        scaler.update()
    torch.testing.assert_close(emb.weight, ref_emb.weight)
    assert wrapper.loss_scaler.get_scale() == scaler.get_scale()


def test_sparse_gradients_with_clip_grad_are_refused_naming_the_parameter():
    emb = nn.Embedding(6, 3, sparse=True)
    wrapper = otx.AmpOptimWrapper(optimizer=torch.optim.SGD(emb.parameters(), lr=0.5), clip_grad=dict(max_norm=1.0))
    wrapper.backward(emb(torch.tensor([1])).sum())
    grad = emb.weight.grad.to_dense().clone()
    with pytest.raises(ValueError, match=r"sparse.*\(6, 3\)"):
        wrapper.step()
    torch.testing.assert_close(emb.weight.grad.to_dense(), grad)  # still scaled, as before step()


def test_sparse_gradients_under_amp_transform_optimizer_are_refused_up_front():
    emb = nn.Embedding(6, 3, sparse=True)
    wrapper = otx.AmpOptimWrapper(optimizer=otx.TransformOptimizer(emb.parameters(), dict(type="sgd", lr=0.5)))
    wrapper.backward(emb(torch.tensor([1])).sum())
    before = emb.weight.detach().clone()
    with pytest.raises(ValueError, match=r"sparse"):
        wrapper.step()
    assert torch.equal(emb.weight.detach(), before)


@pytest.mark.parametrize("dtype", [torch.complex64, torch.float64, torch.bfloat16])
def test_complex_and_mixed_dtype_parameters_match_gradscaler(dtype):
    torch.manual_seed(0)
    values = [torch.randn(3).to(dtype), torch.randn(2)]
    ours = [nn.Parameter(v.clone()) for v in values]
    theirs = [nn.Parameter(v.clone()) for v in values]
    wrapper = otx.AmpOptimWrapper(
        optimizer=torch.optim.SGD(ours, lr=0.1, momentum=0.9), loss_scale=dict(init_scale=2.0**4), dtype="float32"
    )
    ref = torch.optim.SGD(theirs, lr=0.1, momentum=0.9)
    scale = 2.0**4
    for step in range(3):
        grads = [torch.randn(v.shape).to(v.dtype) for v in values]
        if step == 1:
            grads[1] = torch.tensor([float("inf"), 0.0])  # one skipped step
        wrapper.backward(
            sum((p * g).real.sum() if p.is_complex() else (p * g).sum() for p, g in zip(ours, grads, strict=True))
        )
        wrapper.step()
        wrapper.zero_grad()
        if step != 1:
            for q, g in zip(theirs, grads, strict=True):
                q.grad = g.conj() if g.is_complex() else g.clone()
            ref.step()
        scale = scale / 2 if step == 1 else scale
    assert wrapper.loss_scaler.get_scale() == scale
    for a, b in zip(ours, theirs, strict=True):
        tol = 2e-2 if a.dtype == torch.bfloat16 else 1e-6
        torch.testing.assert_close(a.detach(), b.detach(), rtol=tol, atol=tol)


def test_complex_gradients_through_clip_grad_match_torch():
    torch.manual_seed(0)
    values = [torch.randn(3, dtype=torch.complex64), torch.randn(2)]
    ours = [nn.Parameter(v.clone()) for v in values]
    theirs = [nn.Parameter(v.clone()) for v in values]
    wrapper = otx.OptimWrapper(torch.optim.SGD(ours, lr=0.1), clip_grad=dict(max_norm=0.5))
    ref = torch.optim.SGD(theirs, lr=0.1)
    for a, b in zip(ours, theirs, strict=True):
        g = torch.randn(a.shape, dtype=a.dtype)
        a.grad, b.grad = g, g.clone()
    wrapper.step()
    norm = torch.nn.utils.clip_grad_norm_(theirs, 0.5)
    ref.step()
    torch.testing.assert_close(wrapper.last_grad_norm, norm)
    for a, b in zip(ours, theirs, strict=True):
        torch.testing.assert_close(a.detach(), b.detach())


def test_complex_parameters_under_amp_transform_optimizer_match_torch():
    torch.manual_seed(0)
    value = torch.randn(3, dtype=torch.complex64)
    a, b = nn.Parameter(value.clone()), nn.Parameter(value.clone())
    wrapper = otx.AmpOptimWrapper(
        optimizer=otx.TransformOptimizer([a], dict(type="sgd", lr=0.1, momentum=0.9)),
        loss_scale=dict(init_scale=16.0),
        dtype="float32",
    )
    ref = torch.optim.SGD([b], lr=0.1, momentum=0.9)
    for _ in range(3):
        g = torch.randn(3, dtype=torch.complex64)
        wrapper.update_params((a * g).real.sum())
        b.grad = g.conj()
        ref.step()
    torch.testing.assert_close(a.detach(), b.detach())
