"""adamw's fused update equals its block-by-block chain: values, states, gradients, errors."""

from __future__ import annotations

import pytest
import torch

import optimtx as otx
from optimtx.core.base import chain
from optimtx.transforms._fused_adamw import fuse_adamw
from optimtx.transforms.adam import scale_by_adam
from optimtx.transforms.scaling import scale_by_learning_rate
from optimtx.transforms.weight_decay import add_decayed_weights


def _unfused(lr, weight_decay, betas=(0.9, 0.999), eps=1e-8, amsgrad=False):
    decay = [add_decayed_weights(weight_decay)] if weight_decay != 0 else []
    return chain(scale_by_adam(*betas, eps, amsgrad), *decay, scale_by_learning_rate(lr))


def _tree(seed, dtype=torch.float64):
    gen = torch.Generator().manual_seed(seed)
    return {"a": torch.randn(3, 4, generator=gen, dtype=dtype), "b": torch.randn(5, generator=gen, dtype=dtype)}


def _run(tx, steps=4):
    params, state, trace = _tree(0), None, []
    state = tx.init(params)
    for i in range(steps):
        updates, state = tx.update(_tree(i + 1), state, params)
        params = otx.apply_updates(params, updates)
        trace.append(updates)
    return params, state, trace


@pytest.mark.parametrize("lr", [1e-2, 0.0])
@pytest.mark.parametrize("weight_decay", [0.1, 0.0])
@pytest.mark.parametrize("amsgrad", [False, True])
def test_fused_adamw_matches_the_chain(lr, weight_decay, amsgrad):
    fused = otx.adamw(lr, weight_decay=weight_decay, amsgrad=amsgrad)
    p1, s1, t1 = _run(fused)
    p2, s2, t2 = _run(_unfused(lr, weight_decay, amsgrad=amsgrad))
    for u1, u2 in zip(t1, t2, strict=True):
        for k in u1:
            torch.testing.assert_close(u1[k], u2[k], rtol=1e-12, atol=1e-15)
    assert type(s1) is tuple and [type(s) for s in s1] == [type(s) for s in s2]
    torch.testing.assert_close(s1[0].mu, s2[0].mu, rtol=0, atol=0)
    torch.testing.assert_close(s1[0].nu, s2[0].nu, rtol=0, atol=0)
    torch.testing.assert_close(s1[0].count, s2[0].count)
    torch.testing.assert_close(p1, p2, rtol=1e-12, atol=1e-15)


def test_fused_adamw_is_used_only_for_number_hyperparameters():
    p = {"w": torch.ones(2)}
    assert otx.adamw(0.1).update.__qualname__.startswith("fuse_adamw")
    assert not otx.adamw(torch.tensor(0.1)).update.__qualname__.startswith("fuse_adamw")
    assert not otx.adamw(0.1, weight_decay=torch.tensor(0.1)).update.__qualname__.startswith("fuse_adamw")
    tx = otx.adamw(torch.tensor(0.1))
    assert torch.isfinite(tx.update({"w": torch.ones(2)}, tx.init(p), p)[0]["w"]).all()


def test_fused_adamw_does_not_mutate_its_inputs():
    tx = otx.adamw(0.1, weight_decay=0.5)
    params, grads = _tree(0), _tree(1)
    state = tx.init(params)
    state = tx.update(grads, state, params)[1]
    before = [t.clone() for t in (*params.values(), *grads.values(), *state[0].mu.values(), *state[0].nu.values())]
    tx.update(grads, state, params)
    after = [*params.values(), *grads.values(), *state[0].mu.values(), *state[0].nu.values()]
    for b, a in zip(before, after, strict=True):
        assert torch.equal(b, a)


@pytest.mark.parametrize("weight_decay", [0.3, 0.0])
def test_gradients_through_the_fused_update_match_the_chain(weight_decay):
    def loss(tx, w, g1, g2):
        params = {"w": w}
        state = tx.init(params)
        u1, state = tx.update({"w": g1}, state, params)
        params = otx.apply_updates(params, u1)
        u2, _ = tx.update({"w": g2 * params["w"]}, state, params)
        return otx.apply_updates(params, u2)["w"]

    gen = torch.Generator().manual_seed(0)
    inputs = tuple(torch.randn(5, generator=gen, dtype=torch.float64, requires_grad=True) for _ in range(3))
    fused = otx.adamw(0.1, weight_decay=weight_decay)
    assert torch.autograd.gradcheck(lambda *xs: loss(fused, *xs), inputs)
    out_fused = loss(fused, *inputs).sum()
    grads_fused = torch.autograd.grad(out_fused, inputs)
    grads_chain = torch.autograd.grad(loss(_unfused(0.1, weight_decay), *inputs).sum(), inputs)
    for a, b in zip(grads_fused, grads_chain, strict=True):
        torch.testing.assert_close(a, b)


def test_fused_adamw_keeps_the_chain_errors():
    tx = otx.adamw(0.1)
    g = {"w": torch.ones(1)}
    with pytest.raises(ValueError, match="needs the current parameters"):
        tx.update(g, tx.init(g))
    with pytest.raises(ValueError, match="chain of 3 transforms"):
        tx.update(g, (), g)
    with pytest.raises(ValueError):
        tx.update(g, tx.init(g), {"v": torch.ones(1)})


def test_fused_adamw_on_an_empty_tree_counts_the_step():
    tx = fuse_adamw(_unfused(0.1, 0.1), 0.9, 0.999, 1e-8, False, 0.1, 0.1)
    updates, state = tx.update({}, tx.init({}), {})
    assert updates == {} and int(state[0].count) == 1
