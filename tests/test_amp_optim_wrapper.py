"""AmpOptimWrapper on the CPU: parity with torch.amp.GradScaler + autocast, bf16, states, errors."""

from __future__ import annotations

from unittest.mock import MagicMock

import pytest
import torch
from torch import nn

from optimtx.optim import AmpOptimWrapper
from optimtx.wrapper.loss_scaler import LossScaler

_GEN = torch.Generator().manual_seed(0)
DATA = [(torch.randn(8, 3, generator=_GEN), torch.randn(8, 2, generator=_GEN)) for _ in range(12)]
OVERFLOW_STEPS = {4, 5}  # an inf input makes every gradient non-finite on these steps


def make_model(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(3, 16), nn.Tanh(), nn.Linear(16, 2))


def batch(i: int) -> tuple[torch.Tensor, torch.Tensor]:
    x, y = DATA[i]
    return (x * float("inf"), y) if i in OVERFLOW_STEPS else (x, y)


def same_params(a: nn.Module, b: nn.Module) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a.parameters(), b.parameters(), strict=True))


def close_params(a: nn.Module, b: nn.Module) -> bool:
    """Equal to float rounding: the fused fast path folds unscale and clip into one division."""
    return all(torch.allclose(x, y, rtol=1e-5, atol=1e-7) for x, y in zip(a.parameters(), b.parameters(), strict=True))


SCALER_ARGS = dict(init_scale=2.0**20, growth_factor=2.0, backoff_factor=0.5, growth_interval=3)


@pytest.mark.parametrize(
    ("make_opt", "clip"),
    [
        (lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9), None),
        (lambda p: torch.optim.Adam(p, lr=0.01), dict(max_norm=0.5)),
        (lambda p: torch.optim.Adam(p, lr=0.01, fused=True), None),
        (lambda p: torch.optim.SGD(p, lr=0.1, fused=True), dict(max_norm=0.5)),
    ],
    ids=["sgd", "adam+clip", "fused-adam", "fused-sgd+clip"],
)
def test_float16_matches_grad_scaler_step_for_step(make_opt, clip):
    ref, ours = make_model(), make_model()
    ref_opt, scaler = make_opt(ref.parameters()), torch.amp.GradScaler("cpu", **SCALER_ARGS)
    wrapper = AmpOptimWrapper(loss_scale=dict(SCALER_ARGS), optimizer=make_opt(ours.parameters()), clip_grad=clip)
    for i in range(len(DATA)):
        x, y = batch(i)
        with torch.autocast("cpu", dtype=torch.float16):
            out = ref(x)
        scale_before = scaler.get_scale()
        scaler.scale(nn.functional.mse_loss(out.float(), y)).backward()
        if clip is not None:
            scaler.unscale_(ref_opt)
            torch.nn.utils.clip_grad_norm_(ref.parameters(), clip["max_norm"])
        scaler.step(ref_opt)
        scaler.update()
        ref_opt.zero_grad()

        with wrapper.optim_context(ours):
            out = ours(x)
        assert out.dtype == torch.float16
        wrapper.update_params(nn.functional.mse_loss(out.float(), y))
        assert wrapper.loss_scaler.get_scale() == scaler.get_scale()
        assert wrapper.step_was_skipped == (scaler.get_scale() < scale_before)
        if i in OVERFLOW_STEPS:
            assert wrapper.step_was_skipped
        fused_with_clip = clip is not None and getattr(ref_opt, "_step_supports_amp_scaling", False)
        assert (close_params if fused_with_clip else same_params)(ref, ours), f"step {i}"
    assert wrapper.state_dict()["loss_scaler"] == scaler.state_dict()


def test_overflow_steps_change_only_the_scale():
    model = make_model()
    wrapper = AmpOptimWrapper(optimizer=torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9))
    wrapper.update_params(nn.functional.mse_loss(model(DATA[0][0] * 1e-3), DATA[0][1]))
    assert not wrapper.step_was_skipped
    before = [p.detach().clone() for p in model.parameters()]
    state_before = str(wrapper.optimizer.state_dict())
    with wrapper.optim_context(model):
        out = model(DATA[1][0] * float("inf"))
    wrapper.update_params(nn.functional.mse_loss(out.float(), DATA[1][1]))
    assert wrapper.step_was_skipped
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))
    assert str(wrapper.optimizer.state_dict()) == state_before
    assert wrapper.loss_scaler.get_scale() == 2.0**15


