"""Schedule-free AdamW/SGD: the paper's three sequences, state dtype, and evaluation through the facade.

Parity with optax and the schedulefree package is in test_optax_parity.py (stored values);
here the property tests compare against the algorithm written out plainly with x, y and z.
"""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import optimtx as otx
from tests.strategies import gradient_runs


def _plain_reference(params, grads, lr, warmup, b1, b2, eps, wd, power, adam):
    """The reference algorithm with explicit x, y, z (as schedulefree's *Reference classes keep them)."""
    x = {k: v.clone() for k, v in params.items()}
    z = {k: v.clone() for k, v in params.items()}
    y = {k: v.clone() for k, v in params.items()}
    nu = {k: torch.zeros_like(v) for k, v in params.items()}
    lr_max, weight_sum = 0.0, 0.0
    for k, g in enumerate(grads):
        lr_k = lr * (min(1.0, (k + 1) / warmup) if warmup else 1.0)
        lr_max = max(lr_max, lr_k)
        weight = lr_max**power
        weight_sum += weight
        c = weight / weight_sum if weight_sum else 0.0
        for name in params:
            if adam:
                nu[name] = b2 * nu[name] + (1 - b2) * g[name] ** 2
                direction = g[name] / ((nu[name] / (1 - b2 ** (k + 1))).sqrt() + eps)
            else:
                direction = g[name]
            z[name] = z[name] - lr_k * (direction + wd * y[name])
            x[name] = (1 - c) * x[name] + c * z[name]
            y[name] = b1 * x[name] + (1 - b1) * z[name]
    return y, x


@settings(max_examples=20)
@given(
    run=gradient_runs(min_steps=1, max_steps=6),
    adam=st.booleans(),
    lr=st.sampled_from([0.0, 1e-3, 0.1, 1.0]),
    warmup=st.sampled_from([0, 1, 3]),
    b1=st.sampled_from([0.5, 0.9, 0.98]),
    wd=st.sampled_from([0.0, 0.05]),
    power=st.sampled_from([0.0, 1.0, 2.0]),
)
def test_matches_the_algorithm_written_with_three_sequences(run, adam, lr, warmup, b1, wd, power):
    params, grads = run
    if adam:
        tx = otx.schedule_free_adamw(lr, warmup, (b1, 0.99), 1e-8, wd, power)
    else:
        tx = otx.schedule_free_sgd(lr, b1, warmup, wd, power)
    state = tx.init(params)
    for g in grads:
        updates, state = tx.update(g, state, params)
        params = otx.apply_updates(params, updates)
    want_y, want_x = _plain_reference(run[0], grads, lr, warmup, b1, 0.99, 1e-8, wd, power, adam)
    for k in params:
        torch.testing.assert_close(params[k], want_y[k], rtol=1e-9, atol=1e-10)
        torch.testing.assert_close(otx.schedule_free_eval_params(state, params)[k], want_x[k], rtol=1e-8, atol=1e-9)


@pytest.mark.parametrize("factory", [otx.schedule_free_adamw, otx.schedule_free_sgd])
def test_bfloat16_state_is_stored_in_bfloat16_and_stays_close(factory):
    gen = torch.Generator().manual_seed(0)
    params = {"w": torch.randn(8, 4, generator=gen), "b": torch.randn(4, generator=gen)}
    lr = 1e-2 if factory is otx.schedule_free_adamw else 0.1
    wide, narrow = factory(lr), factory(lr, state_dtype=torch.bfloat16)
    p_wide, p_narrow = dict(params), dict(params)
    s_wide, s_narrow = wide.init(params), narrow.init(params)
    for _ in range(5):
        g = {k: torch.randn(v.shape, generator=gen) for k, v in params.items()}
        u, s_wide = wide.update(g, s_wide, p_wide)
        p_wide = otx.apply_updates(p_wide, u)
        u, s_narrow = narrow.update(g, s_narrow, p_narrow)
        assert all(v.dtype == torch.float32 for v in u.values())  # updates in the params' dtype
        p_narrow = otx.apply_updates(p_narrow, u)
    assert {v.dtype for v in [*s_narrow.z.values(), *s_narrow.nu.values()]} == {torch.bfloat16}
    for k in params:
        torch.testing.assert_close(p_narrow[k], p_wide[k], rtol=0, atol=3e-2)


def test_eval_params_needs_a_schedule_free_state():
    with pytest.raises(ValueError, match="No ScheduleFreeState"):
        otx.schedule_free_eval_params(otx.adam(0.1).init({"w": torch.ones(1)}), {"w": torch.ones(1)})


def test_update_needs_params():
    tx = otx.schedule_free_sgd()
    with pytest.raises(ValueError, match="needs the current parameters"):
        tx.update({"w": torch.ones(1)}, tx.init({"w": torch.ones(1)}))


def _train(model, handle, steps=4, seed=0):
    gen = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        x = torch.randn(6, model.in_features, generator=gen)
        if isinstance(handle, otx.OptimWrapper):
            handle.update_params(model(x).pow(2).mean())
        else:
            handle.zero_grad()
            model(x).pow(2).mean().backward()
            handle.step()


