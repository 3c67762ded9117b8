"""scale_by_adam keeps torch.optim.Adam's moments and gives its step direction."""

from __future__ import annotations

import torch
from hypothesis import given
from hypothesis import strategies as st

import optimtx as otx
from tests.strategies import gradient_runs
from tests.torch_reference import lockstep, torch_params

TOL = {"rtol": 1e-9, "atol": 1e-12}


@given(
    b1=st.floats(0.0, 0.99),
    b2=st.floats(0.0, 0.999),
    eps=st.sampled_from([1e-8, 1e-3]),
    amsgrad=st.booleans(),
    run=gradient_runs(),
)
def test_state_and_step_match_torch_adam(b1, b2, eps, amsgrad, run):
    params, grads_seq = run
    ps = torch_params(params)
    opt = torch.optim.Adam(ps, lr=1.0, betas=(b1, b2), eps=eps, amsgrad=amsgrad, foreach=False)
    for k, out, step, torch_state, state in lockstep(
        otx.scale_by_adam(b1, b2, eps, amsgrad), opt, ps, params, grads_seq
    ):
        torch.testing.assert_close(out, step, **TOL)
        torch.testing.assert_close(state.mu[k], torch_state["exp_avg"], **TOL)
        torch.testing.assert_close(state.nu[k], torch_state["exp_avg_sq"], **TOL)
        if amsgrad:
            torch.testing.assert_close(state.nu_max[k], torch_state["max_exp_avg_sq"], **TOL)
    assert int(state.count) == len(grads_seq)
    assert (state.nu_max != {}) == amsgrad


def test_eps_is_added_after_the_bias_corrected_root():
    tx = otx.scale_by_adam(b1=0.0, b2=0.5, eps=1.0)
    g = {"w": torch.tensor([2.0], dtype=torch.float64)}
    out, _ = tx.update(g, tx.init(g))
    # v = 0.5 * 4 = 2, corrected 2 / (1 - 0.5) = 4, root 2, plus eps 1
    torch.testing.assert_close(out["w"], torch.tensor([2.0 / 3.0], dtype=torch.float64))


def test_amsgrad_uses_the_largest_second_moment():
    tx = otx.scale_by_adam(b1=0.0, b2=0.5, eps=0.0, amsgrad=True)
    state = tx.init({"w": torch.zeros(1, dtype=torch.float64)})
    _, state = tx.update({"w": torch.tensor([4.0], dtype=torch.float64)}, state)
    _, state = tx.update({"w": torch.tensor([0.0], dtype=torch.float64)}, state)
    assert torch.equal(state.nu_max["w"], torch.tensor([8.0], dtype=torch.float64))
    assert torch.equal(state.nu["w"], torch.tensor([4.0], dtype=torch.float64))


def test_bias_correction_is_float64():
    assert otx.transforms.adam.bias_correction(torch.tensor(0.9), torch.tensor(3)).dtype == torch.float64


def _plain_adam_two_steps(g1, g2, b1, b2, eps):
    """Adam's direction after two steps, written with ordinary tensor ops (the autograd reference)."""
    m = (1 - b1) * g1
    v = (1 - b2) * g1 * g1
    m = b1 * m + (1 - b1) * g2
    v = b2 * v + (1 - b2) * g2 * g2
    return (m / (1 - b1**2)) / (v.sqrt() / (1 - b2**2).sqrt() + eps)


def test_gradients_flow_correctly_through_the_update():
    gen = torch.Generator().manual_seed(0)
    g1, g2 = (torch.randn(5, generator=gen, dtype=torch.float64, requires_grad=True) for _ in range(2))
    hyper = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (0.8, 0.9, 1e-3)]
    tx = otx.scale_by_adam(*hyper)
    _, state = tx.update({"w": g1}, tx.init({"w": g1.detach()}))
    out, _ = tx.update({"w": g2}, state)
    inputs = [g1, g2, *hyper]
    got = torch.autograd.grad(out["w"].sum(), inputs)
    expected = torch.autograd.grad(_plain_adam_two_steps(g1, g2, *hyper).sum(), inputs)
    for a, b in zip(got, expected, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-12)


@given(b1=st.floats(0.0, 0.99), b2=st.floats(0.0, 0.999), eps=st.sampled_from([1e-8, 1e-3]), run=gradient_runs())
def test_adamax_state_and_step_match_torch(b1, b2, eps, run):
    params, grads_seq = run
    ps = torch_params(params)
    opt = torch.optim.Adamax(ps, lr=1.0, betas=(b1, b2), eps=eps, foreach=False)
    for k, out, step, torch_state, state in lockstep(otx.scale_by_adamax(b1, b2, eps), opt, ps, params, grads_seq):
        torch.testing.assert_close(out, step, **TOL)
        torch.testing.assert_close(state.mu[k], torch_state["exp_avg"], **TOL)
        torch.testing.assert_close(state.inf_norm[k], torch_state["exp_inf"], **TOL)