def test_accumulation_matches_grad_scaler():
    ref, ours = make_model(), make_model()
    ref_opt, scaler = torch.optim.SGD(ref.parameters(), lr=0.1), torch.amp.GradScaler("cpu", init_scale=256.0)
    opt = torch.optim.SGD(ours.parameters(), lr=0.1)
    wrapper = AmpOptimWrapper(dict(init_scale=256.0), optimizer=opt, accumulative_counts=2)
    for i, (x, y) in enumerate(DATA[:6]):
        with torch.autocast("cpu", dtype=torch.float16):
            out = ref(x)
        scaler.scale(nn.functional.mse_loss(out.float(), y) / 2).backward()
        if i % 2 == 1:
            scaler.step(ref_opt)
            scaler.update()
            ref_opt.zero_grad()
        with wrapper.optim_context(ours):
            out = ours(x)
        wrapper.update_params(nn.functional.mse_loss(out.float(), y))
    assert same_params(ref, ours)
    assert wrapper.loss_scaler.get_scale() == scaler.get_scale()


def test_static_loss_scale_is_reset_after_every_update():
    model = make_model()
    wrapper = AmpOptimWrapper(512, optimizer=torch.optim.SGD(model.parameters(), lr=0.1))
    assert wrapper._scale_update_param == 512.0
    for i in range(6):
        x, y = batch(i)
        with wrapper.optim_context(model):
            out = model(x)
        wrapper.update_params(nn.functional.mse_loss(out.float(), y))
        assert wrapper.loss_scaler.get_scale() == 512.0
        assert wrapper.step_was_skipped == (i in OVERFLOW_STEPS)


def test_bfloat16_matches_plain_autocast_without_scaling():
    ref, ours = make_model(), make_model()
    ref_opt = torch.optim.SGD(ref.parameters(), lr=0.1)
    wrapper = AmpOptimWrapper(dtype="bfloat16", optimizer=torch.optim.SGD(ours.parameters(), lr=0.1))
    assert not wrapper.loss_scaler.is_enabled() and wrapper.cast_dtype is torch.bfloat16
    for x, y in DATA[:5]:
        with torch.autocast("cpu", dtype=torch.bfloat16):
            out = ref(x)
        nn.functional.mse_loss(out.float(), y).backward()
        ref_opt.step()
        ref_opt.zero_grad()
        with wrapper.optim_context(ours):
            out = ours(x)
        assert out.dtype == torch.bfloat16
        wrapper.update_params(nn.functional.mse_loss(out.float(), y))
        assert not wrapper.step_was_skipped
    assert same_params(ref, ours)
    assert wrapper.state_dict()["loss_scaler"]["scale"] == 1.0


def test_bfloat16_with_an_explicit_scale_is_honoured():
    opt = torch.optim.SGD(make_model().parameters(), lr=0.1)
    wrapper = AmpOptimWrapper(dict(init_scale=8.0), dtype="bf16-mixed", optimizer=opt)
    assert wrapper.loss_scaler.is_enabled() and wrapper.loss_scaler.get_scale() == 8.0


@pytest.mark.parametrize(
    ("dtype", "cast", "out_dtype"),
    [
        (None, None, torch.float16),
        ("float16", torch.float16, torch.float16),
        ("16-mixed", torch.float16, torch.float16),
        ("bfloat16", torch.bfloat16, torch.bfloat16),
        ("float32", torch.float32, torch.float32),
        ("float64", torch.float64, torch.float32),  # CPU autocast has no float64: the model's dtype is kept
        (torch.bfloat16, torch.bfloat16, torch.bfloat16),
    ],
)
def test_dtype_and_autocast_output(dtype, cast, out_dtype):
    model = nn.Linear(2, 2)
    wrapper = AmpOptimWrapper(dtype=dtype, optimizer=torch.optim.SGD(model.parameters(), lr=0.1))
    assert wrapper.cast_dtype is cast
    with wrapper.optim_context(model):
        assert model(torch.ones(1, 2)).dtype == out_dtype


