"""fused_amp_step against GradScaler + clip_grad_norm_ + a fused torch optimizer."""

from __future__ import annotations

import pytest
import torch

from optimtx.wrapper.fast_step import FusedStepResult, fused_amp_step, supports_fused_amp_step

SHAPES = [(8, 3), (5,), (300, 256), (2, 2, 3), (1,)]


def _params(seed: int = 0) -> list[torch.nn.Parameter]:
    gen = torch.Generator().manual_seed(seed)
    return [torch.nn.Parameter(torch.randn(s, generator=gen)) for s in SHAPES]


def _grads(step: int, scale: float, overflow: bool) -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(100 + step)
    grads = [torch.randn(s, generator=gen) * 3.0 * scale for s in SHAPES]
    if overflow:
        grads[1][0] = float("inf") if step % 2 else float("nan")
    return grads


def _make(kind: str, params):
    if kind == "adamw":
        return torch.optim.AdamW(params, lr=0.1, weight_decay=0.01, fused=True)
    if kind == "adam":
        return torch.optim.Adam(params, lr=0.1, fused=True)
    return torch.optim.SGD(params, lr=0.1, momentum=0.9, fused=True)


def _run_torch(kind, steps, max_norm, norm_type, overflow_at):
    params = _params()
    opt = _make(kind, params)
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0**10, growth_interval=2)
    norms, skipped = [], []
    for step in range(steps):
        scaler.scale(torch.ones(()))  # GradScaler creates its scale tensor lazily here
        for p, g in zip(params, _grads(step, scaler.get_scale(), step in overflow_at), strict=True):
            p.grad = g
        scaler.unscale_(opt)
        if max_norm is not None:
            norms.append(torch.nn.utils.clip_grad_norm_(params, max_norm, norm_type))
        skipped.append(sum(v.item() for v in scaler._found_inf_per_device(opt).values()) > 0)
        scaler.step(opt)
        scaler.update()
    return params, norms, skipped, scaler.get_scale()


def _run_fast(kind, steps, max_norm, norm_type, overflow_at):
    params = _params()
    opt = _make(kind, params)
    scale, tracker = torch.tensor(2.0**10), torch.zeros((), dtype=torch.int32)
    norms, skipped = [], []
    for step in range(steps):
        for p, g in zip(params, _grads(step, scale.item(), step in overflow_at), strict=True):
            p.grad = g
        result = fused_amp_step(opt, scale, max_norm, norm_type)
        norms.append(result.total_norm)
        skipped.append(bool(result.found_inf.item()))
        torch._amp_update_scale_(scale, tracker, result.found_inf, 2.0, 0.5, 2)
    return params, norms, skipped, scale.item()


@pytest.mark.parametrize("kind", ["adamw", "adam", "sgd"])
@pytest.mark.parametrize("max_norm,norm_type", [(1.0, 2.0), (0.5, float("inf")), (2.0, 1.0), (None, 2.0)])
def test_matches_gradscaler_clip_and_fused_step(kind, max_norm, norm_type):
    overflow_at = {2, 5}
    want, want_norms, want_skipped, want_scale = _run_torch(kind, 8, max_norm, norm_type, overflow_at)
    got, got_norms, got_skipped, got_scale = _run_fast(kind, 8, max_norm, norm_type, overflow_at)
    assert got_skipped == want_skipped == [i in overflow_at for i in range(8)]
    assert got_scale == want_scale
    for w, g in zip(want, got, strict=True):
        torch.testing.assert_close(g, w, rtol=1e-5, atol=1e-6)
    finite = [i for i in range(8) if i not in overflow_at]
    for i in finite if max_norm is not None else []:
        torch.testing.assert_close(got_norms[i], want_norms[i], rtol=1e-5, atol=1e-6)


def test_grads_hold_unscaled_clipped_values_after_a_taken_step():
    w = torch.nn.Parameter(torch.zeros(2))
    opt = torch.optim.AdamW([w], fused=True)
    w.grad = torch.tensor([3.0, 4.0]) * 256
    result = fused_amp_step(opt, torch.tensor(256.0), max_norm=1.0)
    assert isinstance(result, FusedStepResult)
    torch.testing.assert_close(w.grad, torch.tensor([0.6, 0.8]), rtol=1e-5, atol=1e-6)
    assert not hasattr(opt, "grad_scale") and not hasattr(opt, "found_inf")


def test_skipped_step_leaves_params_and_state_alone():
    w = torch.nn.Parameter(torch.ones(3))
    opt = torch.optim.AdamW([w], fused=True)
    w.grad = torch.ones(3)
    fused_amp_step(opt, torch.tensor(1.0))
    before = (w.detach().clone(), opt.state[w]["exp_avg"].clone(), opt.state[w]["step"].clone())
    w.grad = torch.tensor([1.0, float("nan"), 1.0])
    assert fused_amp_step(opt, torch.tensor(1.0), max_norm=1.0).found_inf.item() == 1.0
    after = (w.detach(), opt.state[w]["exp_avg"], opt.state[w]["step"])
    for b, a in zip(before, after, strict=True):
        assert torch.equal(b, a)


def test_no_host_sync_on_the_path(monkeypatch):
    w = torch.nn.Parameter(torch.ones(3))
    opt = torch.optim.SGD([w], lr=0.1, fused=True)
    w.grad = torch.ones(3)

    def forbidden(self, *args, **kwargs):
        raise AssertionError("host sync")

    monkeypatch.setattr(torch.Tensor, "item", forbidden)
    monkeypatch.setattr(torch.Tensor, "__bool__", forbidden)
    result = fused_amp_step(opt, torch.tensor(4.0), max_norm=1.0)
    monkeypatch.undo()
    assert result.found_inf.item() == 0.0


def test_optimizer_without_grads_is_a_no_op():
    w = torch.nn.Parameter(torch.ones(2))
    opt = torch.optim.AdamW([w], fused=True)
    result = fused_amp_step(opt, torch.tensor(8.0), max_norm=1.0)
    assert result.total_norm.item() == 0.0 and result.found_inf.item() == 0.0
    assert torch.equal(w.detach(), torch.ones(2))


def test_supports_only_fused_optimizers():
    w = torch.nn.Parameter(torch.ones(2))
    assert supports_fused_amp_step(torch.optim.SGD([w], lr=0.1, fused=True))
    assert not supports_fused_amp_step(torch.optim.SGD([w], lr=0.1))
    with pytest.raises(TypeError, match="fused=True"):
        fused_amp_step(torch.optim.AdamW([w], foreach=True), torch.tensor(1.0))


@pytest.mark.parametrize(
    "kwargs,error,match",
    [
        (dict(scale=2.0), TypeError, "0-d floating tensor"),
        (dict(scale=torch.tensor(2)), TypeError, "0-d floating tensor"),
        (dict(scale=torch.tensor(2.0), max_norm=-1.0), ValueError, "max_norm"),
        (dict(scale=torch.tensor(2.0), max_norm=1.0, norm_type=0.0), ValueError, "norm_type"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    w = torch.nn.Parameter(torch.ones(2))
    with pytest.raises(error, match=match):
        fused_amp_step(torch.optim.AdamW([w], fused=True), **kwargs)
