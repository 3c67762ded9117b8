"""ema_params: equal to torch's AveragedModel with get_ema_multi_avg_fn, on the pure path and in the facade."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

import optimtx as otx
from tests.strategies import gradient_runs


def _averaged_model_run(params, grads, decay, lr):
    """torch's reference: SGD on a ParameterList, AveragedModel.update_parameters after each step."""
    model = torch.nn.ParameterList([torch.nn.Parameter(p.clone()) for p in params.values()])
    ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(decay))
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    for g in grads:
        for p, gk in zip(model, g.values(), strict=True):
            p.grad = gk.clone()
        opt.step()
        ema.update_parameters(model)
    return [p.detach() for p in model], [p.detach() for p in ema.module]


@settings(max_examples=15)
@given(
    run=gradient_runs(min_steps=1, max_steps=6),
    decay=st.sampled_from([0.0, 0.5, 0.9, 0.999, 1.0]),
    lr=st.sampled_from([0.01, 0.5]),
)
def test_equals_averaged_model_with_ema_multi_avg_fn(run, decay, lr):
    params, grads = run
    tx = otx.chain(otx.sgd(lr), otx.ema_params(decay))
    state = tx.init(params)
    for g in grads:
        updates, state = tx.update(g, state, params)
        params = otx.apply_updates(params, updates)
    want_params, want_ema = _averaged_model_run(run[0], grads, decay, lr)
    for got, want in zip(params.values(), want_params, strict=True):
        torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-12)
    for got, want in zip(otx.get_ema_params(state).values(), want_ema, strict=True):
        torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-12)


def test_first_update_copies_and_updates_pass_through():
    params = {"w": torch.tensor([1e8, 3.0])}
    tx = otx.chain(otx.sgd(1.0), otx.ema_params(0.999))
    state = tx.init(params)
    assert torch.equal(otx.get_ema_params(state)["w"], params["w"])  # before any update: the initial copy
    updates, state = tx.update({"w": torch.tensor([1e8 - 1, 1.0])}, state, params)
    new = otx.apply_updates(params, updates)
    assert torch.equal(otx.get_ema_params(state)["w"], new["w"])  # exactly the new params
    assert torch.equal(updates["w"], -torch.tensor([1e8 - 1, 1.0]))  # sgd's update, unchanged


def test_state_count_and_errors():
    with pytest.raises(ValueError, match="ema_params needs the current parameters"):
        tx = otx.ema_params(0.9)
        tx.update({"w": torch.ones(1)}, tx.init({"w": torch.ones(1)}))
    with pytest.raises(ValueError, match="No EmaParamsState"):
        otx.get_ema_params(otx.sgd(0.1).init({"w": torch.ones(1)}))


@pytest.mark.parametrize("wrap", [False, True])
def test_transform_optimizer_and_optim_wrapper_evaluate_with_ema_weights(wrap):
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 2)
    reference = torch.nn.ParameterList([torch.nn.Parameter(p.detach().clone()) for p in model.parameters()])
    ema_ref = AveragedModel(reference, multi_avg_fn=get_ema_multi_avg_fn(0.8))
    opt = otx.TransformOptimizer(
        model.parameters(),
        dict(type="chain", transforms=[dict(type="sgd", lr=0.1, momentum=0.9), dict(type="ema_params", decay=0.8)]),
    )
    assert opt.param_groups[0]["lr"] == 0.1
    ref_opt = torch.optim.SGD(reference.parameters(), lr=0.1, momentum=0.9)
    handle = otx.OptimWrapper(opt) if wrap else opt
    for _ in range(4):
        x = torch.randn(5, 3)
        for m, o in ((model, opt), (reference, ref_opt)):
            o.zero_grad()
            out = torch.nn.functional.linear(x, *m.parameters()) if m is reference else m(x)
            out.pow(2).sum().backward()
            o.step()
        ema_ref.update_parameters(reference)
    training = [p.detach().clone() for p in model.parameters()]
    with otx.eval_params(handle):
        for p, want in zip(model.parameters(), ema_ref.module, strict=True):
            torch.testing.assert_close(p.detach(), want.detach(), rtol=1e-5, atol=1e-6)
    for p, before in zip(model.parameters(), training, strict=True):
        assert torch.equal(p.detach(), before)  # restored bit for bit
