"""scale_by_amp, unscale_grads and next_scale against torch.amp.GradScaler and its kernels."""

from __future__ import annotations

import io
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import optimtx as otx
from optimtx.transforms.amp import next_scale, unscale_grads
from tests.strategies import clone_tree, trees

SCALER_ARGS = st.fixed_dictionaries(
    {
        "init_scale": st.sampled_from([2.0**16, 3.0, 1e38, 0.75]),
        "growth_factor": st.sampled_from([2.0, 1.7, 1e3]),
        "backoff_factor": st.sampled_from([0.5, 0.3]),
        "growth_interval": st.integers(1, 3),
    }
)
BAD = st.sampled_from([math.inf, -math.inf, math.nan])


def _step_grads(step: int, params: dict[str, torch.Tensor], bad: float | None) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(step)
    grads = {k: torch.randn(v.shape, generator=gen, dtype=v.dtype) for k, v in params.items()}
    if bad is not None:
        grads["b"] = grads["b"].clone()
        grads["b"].view(-1)[0] = bad
    return grads


def _run_torch(params, pattern, args, lr):
    model = {k: torch.nn.Parameter(v.clone()) for k, v in params.items()}
    opt = torch.optim.SGD(model.values(), lr=lr, momentum=0.9)
    scaler = torch.amp.GradScaler("cpu", **args)
    scales, skipped = [], 0
    for step, bad in enumerate(pattern):
        scaler.scale(torch.ones(()))  # lazily creates the scale, as scaling a loss would
        grads = _step_grads(step, params, bad)
        for k, p in model.items():
            p.grad = grads[k] * scaler._scale
        scaler.step(opt)
        skipped += any(f.item() for f in scaler._found_inf_per_device(opt).values())
        scaler.update()
        scales.append(scaler.get_scale())
    return {k: v.detach() for k, v in model.items()}, scales, skipped


def _run_ours(params, pattern, args, lr):
    tx = otx.scale_by_amp(otx.sgd(lr, momentum=0.9), **args)
    state = tx.init(params)
    scales = []
    for step, bad in enumerate(pattern):
        scale = otx.current_loss_scale(state)
        grads = {k: g * scale for k, g in _step_grads(step, params, bad).items()}
        updates, state = tx.update(grads, state, params)
        params = otx.apply_updates(params, updates)
        scales.append(otx.current_loss_scale(state).item())
    return params, scales, state


@settings(max_examples=25)
@given(pattern=st.lists(st.one_of(st.none(), BAD), min_size=1, max_size=10), args=SCALER_ARGS)
def test_matches_grad_scaler(pattern, args):
    params = {"w": torch.randn(3, 2, generator=torch.Generator().manual_seed(0)), "b": torch.ones(2)}
    ref_params, ref_scales, ref_skipped = _run_torch(params, pattern, args, lr=0.1)
    ours, scales, state = _run_ours(params, pattern, args, lr=0.1)
    assert scales == ref_scales
    assert state.skipped_steps.item() == ref_skipped
    for k in params:
        torch.testing.assert_close(ours[k], ref_params[k], rtol=1e-6, atol=1e-6)


def test_skipped_step_changes_only_scale_and_counters():
    tx = otx.scale_by_amp(otx.adam(0.1), init_scale=8.0, growth_interval=3)
    params = {"w": torch.ones(2), "b": torch.zeros(1)}
    _, state = tx.update({"w": torch.ones(2), "b": torch.ones(1)}, tx.init(params), params)
    updates, new = tx.update({"w": torch.ones(2), "b": torch.tensor([math.nan])}, state, params)
    assert all(torch.equal(u, torch.zeros_like(u)) for u in updates.values())
    assert _same(new.inner_state, state.inner_state)
    assert new.scale.item() == 4.0 and new.growth_tracker.item() == 0
    assert new.skipped_steps.item() == state.skipped_steps.item() + 1


def _same(a, b):
    def ser(x):
        buf = io.BytesIO()
        torch.save(x, buf)
        return buf.getvalue()

    return ser(a) == ser(b)


