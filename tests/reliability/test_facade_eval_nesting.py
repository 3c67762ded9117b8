"""Nested ``eval_params`` blocks are correct, and a step inside one is refused (issue 21, item 2).

Schedule-free's evaluation point ``x`` is computed from the training point ``y``; a nested
block used to compute it from parameters that already held ``x``. Every kind of evaluation
weights (schedule-free SGD/AdamW, EMA, lookahead) is nested through every way of reaching the
optimizer (the ``TransformOptimizer``, an ``OptimWrapper``, an ``OptimWrapperDict``).
"""

from __future__ import annotations

import pytest
import torch

import optimtx as otx
from tests.reliability.facade_helpers import frozen, same

TRANSFORMS = {
    "schedule_free_sgd": dict(type="schedule_free_sgd", lr=0.5, momentum=0.5),
    "schedule_free_adamw": dict(type="schedule_free_adamw", lr=0.1),
    "ema_params": dict(type="chain", transforms=[dict(type="sgd", lr=0.5), dict(type="ema_params", decay=0.5)]),
    "lookahead": dict(type="lookahead", inner=dict(type="sgd", lr=0.5), sync_period=3, slow_step_size=0.5),
}
REACH = {
    "optimizer": lambda opt: opt,
    "wrapper": lambda opt: otx.OptimWrapper(opt),
    "wrapper_dict": lambda opt: otx.OptimWrapperDict(net=otx.OptimWrapper(opt)),
}


def _trained(kind: str):
    torch.manual_seed(0)
    ws = [torch.nn.Parameter(torch.randn(3)), torch.nn.Parameter(torch.randn(2, 2))]
    opt = otx.TransformOptimizer(ws, TRANSFORMS[kind])
    for step in range(4):
        for w in ws:
            w.grad = torch.full_like(w, 1.0 + step)
        opt.step()
    return ws, opt


def _values(ws):
    return [w.detach().clone() for w in ws]


@pytest.mark.parametrize("reach", sorted(REACH))
@pytest.mark.parametrize("kind", sorted(TRANSFORMS))
def test_a_nested_block_sees_what_the_outer_block_sees(kind, reach):
    ws, opt = _trained(kind)
    outer_target, inner_target = opt, REACH[reach](opt)
    training = _values(ws)
    with otx.eval_params(outer_target):
        evaluation = _values(ws)
        assert not all(torch.equal(a, b) for a, b in zip(evaluation, training, strict=True))
        with otx.eval_params(inner_target):
            assert same(_values(ws), evaluation)
            with otx.eval_params(outer_target):
                assert same(_values(ws), evaluation)
        assert same(_values(ws), evaluation)
    assert same(_values(ws), training)


@pytest.mark.parametrize("kind", sorted(TRANSFORMS))
def test_an_error_in_a_nested_block_restores_each_level(kind):
    ws, opt = _trained(kind)
    training = _values(ws)
    with otx.eval_params(opt):
        evaluation = _values(ws)
        with pytest.raises(KeyError), otx.eval_params(opt):
            raise KeyError("inside")
        assert same(_values(ws), evaluation)
    assert same(_values(ws), training)
    with otx.eval_params(opt):  # nothing left behind: a fresh block computes from the training point again
        assert same(_values(ws), evaluation)


@pytest.mark.parametrize("reach", sorted(REACH))
@pytest.mark.parametrize("kind", sorted(TRANSFORMS))
def test_a_step_inside_a_block_is_refused_and_changes_nothing(kind, reach):
    ws, opt = _trained(kind)
    target = REACH[reach](opt)
    for w in ws:
        w.grad = torch.ones_like(w)
    before = frozen((ws, opt.state_dict()))
    with otx.eval_params(target):
        inside = frozen((ws, opt.state_dict()))
        with pytest.raises(RuntimeError, match="inside an eval_params"):
            opt.step()
        assert same(frozen((ws, opt.state_dict())), inside)
    assert same(frozen((ws, opt.state_dict())), before)
    opt.step()  # after the block, training goes on
