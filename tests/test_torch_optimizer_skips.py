"""TransformOptimizer with a torch scheduler around a skipping combinator (apply_if_finite, skip_if_spike)."""

from __future__ import annotations

import pytest
import torch

import optimtx as otx

RULES = {
    "apply_if_finite": dict(type="apply_if_finite", inner=dict(type="adamw", lr=0.04)),
    "skip_if_spike": dict(type="skip_if_spike", inner=dict(type="adamw", lr=0.04), threshold=5.0, window=4),
}


@pytest.mark.parametrize("name", sorted(RULES))
def test_a_scheduler_drives_lr_through_a_skipping_combinator(name):
    model = torch.nn.Linear(3, 1)
    opt = otx.TransformOptimizer(model.parameters(), RULES[name])
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    used = []
    for _ in range(3):
        model(torch.ones(2, 3)).sum().backward()
        opt.step()
        used.append(float(otx.get_hyperparams(opt.transform_states[0])["lr"]))
        sched.step()
        opt.zero_grad()
    assert used == pytest.approx([0.04, 0.02, 0.01])
    assert opt.param_groups[0]["lr"] == pytest.approx(0.005)


def test_a_schedule_inside_the_transform_still_clashes_with_a_scheduler():
    model = torch.nn.Linear(3, 1)
    rule = otx.apply_if_finite(otx.inject_hyperparams(otx.sgd)(lr=lambda count: 0.1 * (count + 1)))
    opt = otx.TransformOptimizer(model.parameters(), rule)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    model(torch.ones(2, 3)).sum().backward()
    opt.step()
    sched.step()
    with pytest.raises(ValueError, match=r"sets \['lr'\], but the transform computes them with a schedule"):
        opt.step()
