"""skip_if_spike against a host-side reference, and the facade's clip_grad skip_spikes."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import optimtx as otx
from optimtx.core.state_tree import iter_nodes
from optimtx.wrapper.amp_optim_wrapper import AmpOptimWrapper
from optimtx.wrapper.optim_wrapper import OptimWrapper

norm_values = st.one_of(st.floats(0.01, 100.0), st.sampled_from([math.inf, math.nan, 1000.0]))


def reference_skips(norms: list[float], threshold: float, window: int) -> list[bool]:
    """Host-side reference: skip non-finite norms, and spikes once ``window`` norms were applied."""
    applied: list[float] = []
    skips = []
    for norm in norms:
        finite = math.isfinite(norm)
        full = len(applied) >= window
        spike = full and norm > threshold * (sum(applied[-window:]) / window)
        skip = (not finite) or spike
        skips.append(skip)
        if not skip:
            applied.append(norm)
    return skips


@settings(max_examples=40)
@given(
    norms=st.lists(norm_values, min_size=1, max_size=12),
    threshold=st.floats(1.0, 5.0),
    window=st.integers(1, 4),
)
def test_pure_skips_match_the_host_reference(norms, threshold, window):
    tx = otx.skip_if_spike(otx.sgd(1.0), threshold, window)
    params = {"w": torch.zeros(1)}
    state = tx.init(params)
    expected = reference_skips(norms, threshold, window)
    for norm, skip in zip(norms, expected, strict=True):
        updates, new_state = tx.update({"w": torch.tensor([norm])}, state, params)
        assert bool(~new_state.record.last_applied) == skip
        if skip:
            assert torch.equal(updates["w"], torch.zeros(1))
        else:
            torch.testing.assert_close(updates["w"], torch.tensor([-norm]))
        state = new_state
    assert int(state.record.skipped_steps) == sum(expected)
    assert int(state.record.applied) == len(norms) - sum(expected)
    assert state.record.skipped_steps.dtype == torch.int64


def test_skipped_step_leaves_inner_state_and_step_info_reports_it():
    tx = otx.skip_if_spike(otx.adam(0.1), threshold=2.0, window=1)
    params = {"w": torch.zeros(2)}
    state = tx.init(params)
    _, state = tx.update({"w": torch.ones(2)}, state, params)
    _, spiked = tx.update({"w": torch.full((2,), 100.0)}, state, params)
    old = [n for n in iter_nodes(state.inner_state) if isinstance(n, torch.Tensor)]
    new = [n for n in iter_nodes(spiked.inner_state) if isinstance(n, torch.Tensor)]
    assert len(old) == len(new) > 0 and all(torch.equal(a, b) for a, b in zip(old, new, strict=True))
    info = otx.step_info(spiked)
    assert not info.applied and not info.found_inf
    torch.testing.assert_close(info.grad_norm, torch.tensor(100.0 * math.sqrt(2)))


def facade_norms(wrapper_cls, opt_factory, grads, threshold, window, **kw):
    p = torch.nn.Parameter(torch.zeros(1))
    wrapper = wrapper_cls(
        optimizer=opt_factory([p]),
        clip_grad=dict(max_norm=1e9, skip_spikes=dict(threshold=threshold, window=window)),
        **kw,
    )
    applied, values = [], []
    for g in grads:
        before = p.detach().clone()
        scale = wrapper.loss_scaler.get_scale() if isinstance(wrapper, AmpOptimWrapper) else 1.0
        p.grad = torch.tensor([g * scale])
        wrapper.step()
        wrapper.zero_grad()
        applied.append(bool(wrapper.last_step.applied))
        values.append(p.detach().clone())
        assert bool(wrapper.last_step.applied) == (not torch.equal(before, p.detach())) or g == 0
    return applied


@pytest.mark.parametrize(
    ("wrapper_cls", "opt_factory", "kw"),
    [
        (OptimWrapper, lambda ps: torch.optim.SGD(ps, lr=0.1), {}),
        (OptimWrapper, lambda ps: torch.optim.SGD(ps, lr=0.1, fused=True), {}),
        (AmpOptimWrapper, lambda ps: torch.optim.SGD(ps, lr=0.1), {"loss_scale": 4.0, "dtype": "float32"}),
        (
            AmpOptimWrapper,
            lambda ps: torch.optim.AdamW(ps, lr=0.1, fused=True),
            {"loss_scale": 4.0, "dtype": "float32"},
        ),
    ],
    ids=["plain", "plain_fused", "amp", "amp_fused"],
)
@settings(max_examples=8)
@given(norms=st.lists(st.floats(0.1, 50.0), min_size=1, max_size=8), window=st.integers(1, 3))
def test_facade_skip_spikes_match_the_host_reference(wrapper_cls, opt_factory, kw, norms, window):
    applied = facade_norms(wrapper_cls, opt_factory, norms, 3.0, window, **kw)
    assert applied == [not s for s in reference_skips(norms, 3.0, window)]


@pytest.mark.parametrize(
    ("skip_spikes", "exc", "match"),
    [
        (dict(threshold=0.0, window=3), ValueError, "threshold"),
        (dict(threshold=2.0, window=0), ValueError, "window"),
        (dict(threshold=2.0), ValueError, "threshold', 'window"),
        (dict(threshold=2.0, window=3, extra=1), ValueError, "skip_spikes"),
        ([2.0, 3], TypeError, "skip_spikes"),
    ],
)
def test_skip_spikes_config_is_checked(skip_spikes, exc, match):
    opt = torch.optim.SGD([torch.nn.Parameter(torch.ones(1))], lr=0.1)
    with pytest.raises(exc, match=match):
        OptimWrapper(opt, clip_grad=dict(max_norm=1.0, skip_spikes=skip_spikes))
    with pytest.raises(ValueError, match="skip_spikes"):
        OptimWrapper(opt, clip_grad=dict(type="value", clip_value=1.0, skip_spikes=dict(threshold=2.0, window=1)))


def test_skip_spikes_is_kept_out_of_clip_grad_kwargs_and_the_caller_dict():
    cfg = dict(max_norm=1.0, skip_spikes=dict(threshold=2.0, window=3))
    wrapper = OptimWrapper(torch.optim.SGD([torch.nn.Parameter(torch.ones(1))], lr=0.1), clip_grad=cfg)
    assert wrapper.clip_grad_kwargs == {"max_norm": 1.0}
    assert cfg == dict(max_norm=1.0, skip_spikes=dict(threshold=2.0, window=3))


def test_skip_if_spike_is_registered_for_configs():
    tx = otx.TRANSFORMS.build(dict(type="skip_if_spike", inner=dict(type="sgd", lr=0.1), threshold=2.0, window=2))
    assert isinstance(tx, otx.GradientTransformation)


@pytest.mark.parametrize("wrapper_cls", [OptimWrapper, AmpOptimWrapper])
def test_spike_window_resumes_exactly_from_state_dict(wrapper_cls):
    def build():
        p = torch.nn.Parameter(torch.zeros(1))
        kw = {"dtype": "float32", "loss_scale": 1.0} if wrapper_cls is AmpOptimWrapper else {}
        clip = dict(max_norm=1e9, skip_spikes=dict(threshold=2.0, window=2))
        return p, wrapper_cls(optimizer=torch.optim.SGD([p], lr=0.1), clip_grad=clip, **kw)

    def run(p, wrapper, grads):
        out = []
        for g in grads:
            p.grad = torch.tensor([g])
            wrapper.step()
            out.append(bool(wrapper.last_step.applied))
        return out

    p, wrapper = build()
    run(p, wrapper, [1.0, 1.0])
    saved = wrapper.state_dict()
    assert set(saved["skip_spikes"]) == {"norms", "position", "applied", "skipped_steps", "last_norm", "last_applied"}
    q, resumed = build()
    resumed.load_state_dict(saved)
    assert run(q, resumed, [3.0, 1.0]) == run(p, wrapper, [3.0, 1.0]) == [False, True]
    bad = dict(saved, skip_spikes=dict(saved["skip_spikes"], norms=torch.zeros(5)))
    before = resumed._spikes.state_dict()
    with pytest.raises(ValueError, match="window"):
        resumed.load_state_dict(bad)
    assert all(torch.equal(before[k], v) for k, v in resumed._spikes.state_dict().items())
