"""``last_step`` (facade) and ``step_info`` (pure) equal what host-side torch code reports."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import optimtx as otx
from optimtx.wrapper.amp_optim_wrapper import AmpOptimWrapper
from optimtx.wrapper.optim_wrapper import OptimWrapper
from optimtx.wrapper.optim_wrapper_dict import OptimWrapperDict

grad_values = st.one_of(st.floats(-8.0, 8.0), st.sampled_from([math.inf, -math.inf, math.nan, 1e38]))


def test_last_step_is_none_before_the_first_step_and_untouched_by_micro_steps():
    p = torch.nn.Parameter(torch.ones(2))
    wrapper = OptimWrapper(torch.optim.SGD([p], lr=0.1), accumulative_counts=2, clip_grad=dict(max_norm=1.0))
    assert wrapper.last_step is None
    wrapper.update_params((3 * p).sum())
    assert wrapper.last_step is None  # a micro-step is not a step
    wrapper.update_params((3 * p).sum())
    first = wrapper.last_step
    assert first is not None and first.applied.dtype == torch.bool and first.grad_norm.dtype == torch.float32
    wrapper.update_params((3 * p).sum())
    assert wrapper.last_step is first
    torch.testing.assert_close(first.grad_norm, torch.tensor(3.0 * math.sqrt(2)))
    assert first.lrs == (0.1,) and bool(first.applied) and not bool(first.found_inf)
    assert float(first.loss_scale) == 1.0


def test_grad_norm_is_nan_without_norm_clipping_and_lrs_follow_the_groups():
    a, b = torch.nn.Parameter(torch.ones(1)), torch.nn.Parameter(torch.ones(1))
    opt = torch.optim.SGD([{"params": [a], "lr": 0.1}, {"params": [b], "lr": torch.tensor(0.2)}], lr=0.3)
    wrapper = OptimWrapper(opt)
    wrapper.update_params((a + b).sum())
    info = wrapper.last_step
    assert math.isnan(float(info.grad_norm)) and bool(info.applied)
    assert info.lrs[0] == 0.1 and isinstance(info.lrs[1], torch.Tensor) and float(info.lrs[1]) == pytest.approx(0.2)
    assert info.lrs[1] is not opt.param_groups[1]["lr"]  # a copy: later scheduler writes do not change it


def amp_case(fused: bool):
    p = torch.nn.Parameter(torch.zeros(3))
    q = torch.nn.Parameter(torch.zeros(3))
    opt = torch.optim.AdamW([p], lr=0.1, fused=fused)
    ref_opt = torch.optim.AdamW([q], lr=0.1, fused=fused)
    wrapper = AmpOptimWrapper(
        dict(init_scale=8.0, growth_interval=2), dtype="float32", optimizer=opt, clip_grad=dict(max_norm=1.0)
    )
    scaler = torch.amp.GradScaler("cpu", init_scale=8.0, growth_interval=2)
    return p, q, wrapper, ref_opt, scaler


@pytest.mark.parametrize("fused", [False, True], ids=["foreach", "fused"])
@settings(max_examples=10)
@given(steps=st.lists(st.lists(grad_values, min_size=3, max_size=3), min_size=1, max_size=5))
def test_amp_last_step_equals_grad_scaler_and_clip_grad_norm(fused, steps):
    # The fused path's documented difference: finite gradients whose norm overflows float32 skip the step.
    assume(not fused or all(abs(v) < 1e30 or not math.isfinite(v) for values in steps for v in values))
    p, q, wrapper, ref_opt, scaler = amp_case(fused)
    for values in steps:
        grad = torch.tensor(values, dtype=torch.float32)
        scaler.scale(torch.ones(()))  # GradScaler creates its scale lazily
        scale = scaler.get_scale()
        p.grad = grad * wrapper.loss_scaler.get_scale()
        q.grad = grad * scale
        wrapper.step()
        scaler.unscale_(ref_opt)
        norm = torch.nn.utils.clip_grad_norm_([q], 1.0)
        found = sum(v.item() for v in scaler._found_inf_per_device(ref_opt).values()) > 0
        scaler.step(ref_opt)
        scaler.update()
        info = wrapper.last_step
        assert bool(info.found_inf) == found and bool(info.applied) == (not found)
        assert float(info.loss_scale) == scale
        if not found:
            torch.testing.assert_close(info.grad_norm, norm)
        else:
            assert not math.isfinite(float(info.grad_norm))
        assert wrapper.loss_scaler.get_scale() == scaler.get_scale()
        torch.testing.assert_close(p.detach(), q.detach())


def test_optim_wrapper_dict_gives_one_last_step_per_wrapper():
    a, b = torch.nn.Parameter(torch.ones(1)), torch.nn.Parameter(torch.ones(1))
    wrappers = OptimWrapperDict(
        gen=OptimWrapper(torch.optim.SGD([a], lr=0.1)), disc=OptimWrapper(torch.optim.SGD([b], lr=0.2))
    )
    wrappers["gen"].update_params(a.sum())
    info = wrappers.last_step
    assert set(info) == {"gen", "disc"} and info["disc"] is None and info["gen"].lrs == (0.1,)


def test_pure_step_info_sees_amp_overflows_with_previous_state():
    tx = otx.chain(
        otx.clip_by_global_norm(1.0), otx.scale_by_amp(otx.inject_hyperparams(otx.sgd)(lr=0.1), init_scale=4.0)
    )
    params = {"w": torch.zeros(2)}
    state = tx.init(params)
    _, after = tx.update({"w": torch.tensor([float("inf"), 1.0])}, state, params)
    info = otx.step_info(after, previous=state)
    assert bool(info.found_inf) and not bool(info.applied)
    assert float(info.loss_scale) == 2.0  # the scale for the next loss, after the back-off
    assert isinstance(info.lrs[0], torch.Tensor) and float(info.lrs[0]) == pytest.approx(0.1)
    _, good = tx.update({"w": torch.tensor([3.0, 4.0])}, after, params)
    info = otx.step_info(good, previous=after)
    assert bool(info.applied) and not bool(info.found_inf)
    torch.testing.assert_close(info.grad_norm, torch.tensor(5.0))


def test_pure_step_info_defaults_and_flags_without_previous():
    info = otx.step_info(otx.sgd(0.1).init({"w": torch.zeros(1)}))
    assert bool(info.applied) and not bool(info.found_inf) and math.isnan(float(info.grad_norm))
    assert float(info.loss_scale) == 1.0 and info.lrs == ()
    tx = otx.apply_if_finite(otx.sgd(0.1))
    _, state = tx.update({"w": torch.tensor([math.nan])}, tx.init({"w": torch.zeros(1)}))
    assert bool(otx.step_info(state).found_inf)
    acc = otx.accumulate(otx.sgd(0.1), every_k=2)
    _, state = acc.update({"w": torch.ones(1)}, acc.init({"w": torch.zeros(1)}))
    assert not bool(otx.step_info(state).applied)  # a micro-step


def _no_host_reads(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a device value was read on the host")

    for name in ("item", "__bool__", "__float__", "__int__", "tolist"):
        monkeypatch.setattr(torch.Tensor, name, refuse)


@pytest.mark.parametrize("amp", [False, True], ids=["plain", "amp"])
def test_fused_steps_with_items_spikes_and_telemetry_read_nothing_on_the_host(monkeypatch, amp):
    model = torch.nn.Linear(3, 1)
    opt = torch.optim.AdamW(model.parameters(), lr=0.1, fused=True)
    clip = dict(max_norm=1.0, skip_spikes=dict(threshold=3.0, window=2))
    if amp:
        wrapper = AmpOptimWrapper(optimizer=opt, dtype="float32", accumulative_counts=2, clip_grad=clip)
    else:
        wrapper = OptimWrapper(opt, accumulative_counts=2, clip_grad=clip)
    x = torch.randn(6, 3)
    counts = [torch.tensor(2), torch.tensor(4)]
    _no_host_reads(monkeypatch)
    infos = []
    for _ in range(3):
        for xs, n in zip(torch.split(x, [2, 4]), counts, strict=True):
            with wrapper.optim_context(model):
                loss = model(xs).pow(2).sum()
            wrapper.update_params(loss, num_items=n)
        infos.append(wrapper.last_step)
    monkeypatch.undo()
    assert len({id(i) for i in infos}) == 3 and all(isinstance(i.applied, torch.Tensor) for i in infos)
