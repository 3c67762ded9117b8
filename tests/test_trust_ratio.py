"""scale_by_trust_ratio, lamb and lars: the per-tensor laws (optax parity is in test_optax_parity.py)."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import optimtx as otx
from tests.strategies import trees


@settings(max_examples=20)
@given(grads=trees(dtype=torch.float64), tc=st.sampled_from([1e-3, 1.0]), eps=st.sampled_from([0.0, 1e-2]))
def test_trust_ratio_matches_the_per_tensor_formula(grads, tc, eps):
    params = {k: (v * 0.5 + 0.25) for k, v in grads.items()}
    params[next(iter(params))] = torch.zeros_like(next(iter(params.values())))  # a zero-norm parameter keeps ratio 1
    tx = otx.scale_by_trust_ratio(tc, eps)
    out, _ = tx.update(grads, tx.init(params), params)
    for k, g in grads.items():
        pn, gn = params[k].norm(), g.norm()
        ratio = 1.0 if pn == 0 or gn == 0 else tc * pn / (gn + eps)
        torch.testing.assert_close(out[k], g * ratio, rtol=1e-12, atol=0)


@settings(max_examples=15)
@given(grads=trees(dtype=torch.float64, min_ndim=1), lr=st.sampled_from([1e-3, 0.1]))
def test_lamb_step_has_norm_lr_times_param_norm(grads, lr):
    """Without decay, every tensor with a non-zero update moves by exactly lr * ||p||."""
    params = {k: torch.ones_like(v) * 2.0 for k, v in grads.items()}
    tx = otx.lamb(lr)
    updates, _ = tx.update(grads, tx.init(params), params)
    for k, u in updates.items():
        if grads[k].abs().max() > 1e-6:
            torch.testing.assert_close(u.norm(), lr * params[k].norm(), rtol=1e-9, atol=0)


def test_lars_refuses_nesterov_without_momentum_and_needs_params():
    with pytest.raises(ValueError, match="nesterov"):
        otx.lars(0.1, momentum=0.0, nesterov=True)
    tx = otx.lars(0.1)
    with pytest.raises(ValueError, match="needs the current parameters"):
        tx.update({"w": torch.ones(1)}, tx.init({"w": torch.ones(1)}))


@pytest.mark.parametrize("name", ["lamb", "lars"])
def test_config_in_transform_optimizer_exposes_lr(name):
    model = torch.nn.Linear(2, 2)
    opt = otx.TransformOptimizer(model.parameters(), dict(type=name, lr=0.02, weight_decay=0.01))
    assert opt.param_groups[0]["lr"] == 0.02 and opt.param_groups[0]["weight_decay"] == 0.01
    model(torch.ones(1, 2)).sum().backward()
    before = [p.detach().clone() for p in model.parameters()]
    opt.step()
    assert all(not torch.equal(p.detach(), b) for p, b in zip(model.parameters(), before, strict=True))