@settings(max_examples=20)
@given(tree=trees(nonfinite=True, dtype=torch.float16), scale=st.sampled_from([2.0**16, 3.0, 1 / 3, 1e-3]))
def test_unscale_grads_is_the_grad_scaler_kernel_in_float16(tree, scale):
    grads = list(tree.values())
    scale_t = torch.tensor(scale, dtype=torch.float32)
    ref = [g.clone() for g in grads]
    ref_found = torch.zeros(())
    torch._amp_foreach_non_finite_check_and_unscale_(ref, ref_found, scale_t.double().reciprocal().float())
    out, found = unscale_grads(grads, scale_t)
    assert found.dtype == torch.float32 and found.item() == ref_found.item()
    for a, b in zip(out, ref, strict=True):
        assert a.dtype == torch.float16
        torch.testing.assert_close(a, b, rtol=0, atol=0, equal_nan=True)
    assert all(torch.equal(a, b) or a.isnan().any() for a, b in zip(grads, tree.values(), strict=True))


@settings(max_examples=40)
@given(
    scale=st.sampled_from([1.0, 3.0, 2.0**16, 3e38]),
    tracker=st.integers(0, 4),
    found=st.sampled_from([0.0, 1.0, 2.0]),
    growth=st.sampled_from([2.0, 1.3, 7.0]),
    backoff=st.sampled_from([0.5, 0.3]),
    interval=st.integers(1, 5),
)
def test_next_scale_is_the_update_kernel(scale, tracker, found, growth, backoff, interval):
    s, t = torch.tensor(scale), torch.tensor(tracker, dtype=torch.int32)
    ref_s, ref_t = s.clone(), t.clone()
    torch._amp_update_scale_(ref_s, ref_t, torch.tensor(found), growth, backoff, interval)
    new_s, new_t = next_scale(s, t, torch.tensor(found), growth, backoff, interval)
    assert new_s.item() == ref_s.item() and new_t.item() == ref_t.item()
    assert new_t.dtype == torch.int32
    assert s.item() == torch.tensor(scale).item() and t.item() == tracker  # out of place


def test_float16_gradients_follow_the_kernels():
    params = {"w": torch.ones(4, dtype=torch.float16)}
    tx = otx.scale_by_amp(otx.scale(-1.0), init_scale=2.0**15, growth_interval=1)
    state = tx.init(params)
    ref_scale, ref_tracker = torch.tensor(2.0**15), torch.tensor(0, dtype=torch.int32)
    for step in range(6):
        g = (torch.randn(4, generator=torch.Generator().manual_seed(step)) * 10).to(torch.float16)
        scaled = {"w": g * otx.current_loss_scale(state).to(torch.float16)}
        ref = [scaled["w"].clone()]
        found = torch.zeros(())
        torch._amp_foreach_non_finite_check_and_unscale_(ref, found, ref_scale.double().reciprocal().float())
        updates, state = tx.update(scaled, state)
        expected = torch.zeros_like(ref[0]) if found.item() else -ref[0]
        assert torch.equal(updates["w"], expected)
        torch._amp_update_scale_(ref_scale, ref_tracker, found, 2.0, 0.5, 1)
        assert otx.current_loss_scale(state).item() == ref_scale.item()
    assert state.skipped_steps.item() > 0  # 2**15 * 2**k overflows float16 quickly


def test_disabled_is_a_passthrough_with_scale_one():
    tx = otx.scale_by_amp(otx.scale(-1.0), enabled=False)
    state = tx.init({"w": torch.ones(1)})
    updates, state = tx.update({"w": torch.tensor([math.inf])}, state)
    assert updates["w"].item() == -math.inf
    assert otx.current_loss_scale(state).item() == 1.0 and state.skipped_steps.item() == 0


def test_update_does_not_mutate_inputs():
    tx = otx.scale_by_amp(otx.sgd(0.1), init_scale=4.0)
    grads = {"w": torch.tensor([4.0, math.inf])}
    before = clone_tree(grads)
    tx.update(grads, tx.init(grads), grads)
    assert torch.equal(grads["w"], before["w"])


def test_current_loss_scale_errors():
    with pytest.raises(ValueError, match="No ScaleByAmpState"):
        otx.current_loss_scale(otx.sgd(0.1).init({"w": torch.ones(1)}))
    two = otx.chain(otx.scale_by_amp(otx.identity()), otx.scale_by_amp(otx.identity()))
    with pytest.raises(ValueError, match="ambiguous"):
        otx.current_loss_scale(two.init({"w": torch.ones(1)}))


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"growth_factor": 1.0}, "growth_factor"),
        ({"backoff_factor": 1.0}, "backoff_factor"),
        ({"init_scale": 0.0}, "init_scale"),
        ({"growth_interval": 0}, "growth_interval"),
    ],
)
def test_invalid_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        otx.scale_by_amp(otx.identity(), **kwargs)


def test_inner_must_be_a_transform():
    with pytest.raises(TypeError, match="GradientTransformation"):
        otx.scale_by_amp(lambda g: g)
