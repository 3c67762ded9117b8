"""lookahead: slow weights in the state, the paper's rule, configs and the facade's eval switch."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import optimtx as otx
from tests.strategies import gradient_runs


def _run(tx, params, grads):
    state = tx.init(params)
    for g in grads:
        updates, state = tx.update(g, state, params)
        params = otx.apply_updates(params, updates)
    return params, state


@settings(max_examples=15)
@given(run=gradient_runs(min_steps=1, max_steps=8), k=st.integers(1, 4), alpha=st.sampled_from([0.0, 0.3, 1.0]))
def test_matches_the_paper_loop(run, k, alpha):
    """k fast SGD steps, then slow += alpha * (fast - slow) and fast = slow (Zhang et al., Algorithm 1)."""
    params, grads = run
    got, state = _run(otx.lookahead(otx.sgd(0.1), k, alpha), params, grads)
    fast = {n: v.clone() for n, v in params.items()}
    slow = {n: v.clone() for n, v in params.items()}
    for t, g in enumerate(grads, start=1):
        fast = {n: fast[n] - 0.1 * g[n] for n in fast}
        if t % k == 0:
            slow = {n: slow[n] + alpha * (fast[n] - slow[n]) for n in slow}
            fast = {n: v.clone() for n, v in slow.items()}
    for n in params:
        torch.testing.assert_close(got[n], fast[n], rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(otx.get_slow_params(state)[n], slow[n], rtol=1e-12, atol=1e-12)
    assert int(state.steps_since_sync) == len(grads) % k


@settings(max_examples=10)
@given(run=gradient_runs(min_steps=1, max_steps=5))
def test_sync_every_step_with_full_slow_step_is_the_inner_optimizer(run):
    params, grads = run
    got, _ = _run(otx.lookahead(otx.adam(0.05), 1, 1.0), params, grads)
    want, _ = _run(otx.adam(0.05), params, grads)
    for n in params:
        torch.testing.assert_close(got[n], want[n], rtol=1e-12, atol=1e-12)


def test_needs_params_and_a_lookahead_state():
    tx = otx.lookahead(otx.sgd(0.1), 2, 0.5)
    with pytest.raises(ValueError, match="lookahead needs the current parameters"):
        tx.update({"w": torch.ones(1)}, tx.init({"w": torch.ones(1)}))
    with pytest.raises(ValueError, match="No LookaheadState"):
        otx.get_slow_params(otx.sgd(0.1).init({"w": torch.ones(1)}))


def test_config_in_transform_optimizer_has_group_lr_and_evaluates_with_slow_weights():
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 1)
    cfg = dict(type="lookahead", inner=dict(type="adamw", lr=0.01), sync_period=3, slow_step_size=0.5)
    opt = otx.TransformOptimizer(model.parameters(), cfg)
    assert opt.param_groups[0]["lr"] == 0.01
    for _ in range(4):  # one sync, then one fast step: fast != slow
        opt.zero_grad()
        model(torch.randn(4, 3)).pow(2).sum().backward()
        opt.step()
    fast = [p.detach().clone() for p in model.parameters()]
    slow = list(otx.get_slow_params(opt.transform_states[0]).values())
    assert not all(torch.equal(a, b) for a, b in zip(fast, slow, strict=True))
    with otx.eval_params(otx.OptimWrapper(opt)):
        assert all(torch.equal(p.detach(), s) for p, s in zip(model.parameters(), slow, strict=True))
    assert all(torch.equal(p.detach(), f) for p, f in zip(model.parameters(), fast, strict=True))
