"""Updates are differentiable: gradcheck through two steps of an optimizer (meta-learning works)."""

from __future__ import annotations

import torch

import optimtx as otx


def _two_steps(tx):
    def run(w, g1, g2):
        params = {"w": w}
        state = tx.init(params)
        u1, state = tx.update({"w": g1}, state, params)
        params = otx.apply_updates(params, u1)
        u2, _ = tx.update({"w": g2 * params["w"]}, state, params)  # second gradient depends on the first step
        return otx.apply_updates(params, u2)["w"]

    return run


def _inputs():
    gen = torch.Generator().manual_seed(0)
    return tuple(torch.randn(5, generator=gen, dtype=torch.float64, requires_grad=True) for _ in range(3))


def test_gradcheck_clip_then_adam():
    tx = otx.chain(otx.clip_by_global_norm(1.0), otx.adam(0.1))
    assert torch.autograd.gradcheck(_two_steps(tx), _inputs())


def test_gradcheck_through_combinators():
    tx = otx.chain(
        otx.clip_by_global_norm(10.0),
        otx.inject_hyperparams(otx.sgd)(lr=0.1, momentum=0.9),
    )
    assert torch.autograd.gradcheck(_two_steps(otx.masked(tx, {"w": True})), _inputs())


def test_gradient_flows_into_an_injected_learning_rate():
    lr = torch.tensor(0.1, dtype=torch.float64, requires_grad=True)
    tx = otx.inject_hyperparams(otx.sgd)(lr=0.1)
    params = {"w": torch.ones(3, dtype=torch.float64)}
    state = otx.set_hyperparams(tx.init(params), lr=lr)
    updates, _ = tx.update({"w": torch.full((3,), 2.0, dtype=torch.float64)}, state, params)
    otx.apply_updates(params, updates)["w"].sum().backward()
    assert lr.grad.item() == -6.0
