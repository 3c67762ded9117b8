"""One rule for every kind of skipped step (issue 21, item 5): schedules follow applied updates.

A step skipped for a loss-scale overflow or for a gradient-norm spike does not advance an
iteration-based scheduler (unless ``count_skipped_steps=True``), on ``OptimWrapper`` and
``AmpOptimWrapper``, with float and tensor learning rates; on the pure path, a schedule inside
``apply_if_finite``, ``scale_by_amp`` or ``skip_if_spike`` does not advance on a skipped update.
"""

from __future__ import annotations

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import optimtx as otx

SPIKES = dict(max_norm=1e9, skip_spikes=dict(threshold=3.0, window=2))
KINDS = ("overflow", "spike")


def _wrapper(kind: str, tensor_lr: bool):
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 1)
    lr = torch.tensor(0.1) if tensor_lr else 0.1
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    if kind == "overflow":
        return model, otx.AmpOptimWrapper(optimizer=opt, loss_scale=dict(init_scale=4.0, growth_interval=1000))
    return model, otx.OptimWrapper(opt, clip_grad=SPIKES)


def _step(model, wrapper, kind: str, skip: bool) -> None:
    x = torch.ones(2, 3)
    if kind == "spike" and skip:
        x = x * 1e4  # a gradient norm far above the window's median
    loss = model(x).sum()
    wrapper.update_params(loss * float("inf") if kind == "overflow" and skip else loss)


def _lr(wrapper) -> float:
    return float(wrapper.optimizer.param_groups[0]["lr"])


@given(
    kind=st.sampled_from(KINDS),
    tensor_lr=st.booleans(),
    skips=st.lists(st.booleans(), min_size=1, max_size=8).map(lambda s: [False, False, *s]),
)
def test_a_skipped_step_of_any_kind_does_not_advance_an_iteration_scheduler(kind, tensor_lr, skips):
    model, wrapper = _wrapper(kind, tensor_lr)
    sched = otx.StepLR(wrapper, step_size=1, gamma=0.5, by_epoch=False)
    applied = 0
    for skip in skips:
        _step(model, wrapper, kind, skip)
        assert bool(wrapper.last_step.applied) is not skip
        sched.step()
        applied += not skip
        assert _lr(wrapper) == pytest.approx(0.1 * 0.5**applied, rel=1e-6)


@pytest.mark.parametrize("kind", KINDS)
def test_count_skipped_steps_counts_every_kind_of_skip(kind):
    model, wrapper = _wrapper(kind, tensor_lr=False)
    sched = otx.StepLR(wrapper, step_size=1, gamma=0.5, by_epoch=False, count_skipped_steps=True)
    for i, skip in enumerate([False, False, True, False], start=1):
        _step(model, wrapper, kind, skip)
        sched.step()
        assert _lr(wrapper) == pytest.approx(0.1 * 0.5**i)


def _skipping(kind: str, inner: otx.GradientTransformation) -> otx.GradientTransformation:
    if kind == "apply_if_finite":
        return otx.apply_if_finite(inner)
    if kind == "scale_by_amp":
        return otx.scale_by_amp(inner, init_scale=1.0)
    return otx.skip_if_spike(inner, threshold=3.0, window=2)


@pytest.mark.parametrize("kind", ["apply_if_finite", "scale_by_amp", "skip_if_spike"])
def test_pure_schedules_follow_applied_updates_for_every_kind_of_skip(kind):
    inner = otx.inject_hyperparams(otx.sgd)(lr=lambda count: 0.5**count)
    tx = _skipping(kind, inner)
    params = {"w": torch.zeros(2)}
    state = tx.init(params)
    bad = torch.tensor([float("inf"), 1.0]) if kind != "skip_if_spike" else torch.full((2,), 1e4)
    for grads in [torch.ones(2), torch.ones(2), bad, torch.ones(2)]:
        _, state = tx.update({"w": grads}, state, params)
    hp = otx.get_hyperparams(state)
    assert float(hp["lr"]) == 0.5**2  # three applied updates: the third used count 2