def test_loss_scaler_constructions():
    params = [nn.Parameter(torch.ones(1))]
    dynamic = AmpOptimWrapper("dynamic", optimizer=torch.optim.SGD(params, lr=0.1))
    assert isinstance(dynamic.loss_scaler, LossScaler) and dynamic._scale_update_param is None
    assert dynamic.loss_scaler.get_scale() == 65536.0
    from_dict = AmpOptimWrapper(dict(init_scale=1, growth_factor=2), optimizer=torch.optim.SGD(params, lr=0.1))
    assert from_dict._scale_update_param is None and from_dict.loss_scaler.get_scale() == 1.0


def test_backward_and_step_call_the_scaler_like_grad_scaler():
    opt = MagicMock(spec=torch.optim.Optimizer)
    opt.defaults, opt.param_groups = {}, [{}]
    wrapper = AmpOptimWrapper(optimizer=opt)
    wrapper.loss_scaler = MagicMock()
    wrapper.backward(1)
    wrapper.loss_scaler.scale.assert_called_with(1)
    wrapper.loss_scaler.scale(1).backward.assert_called_with()
    assert wrapper.inner_count == 1
    wrapper.step()
    wrapper.loss_scaler.step.assert_called_with(opt)
    wrapper.loss_scaler.update.assert_called_with(None)


def trained_wrapper(seed: int = 0, lr: float = 0.1) -> AmpOptimWrapper:
    model = make_model(seed)
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    wrapper = AmpOptimWrapper(dict(init_scale=1024.0, growth_interval=1), optimizer=opt)
    for x, y in DATA[:3]:
        with wrapper.optim_context(model):
            out = model(x)
        wrapper.update_params(nn.functional.mse_loss(out.float(), y))
    return wrapper


def test_state_dict_layout_and_loading():
    wrapper = trained_wrapper()
    sd = wrapper.state_dict()
    scaler_state = sd.pop("loss_scaler")
    assert str(sd) == str(wrapper.optimizer.state_dict())
    expected = {
        "scale": 8192.0,
        "growth_factor": 2.0,
        "backoff_factor": 0.5,
        "growth_interval": 1,
        "_growth_tracker": 0,
    }
    assert scaler_state == expected
    assert [type(scaler_state[k]) for k in expected] == [float, float, float, int, int]

    fresh = AmpOptimWrapper(optimizer=torch.optim.SGD(make_model(1).parameters(), lr=0.5))
    full = wrapper.state_dict()
    fresh.load_state_dict(full)
    assert "loss_scaler" in full  # the caller's dict is left alone
    assert str(fresh.state_dict()) == str(wrapper.state_dict())

    plain = torch.optim.SGD(make_model(2).parameters(), lr=0.3).state_dict()
    fresh.load_state_dict(plain)
    assert fresh.get_lr() == {"lr": [0.3]} and fresh.loss_scaler.get_scale() == 8192.0


def test_bad_loss_scaler_state_changes_nothing():
    wrapper = trained_wrapper()
    before = str(wrapper.state_dict())
    bad = trained_wrapper(1, lr=0.7).state_dict()
    bad["loss_scaler"] = {"scale": 2.0}
    with pytest.raises(ValueError, match="growth_factor"):
        wrapper.load_state_dict(bad)
    wrong_groups = {"state": {}, "param_groups": [], "loss_scaler": trained_wrapper().state_dict()["loss_scaler"]}
    with pytest.raises(ValueError, match="param groups"):
        wrapper.load_state_dict(wrong_groups)
    assert str(wrapper.state_dict()) == before


