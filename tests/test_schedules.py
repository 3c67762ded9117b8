"""Schedules: closed forms, parity with torch.optim.lr_scheduler, int/tensor agreement, errors."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from optimtx import schedules as S

ALL = [
    S.constant(0.3),
    S.linear(1.0, 0.1, 5, transition_begin=2),
    S.cosine_decay(1.0, 7, alpha=0.1),
    S.warmup_cosine_decay(0.0, 1.0, 3, 10, end_value=0.05),
    S.multistep(1.0, {2: 0.5, 5: 0.1}),
    S.exponential_decay(1.0, 2, 0.5, transition_begin=1, staircase=True, end_value=0.1),
    S.polynomial(1.0, 0.0, 2.0, 6),
    S.join([S.constant(0.1), S.linear(1.0, 0.0, 4)], [3]),
]


def _torch_lrs(make_scheduler, steps):
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    sched = make_scheduler(opt)
    out = []
    for _ in range(steps):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return out


@pytest.mark.parametrize("schedule", ALL, ids=range(len(ALL)))
@settings(max_examples=15)
@given(step=st.integers(0, 30))
def test_int_and_tensor_steps_agree(schedule, step):
    as_int = schedule(step)
    as_tensor = schedule(torch.tensor(step))
    assert isinstance(as_int, float)
    assert as_tensor.shape == () and as_tensor.dtype == torch.get_default_dtype()
    assert as_tensor.item() == pytest.approx(as_int, rel=1e-6, abs=1e-7)


def test_multistep_matches_torch():
    ref = _torch_lrs(lambda o: torch.optim.lr_scheduler.MultiStepLR(o, [2, 5, 5], gamma=0.3), 8)
    ours = [S.multistep(1.0, milestones=[2, 5, 5], gamma=0.3)(t) for t in range(8)]
    assert ours == pytest.approx(ref)


def test_cosine_decay_matches_cosine_annealing():
    ref = _torch_lrs(lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=8, eta_min=0.2), 9)
    ours = [S.cosine_decay(1.0, 8, alpha=0.2)(t) for t in range(9)]
    assert ours == pytest.approx(ref)


def test_exponential_decay_matches_exponential_lr():
    ref = _torch_lrs(lambda o: torch.optim.lr_scheduler.ExponentialLR(o, gamma=0.7), 6)
    assert [S.exponential_decay(1.0, 1, 0.7)(t) for t in range(6)] == pytest.approx(ref)


def test_polynomial_matches_polynomial_lr():
    ref = _torch_lrs(lambda o: torch.optim.lr_scheduler.PolynomialLR(o, total_iters=5, power=2.0), 8)
    assert [S.polynomial(1.0, 0.0, 2.0, 5)(t) for t in range(8)] == pytest.approx(ref)


def test_warmup_cosine_endpoints_and_join_restart():
    s = S.warmup_cosine_decay(0.1, 1.0, warmup_steps=4, decay_steps=10, end_value=0.01)
    assert [s(0), s(2), s(4), s(10), s(50)] == pytest.approx([0.1, 0.55, 1.0, 0.01, 0.01])
    assert S.warmup_cosine_decay(0.0, 1.0, 0, 4)(0) == 1.0
    j = S.join([S.constant(1.0), S.linear(0.0, 1.0, 2), S.constant(5.0)], [2, 4])
    assert [j(t) for t in range(6)] == [1.0, 1.0, 0.0, 0.5, 5.0, 5.0]


def test_exponential_end_value_bounds_growth_too():
    assert S.exponential_decay(1.0, 1, 2.0, end_value=3.0)(5) == 3.0


def test_compiles_without_graph_breaks():
    sched = S.join([S.linear(0.0, 1.0, 3), S.warmup_cosine_decay(0.0, 1.0, 2, 8)], [3])
    compiled = torch.compile(sched, fullgraph=True, backend="eager")
    for t in range(12):
        assert compiled(torch.tensor(t)).item() == pytest.approx(sched(t), rel=1e-6, abs=1e-7)


@pytest.mark.parametrize(
    "make,match",
    [
        (lambda: S.constant("x"), "value"),
        (lambda: S.linear(1.0, 0.0, 0), "transition_steps"),
        (lambda: S.cosine_decay(1.0, -1), "decay_steps"),
        (lambda: S.warmup_cosine_decay(0.0, 1.0, 5, 5), "decay_steps"),
        (lambda: S.multistep(1.0), "either"),
        (lambda: S.multistep(1.0, {1: 0.5}, milestones=[1]), "both"),
        (lambda: S.multistep(1.0, milestones=[-1]), "milestones"),
        (lambda: S.exponential_decay(1.0, 1, 0.0), "decay_rate"),
        (lambda: S.polynomial(1.0, 0.0, math.nan, 3), "power"),
        (lambda: S.join([S.constant(1.0)], [1]), "one boundary fewer"),
        (lambda: S.join([S.constant(1.0)] * 3, [4, 2]), "non-decreasing"),
    ],
)
def test_invalid_arguments(make, match):
    with pytest.raises((TypeError, ValueError), match=match):
        make()


def test_invalid_steps():
    with pytest.raises(TypeError, match="step"):
        S.constant(1.0)(1.5)
    with pytest.raises(ValueError, match="0-d"):
        S.constant(1.0)(torch.ones(2))
