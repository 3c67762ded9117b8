"""Every combinator passes keyword extras (e.g. ``loss=``) on to the transforms it wraps."""

from __future__ import annotations

import pytest
import torch

import optimtx as otx


def _spy(seen: list):
    def init(params):
        return otx.EmptyState()

    def update(updates, state, params=None, **extra):
        seen.append(extra)
        return dict(updates), state

    return otx.GradientTransformation(init, update)


WRAPPERS = {
    "accumulate": lambda tx: otx.accumulate(tx, 1),
    "scale_by_amp": lambda tx: otx.scale_by_amp(tx),
    "scale_by_amp_disabled": lambda tx: otx.scale_by_amp(tx, enabled=False),
    "apply_if_finite": otx.apply_if_finite,
    "masked": lambda tx: otx.masked(tx, {"w": True}),
    "multi_transform": lambda tx: otx.multi_transform({"a": tx}, {"w": "a"}),
    "inject_hyperparams": lambda tx: otx.inject_hyperparams(lambda factor: otx.chain(otx.scale(factor), tx))(
        factor=1.0
    ),
}


@pytest.mark.parametrize("name", list(WRAPPERS))
def test_extras_reach_the_inner_transform(name):
    seen: list = []
    tx = WRAPPERS[name](_spy(seen))
    params = {"w": torch.ones(2)}
    tx.update({"w": torch.ones(2)}, tx.init(params), params, loss=torch.tensor(3.0))
    assert seen and all(e.keys() == {"loss"} for e in seen)