@pytest.mark.parametrize("wrap", [False, True])
def test_facade_evaluates_at_x_and_restores_y_exactly(wrap):
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 2)
    initial = {str(i): p.detach().clone() for i, p in enumerate(model.parameters())}
    opt = otx.TransformOptimizer(model.parameters(), dict(type="schedule_free_adamw", lr=0.05, warmup_steps=2))
    assert opt.param_groups[0]["lr"] == 0.05 and opt.param_groups[0]["betas"] == (0.9, 0.999)
    handle = otx.OptimWrapper(opt) if wrap else opt
    _train(model, handle)
    # The same run on the pure path gives the same y and x.
    tx, params = otx.schedule_free_adamw(0.05, warmup_steps=2), dict(initial)
    state, gen = tx.init(params), torch.Generator().manual_seed(0)
    for _ in range(4):
        x = torch.randn(6, 3, generator=gen)
        w, b = (p.detach().requires_grad_() for p in params.values())
        torch.nn.functional.linear(x, w, b).pow(2).mean().backward()
        updates, state = tx.update({"0": w.grad, "1": b.grad}, state, params)
        params = otx.apply_updates(params, updates)
    y = [p.detach().clone() for p in model.parameters()]
    want_x = otx.schedule_free_eval_params(state, params)
    with otx.eval_params(handle):
        for p, want in zip(model.parameters(), want_x.values(), strict=True):
            torch.testing.assert_close(p.detach(), want, rtol=1e-6, atol=1e-7)
    for p, before, want in zip(model.parameters(), y, params.values(), strict=True):
        assert torch.equal(p.detach(), before)
        torch.testing.assert_close(before, want, rtol=1e-6, atol=1e-7)


def test_facade_restores_after_an_exception_and_scheduler_changes_lr():
    model = torch.nn.Linear(2, 1)
    opt = otx.TransformOptimizer(model.parameters(), dict(type="schedule_free_sgd", lr=0.5))
    scheduler = torch.optim.lr_scheduler.LambdaLR(opt, lambda epoch: 0.5**epoch)
    _train(model, opt, steps=2)
    scheduler.step()
    assert math.isclose(opt.param_groups[0]["lr"], 0.25)
    before = [p.detach().clone() for p in model.parameters()]
    with pytest.raises(RuntimeError, match="boom"), otx.eval_params(opt):
        raise RuntimeError("boom")
    assert all(torch.equal(p.detach(), b) for p, b in zip(model.parameters(), before, strict=True))
    assert math.isclose(otx.get_hyperparams(opt.transform_states[0])["lr"].item(), 0.5)  # synced at the next step
    _train(model, opt, steps=1)
    assert math.isclose(otx.get_hyperparams(opt.transform_states[0])["lr"].item(), 0.25)


def test_state_dict_round_trip_through_the_facade():
    model = torch.nn.Linear(2, 2)
    cfg = dict(type="schedule_free_adamw", lr=0.01, state_dtype=torch.bfloat16)
    opt = otx.TransformOptimizer(model.parameters(), cfg)
    _train(model, opt, steps=2)
    sd = opt.state_dict()
    other = otx.TransformOptimizer(model.parameters(), cfg)
    other.load_state_dict(sd)
    with otx.eval_params(opt):
        a = [p.detach().clone() for p in model.parameters()]
    with otx.eval_params(other):
        b = [p.detach().clone() for p in model.parameters()]
    assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))


def test_state_dtype_by_name_in_a_text_config():
    model = torch.nn.Linear(2, 2)
    opt = otx.TransformOptimizer(model.parameters(), dict(type="schedule_free_sgd", lr=0.1, state_dtype="bfloat16"))
    assert opt.transform_states[0].inner_state.z["0"].dtype == torch.bfloat16
    with pytest.raises(ValueError, match=r"Invalid state_dtype: 'int8'. It must be None or a floating dtype"):
        otx.schedule_free_sgd(state_dtype="int8")


def test_eval_params_refuses_a_tree_with_other_keys():
    tx = otx.schedule_free_sgd()
    state = tx.init({"a": torch.ones(1), "b": torch.zeros(1)})
    with pytest.raises(ValueError, match="keys are in another order"):
        otx.schedule_free_eval_params(state, {"b": torch.zeros(1), "a": torch.ones(1)})


@pytest.mark.parametrize(("factory", "fp32_bytes"), [(otx.schedule_free_adamw, 8), (otx.schedule_free_sgd, 4)])
def test_state_bytes_per_parameter_halve_with_bfloat16(factory, fp32_bytes):
    params = {"w": torch.zeros(64, 32), "b": torch.zeros(32)}
    n = sum(p.numel() for p in params.values())

    def state_bytes(state):
        tensors = [*state.z.values(), *state.nu.values()]
        return sum(t.numel() * t.element_size() for t in tensors) / n

    assert state_bytes(factory().init(params)) == fp32_bytes
    assert state_bytes(factory(state_dtype=torch.bfloat16).init(params)) == fp32_bytes / 2
