"""scale_by_lion: the sign of the interpolated momentum, and the momentum update."""

from __future__ import annotations

import torch
from hypothesis import given
from hypothesis import strategies as st

import optimtx as otx
from tests.strategies import gradient_runs


@given(b1=st.floats(0.0, 0.99), b2=st.floats(0.0, 0.99), run=gradient_runs())
def test_direction_and_momentum_follow_the_paper(b1, b2, run):
    params, grads_seq = run
    tx = otx.scale_by_lion(b1, b2)
    state = tx.init(params)
    m = {k: torch.zeros_like(v) for k, v in params.items()}
    for grads in grads_seq:
        out, state = tx.update(grads, state)
        for k, g in grads.items():
            assert torch.equal(out[k], torch.sign(b1 * m[k] + (1 - b1) * g))
            m[k] = b2 * m[k] + (1 - b2) * g
            torch.testing.assert_close(state.mu[k], m[k], rtol=1e-12, atol=1e-14)


def test_updates_are_plus_or_minus_one():
    g = {"w": torch.randn(100, generator=torch.Generator().manual_seed(0))}
    tx = otx.scale_by_lion()
    out, _ = tx.update(g, tx.init(g))
    assert set(out["w"].abs().unique().tolist()) == {1.0}
