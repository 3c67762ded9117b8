"""Chains of built-in transforms and combinators compile with fullgraph=True (no host sync) and match eager."""

from __future__ import annotations

import math

import pytest
import torch

import optimtx as otx
from optimtx.core.state_tree import iter_nodes

PARAMS = {"w": torch.randn(4, 3, generator=torch.Generator().manual_seed(0)), "b": torch.zeros(3)}


def _pipelines():
    lr = otx.schedules.warmup_cosine_decay(0.0, 0.1, 2, 10)
    return {
        "amp-accumulate-injected-adamw": otx.chain(
            otx.clip_by_global_norm(1.0),
            otx.scale_by_amp(
                otx.accumulate(otx.inject_hyperparams(otx.adamw)(lr=lr, betas=(0.9, 0.99)), 2),
                init_scale=2.0**10,
                growth_interval=2,
            ),
        ),
        **{
            f"amp-accumulate-labels-masked-injected-{name}": otx.chain(
                otx.clip_by_global_norm(1.0, norm_type=math.inf),
                otx.scale_by_amp(
                    otx.accumulate(
                        otx.multi_transform(
                            {
                                "w": otx.masked(otx.inject_hyperparams(factory)(**hp), {"w": True}),
                                "b": otx.inject_hyperparams(factory)(**hp),
                            },
                            {"w": "w", "b": "b"},
                        ),
                        2,
                    ),
                    init_scale=4.0,
                    growth_interval=1,
                ),
            )
            for name, factory, hp in (
                ("sgd", otx.sgd, dict(lr=lr, momentum=0.9, nesterov=True, weight_decay=1e-2)),
                ("rmsprop", otx.rmsprop, dict(lr=0.01, momentum=0.9, centered=True, weight_decay=1e-3)),
            )
        },
        "labels-masked-finite": otx.multi_transform(
            {
                "decay": otx.masked(otx.sgd(0.1, momentum=0.9, nesterov=True), {"w": True}),
                "plain": otx.apply_if_finite(otx.adam(0.01)),
            },
            {"w": "decay", "b": "plain"},
        ),
    }


def _grads(step):
    gen = torch.Generator().manual_seed(step)
    grads = {k: torch.randn(v.shape, generator=gen) * 100 for k, v in PARAMS.items()}
    if step == 2:
        grads["b"] = torch.tensor([1.0, math.inf, 0.0])
    return grads


@pytest.mark.parametrize("name", list(_pipelines()))
def test_compiled_update_matches_eager(name):
    tx = _pipelines()[name]
    torch._dynamo.reset()
    compiled = torch.compile(tx.update, fullgraph=True, backend="eager")
    eager_state = compiled_state = tx.init(PARAMS)
    for step in range(5):
        g = _grads(step)
        u_eager, eager_state = tx.update(g, eager_state, PARAMS)
        u_comp, compiled_state = compiled(g, compiled_state, PARAMS)
        for k in PARAMS:
            torch.testing.assert_close(u_comp[k], u_eager[k], rtol=0, atol=0)
    leaves_e = [n for n in iter_nodes(eager_state) if isinstance(n, torch.Tensor)]
    leaves_c = [n for n in iter_nodes(compiled_state) if isinstance(n, torch.Tensor)]
    assert len(leaves_e) == len(leaves_c)
    for a, b in zip(leaves_e, leaves_c, strict=True):
        torch.testing.assert_close(b, a, rtol=0, atol=0)
