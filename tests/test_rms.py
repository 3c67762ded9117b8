"""scale_by_rms and scale_by_adagrad keep torch's RMSprop / Adagrad state and direction."""

from __future__ import annotations

import torch
from hypothesis import given
from hypothesis import strategies as st

import optimtx as otx
from tests.strategies import gradient_runs
from tests.torch_reference import lockstep, torch_params

TOL = {"rtol": 1e-9, "atol": 1e-12}


@given(alpha=st.floats(0.5, 0.999), eps=st.sampled_from([1e-8, 1e-2]), centered=st.booleans(), run=gradient_runs())
def test_scale_by_rms_matches_torch_rmsprop(alpha, eps, centered, run):
    params, grads_seq = run
    ps = torch_params(params)
    opt = torch.optim.RMSprop(ps, lr=1.0, alpha=alpha, eps=eps, centered=centered, foreach=False)
    for k, out, step, torch_state, state in lockstep(
        otx.scale_by_rms(alpha, eps, centered), opt, ps, params, grads_seq
    ):
        torch.testing.assert_close(out, step, equal_nan=True, **TOL)
        torch.testing.assert_close(state.nu[k], torch_state["square_avg"], **TOL)
        if centered:
            torch.testing.assert_close(state.mu[k], torch_state["grad_avg"], **TOL)
    assert (state.mu != {}) == centered


@given(initial=st.sampled_from([0.0, 0.1, 3.0]), eps=st.sampled_from([1e-10, 1e-2]), run=gradient_runs())
def test_scale_by_adagrad_matches_torch_adagrad(initial, eps, run):
    params, grads_seq = run
    ps = torch_params(params)
    opt = torch.optim.Adagrad(ps, lr=1.0, initial_accumulator_value=initial, eps=eps, foreach=False)
    for k, out, step, torch_state, state in lockstep(otx.scale_by_adagrad(initial, eps), opt, ps, params, grads_seq):
        torch.testing.assert_close(out, step, **TOL)
        torch.testing.assert_close(state.sum[k], torch_state["sum"], **TOL)


def test_tensor_alpha_equals_float_alpha():
    g = {"w": torch.tensor([1.0, -3.0], dtype=torch.float64)}
    a, b = otx.scale_by_rms(0.9, centered=True), otx.scale_by_rms(torch.tensor(0.9, dtype=torch.float64), centered=True)
    sa, sb = a.init(g), b.init(g)
    for _ in range(3):
        (ua, sa), (ub, sb) = a.update(g, sa), b.update(g, sb)
        torch.testing.assert_close(ua["w"], ub["w"], rtol=1e-12, atol=0)


@given(initial=st.sampled_from([0.0, 0.1, 3.0]), dtype=st.sampled_from([torch.float32, torch.float64, torch.complex64]))
def test_tensor_initial_accumulator_equals_number(initial, dtype):
    params = {"w": torch.ones(2, 3, dtype=dtype)}
    value = torch.tensor(initial, dtype=torch.float64, requires_grad=True)
    by_number = otx.scale_by_adagrad(initial).init(params).sum["w"]
    by_tensor = otx.scale_by_adagrad(value).init(params).sum["w"]
    assert by_tensor.dtype == by_number.dtype and by_tensor.shape == by_number.shape
    assert torch.equal(by_tensor, by_number)
