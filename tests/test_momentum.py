"""trace equals torch.optim.SGD's momentum buffer and step direction."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import optimtx as otx
from tests.strategies import gradient_runs
from tests.torch_reference import lockstep, torch_params


@st.composite
def trace_kwargs(draw):
    nesterov = draw(st.booleans())
    momentum = draw(st.floats(0.01, 0.99))
    dampening = 0.0 if nesterov else draw(st.floats(0.0, 0.9))
    return dict(momentum=momentum, dampening=dampening, nesterov=nesterov)


@given(kwargs=trace_kwargs(), run=gradient_runs())
def test_trace_matches_torch_sgd_momentum(kwargs, run):
    params, grads_seq = run
    ps = torch_params(params)
    opt = torch.optim.SGD(ps, lr=1.0, **kwargs)
    for k, out, step, torch_state, state in lockstep(otx.trace(**kwargs), opt, ps, params, grads_seq):
        torch.testing.assert_close(out, step)  # lr=1: the step is the trace output
        torch.testing.assert_close(state.trace[k], torch_state["momentum_buffer"])
    assert int(state.count) == len(grads_seq)


def test_first_step_comes_from_the_counter():
    """A state whose counter says "first step" takes the gradient as the buffer, whatever it held."""
    tx = otx.trace(0.9, dampening=0.5)
    g = {"w": torch.tensor([2.0])}
    state = otx.TraceState(count=torch.tensor(0), trace={"w": torch.tensor([100.0])})
    out, state = tx.update(g, state)
    assert torch.equal(out["w"], g["w"])
    out, _ = tx.update(g, state)
    torch.testing.assert_close(out["w"], torch.tensor([0.9 * 2.0 + 0.5 * 2.0]))


@given(kwargs=trace_kwargs(), run=gradient_runs())
def test_tensor_hyperparameters_equal_float_ones(kwargs, run):
    params, grads_seq = run
    as_tensors = dict(kwargs, momentum=torch.tensor(kwargs["momentum"], dtype=torch.float64))
    as_tensors["dampening"] = torch.tensor(kwargs["dampening"], dtype=torch.float64)
    txs = [otx.trace(**kwargs), otx.trace(**as_tensors)]
    states = [tx.init(params) for tx in txs]
    for grads in grads_seq:
        (a, states[0]), (b, states[1]) = (tx.update(grads, s) for tx, s in zip(txs, states, strict=True))
        for k in a:
            torch.testing.assert_close(a[k], b[k], rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"momentum": -0.1}, "momentum"),
        ({"momentum": 0.0, "nesterov": True}, "nesterov"),
        ({"momentum": 0.9, "dampening": 0.1, "nesterov": True}, "dampening"),
        ({"momentum": 0.9, "dampening": "x"}, "dampening"),
    ],
)
def test_invalid_arguments(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        otx.trace(**kwargs)


def test_zero_momentum_is_the_identity_even_with_dampening():
    tx = otx.trace(torch.tensor(0.0), dampening=0.3)
    g = {"w": torch.tensor([1.5, -2.0])}
    state = tx.init(g)
    for _ in range(3):
        out, state = tx.update(g, state)
        assert torch.equal(out["w"], g["w"])
