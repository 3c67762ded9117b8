"""What torch's schedulers, SWA utilities and optimizer hooks do to an optimizer works on TransformOptimizer
(issue 21, item 7), or is refused with nothing changed.

Every ``torch.optim.lr_scheduler`` class (and ``SWALR``) drives a ``TransformOptimizer`` exactly as it
drives ``torch.optim.SGD``; every kind of optimizer hook runs, and the state-dict hooks see the whole
state dict (the transform states included).
"""

from __future__ import annotations

import pytest
import torch
from torch.optim import lr_scheduler as sched
from torch.optim.swa_utils import SWALR

import optimtx as otx
from tests.reliability.facade_helpers import frozen, same

SCHEDULERS = {
    "LambdaLR": lambda o: sched.LambdaLR(o, lambda e: 0.9**e),
    "MultiplicativeLR": lambda o: sched.MultiplicativeLR(o, lambda e: 0.9),
    "StepLR": lambda o: sched.StepLR(o, 2, 0.5),
    "MultiStepLR": lambda o: sched.MultiStepLR(o, [1, 3], 0.5),
    "ConstantLR": lambda o: sched.ConstantLR(o, 0.5, 3),
    "LinearLR": lambda o: sched.LinearLR(o, 0.2, 1.0, 4),
    "ExponentialLR": lambda o: sched.ExponentialLR(o, 0.9),
    "SequentialLR": lambda o: sched.SequentialLR(o, [sched.ConstantLR(o, 0.5, 2), sched.ExponentialLR(o, 0.9)], [2]),
    "PolynomialLR": lambda o: sched.PolynomialLR(o, 5, 2.0),
    "CosineAnnealingLR": lambda o: sched.CosineAnnealingLR(o, 5),
    "ChainedScheduler": lambda o: sched.ChainedScheduler([sched.ConstantLR(o, 0.5, 2), sched.ExponentialLR(o, 0.9)]),
    "ReduceLROnPlateau": lambda o: sched.ReduceLROnPlateau(o, patience=0),
    "CyclicLR": lambda o: sched.CyclicLR(o, 0.01, 0.1, step_size_up=2),
    "CosineAnnealingWarmRestarts": lambda o: sched.CosineAnnealingWarmRestarts(o, 2),
    "OneCycleLR": lambda o: sched.OneCycleLR(o, 0.5, total_steps=10),
    "SWALR": lambda o: SWALR(o, swa_lr=0.05, anneal_epochs=2),
}


def _optimizer(kind: str):
    torch.manual_seed(0)
    w = torch.nn.Parameter(torch.randn(3))
    if kind == "torch":
        return w, torch.optim.SGD([w], lr=0.1, momentum=0.9)
    return w, otx.TransformOptimizer([w], dict(type="sgd", lr=0.1, momentum=0.9))


def _run(kind: str, name: str):
    w, opt = _optimizer(kind)
    scheduler = SCHEDULERS[name](opt)
    lrs = []
    for i in range(6):
        w.grad = torch.full((3,), float(i + 1))
        opt.step()
        if name == "ReduceLROnPlateau":
            scheduler.step(1.0)
        else:
            scheduler.step()
        lrs.append(opt.param_groups[0]["lr"])
    return w.detach(), lrs


def test_every_torch_scheduler_is_in_the_table():
    names = {n for n, c in vars(sched).items() if isinstance(c, type) and n.endswith(("LR", "Scheduler", "Restarts"))}
    assert names - {"LRScheduler", "_LRScheduler"} <= set(SCHEDULERS)


@pytest.mark.parametrize("name", sorted(SCHEDULERS))
def test_torch_schedulers_drive_a_transform_optimizer_as_they_drive_torch(name):
    (ours, our_lrs), (theirs, their_lrs) = _run("ours", name), _run("torch", name)
    assert our_lrs == pytest.approx(their_lrs, rel=1e-12)
    torch.testing.assert_close(ours, theirs)


def _hooked(kind: str, log: list[str]):
    w, opt = _optimizer(kind)
    opt.register_step_pre_hook(lambda o, args, kwargs: log.append("step_pre"))
    opt.register_step_post_hook(lambda o, args, kwargs: log.append("step_post"))
    opt.register_state_dict_pre_hook(lambda o: log.append("sd_pre"))
    opt.register_state_dict_post_hook(lambda o, sd: log.append(f"sd_post:{sorted(sd)}"))
    opt.register_load_state_dict_pre_hook(lambda o, sd: log.append(f"load_pre:{sorted(sd)}"))
    opt.register_load_state_dict_post_hook(lambda o: log.append("load_post"))
    return w, opt


@pytest.mark.parametrize("kind", ["torch", "ours"])
def test_every_optimizer_hook_runs_in_torchs_order(kind):
    log: list[str] = []
    w, opt = _hooked(kind, log)
    w.grad = torch.ones(3)
    opt.step()
    opt.load_state_dict(opt.state_dict())
    keys = sorted(opt.state_dict())
    assert log[:2] == ["step_pre", "step_post"]
    assert log[2:6] == ["sd_pre", f"sd_post:{keys}", f"load_pre:{keys}", "load_post"]


def test_state_dict_hooks_see_and_may_change_the_transform_state():
    w, opt = _optimizer("ours")
    w.grad = torch.ones(3)
    opt.step()
    opt.register_state_dict_post_hook(lambda o, sd: {**sd, "format": 2})

    def upgrade(o, sd):
        assert sd.pop("format") == 2 and "transform_state" in sd
        return sd

    opt.register_load_state_dict_pre_hook(upgrade)
    sd = opt.state_dict()
    assert sd["format"] == 2 and "transform_state" in sd
    opt.load_state_dict(sd)


def test_a_step_pre_hook_that_changes_the_lr_counts():
    results = []
    for kind in ("torch", "ours"):
        w, opt = _optimizer(kind)
        opt.register_step_pre_hook(lambda o, args, kwargs: o.param_groups[0].__setitem__("lr", 1.0))
        w.grad = torch.ones(3)
        opt.step()
        results.append(w.detach())
    torch.testing.assert_close(*results)


def test_torchs_swap_in_helper_is_refused_with_nothing_changed():
    """TransformOptimizer keeps its state per group, not in ``optimizer.state``: torch's helper refuses it."""
    from torch.optim._stateless import swap_in_optimizer_params_and_state

    w, opt = _optimizer("ours")
    w.grad = torch.ones(3)
    opt.step()
    before = frozen((w, opt.state_dict()))
    with pytest.raises(RuntimeError), swap_in_optimizer_params_and_state(opt, {"w": w.detach()}, opt.state_dict()):
        opt.step()
    assert same(frozen((w, opt.state_dict())), before)