@pytest.mark.parametrize(
    ("kwargs", "error", "needle"),
    [
        (dict(loss_scale="unknown"), TypeError, "loss_scale must be of type float.*'unknown'"),
        (dict(loss_scale=True), TypeError, "True"),
        (dict(loss_scale=0), ValueError, "0"),
        (dict(loss_scale=dict(init_scal=2.0)), ValueError, "init_scal"),
        (dict(loss_scale=dict(growth_factor=0.5)), ValueError, "0.5"),
        (dict(dtype="float8"), ValueError, "'float8'"),
        (dict(dtype=torch.int32), ValueError, "int32"),
        (dict(dtype=16), TypeError, "16"),
        (dict(accumulative_counts=0), ValueError, "0"),
        (dict(use_fsdp=True), ValueError, "use_fsdp"),
    ],
)
def test_bad_arguments(kwargs, error, needle):
    with pytest.raises(error, match=needle):
        AmpOptimWrapper(optimizer=torch.optim.SGD([nn.Parameter(torch.ones(1))], lr=0.1), **kwargs)


def test_int_loss_scale_is_accepted():
    wrapper = AmpOptimWrapper(512, optimizer=torch.optim.SGD([nn.Parameter(torch.ones(1))], lr=0.1))
    assert wrapper.loss_scaler.get_scale() == 512.0


def test_example_script_trains():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "examples" / "optim_wrapper_training.py"
    spec = importlib.util.spec_from_file_location("optim_wrapper_training", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(epochs=2, verbose=False) > 0.75


def test_facade_matches_the_pure_scale_by_amp_chain():
    from torch.func import functional_call

    import optimtx as otx

    model, template = make_model(), make_model()
    wrapper = AmpOptimWrapper(
        loss_scale=dict(SCALER_ARGS), optimizer=torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    )
    params = {k: v.detach().clone().requires_grad_(True) for k, v in template.named_parameters()}
    tx = otx.scale_by_amp(otx.sgd(0.1, momentum=0.9), **SCALER_ARGS)
    state = tx.init(params)
    for i in range(len(DATA)):
        x, y = batch(i)
        with wrapper.optim_context(model):
            out = model(x)
        wrapper.update_params(nn.functional.mse_loss(out.float(), y))

        with torch.autocast("cpu", dtype=torch.float16):
            pure_out = functional_call(template, params, (x,))
        scaled = nn.functional.mse_loss(pure_out.float(), y) * otx.current_loss_scale(state)
        grads = dict(zip(params, torch.autograd.grad(scaled, list(params.values())), strict=True))
        updates, state = tx.update(grads, state, params)
        params = {k: v.detach().requires_grad_(True) for k, v in otx.apply_updates(params, updates).items()}
        assert wrapper.loss_scaler.get_scale() == float(otx.current_loss_scale(state))
    for name, p in model.named_parameters():
        torch.testing.assert_close(p.detach(), params[name].detach(), rtol=1e-6, atol=1e-7)


def test_fused_optimizer_takes_the_sync_free_two_pass_step(monkeypatch):
    model = make_model()
    wrapper = AmpOptimWrapper(
        optimizer=torch.optim.AdamW(model.parameters(), lr=0.01, fused=True), clip_grad=dict(max_norm=0.5)
    )
    ref = make_model()
    ref_opt, scaler = torch.optim.AdamW(ref.parameters(), lr=0.01, fused=True), torch.amp.GradScaler("cpu")
    x, y = DATA[0]
    scaler.scale(nn.functional.mse_loss(ref(x), y)).backward()
    scaler.unscale_(ref_opt)
    ref_norm = torch.nn.utils.clip_grad_norm_(ref.parameters(), 0.5)
    scaler.step(ref_opt)

    def no_host_read(*args, **kwargs):
        raise AssertionError("the fused step must not read tensors back to the host")

    wrapper.backward(nn.functional.mse_loss(model(x), y))
    monkeypatch.setattr(wrapper.loss_scaler, "unscale_", no_host_read)
    monkeypatch.setattr(torch.Tensor, "item", no_host_read)
    monkeypatch.setattr(torch.Tensor, "__bool__", no_host_read)
    wrapper.step()
    monkeypatch.undo()
    torch.testing.assert_close(wrapper.last_grad_norm, ref_norm, rtol=1e-5, atol=0)
    assert close_params(ref, model)
    assert not wrapper.step_was_skipped
