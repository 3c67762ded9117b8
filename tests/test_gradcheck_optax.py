"""gradcheck through two steps of the optax-style optimizers (gradients w.r.t. params and gradients)."""

from __future__ import annotations

import pytest
import torch

import optimtx as otx
from tests.test_gradcheck import _inputs, _two_steps

CASES = {
    "lamb": lambda: otx.lamb(0.1, weight_decay=0.1),
    "lars": lambda: otx.lars(0.5, weight_decay=0.01, trust_coefficient=0.1, nesterov=True),
    "lookahead": lambda: otx.lookahead(otx.adam(0.1), sync_period=1, slow_step_size=0.5),
    "schedule_free_adamw": lambda: otx.schedule_free_adamw(0.1, warmup_steps=1, weight_decay=0.1),
    "schedule_free_sgd": lambda: otx.schedule_free_sgd(0.1, weight_decay=0.1),
    "agc": lambda: otx.chain(otx.adaptive_grad_clip(0.5), otx.sgd(0.1)),
    "zero_nans_centralize": lambda: otx.chain(otx.zero_nans(), otx.centralize(), otx.sgd(0.1)),
    "clip_by_norm_per_tensor": lambda: otx.chain(otx.clip_by_norm(1.0, per_tensor=True), otx.sgd(0.1)),
    "ema_params": lambda: otx.chain(otx.adamw(0.1), otx.ema_params(0.9)),
}


@pytest.mark.parametrize("name", list(CASES))
def test_gradcheck_two_steps(name):
    assert torch.autograd.gradcheck(_two_steps(CASES[name]()), _inputs())


@pytest.mark.parametrize("factory", [otx.schedule_free_adamw, otx.schedule_free_sgd, otx.lamb, otx.lars])
def test_gradient_flows_into_an_injected_learning_rate(factory):
    """Meta-learning the learning rate: d(new params)/d(lr) matches a finite difference."""
    params = {"w": torch.linspace(-1, 1, 4, dtype=torch.float64)}
    grads = {"w": torch.tensor([0.5, -1.0, 2.0, 0.25], dtype=torch.float64)}

    def new_params(lr):
        tx = otx.inject_hyperparams(factory)(lr=0.1)
        state = otx.set_hyperparams(tx.init(params), lr=lr)
        updates, _ = tx.update(grads, state, params)
        return otx.apply_updates(params, updates)["w"]

    lr = torch.tensor(0.1, dtype=torch.float64, requires_grad=True)
    new_params(lr).sum().backward()
    h = 1e-6
    up, down = torch.tensor(0.1 + h, dtype=torch.float64), torch.tensor(0.1 - h, dtype=torch.float64)
    numeric = (new_params(up).sum() - new_params(down).sum()) / (2 * h)
    torch.testing.assert_close(lr.grad, numeric.to(torch.float64), rtol=1e-5, atol=1e-8)
