"""optimtx with a real Accelerator: prepare, accumulate, clip_grad_norm_, and skips the scheduler can see."""

from __future__ import annotations

import pytest
import torch

accelerate = pytest.importorskip("accelerate")

import optimtx as otx  # noqa: E402
from optimtx.integrations.accelerate import OptimtxAcceleratedOptimizer, prepare  # noqa: E402
from tests.integrations_real.common import loader, net, state_equal  # noqa: E402

LR = 0.05


@pytest.fixture(autouse=True)
def _fresh_accelerate_state():
    """Accelerate keeps process-wide singletons; each test starts from a clean one."""
    from accelerate.state import AcceleratorState, GradientState

    AcceleratorState._reset_state(True)
    GradientState._reset_state()
    yield
    AcceleratorState._reset_state(True)
    GradientState._reset_state()


def _mse(model, batch):
    x, y = batch
    return torch.nn.functional.mse_loss(model(x), y)


def _manual(accumulate, clip):
    model = net()
    opt = otx.TransformOptimizer(model.parameters(), dict(type="adamw", lr=LR))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: 1 / (1 + step))
    for i, batch in enumerate(loader()):
        (_mse(model, batch) / accumulate).backward()
        if (i + 1) % accumulate == 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
            opt.step()
            sched.step()
            opt.zero_grad()
    return model, opt


def test_prepared_transform_optimizer_with_accumulate_and_clip_equals_the_plain_loop():
    accelerator = accelerate.Accelerator(cpu=True, gradient_accumulation_steps=2)
    model = net()
    opt = otx.TransformOptimizer(model.parameters(), dict(type="adamw", lr=LR))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: 1 / (1 + step))
    model, opt, sched, data = prepare(accelerator, model, opt, sched, loader())
    assert isinstance(opt, OptimtxAcceleratedOptimizer)
    for batch in data:
        with accelerator.accumulate(model):
            accelerator.backward(_mse(model, batch))
            if accelerator.sync_gradients:
                accelerator.clip_grad_norm_(model.parameters(), 0.05)
            opt.step()
            sched.step()
            opt.zero_grad()
    want, want_opt = _manual(accumulate=2, clip=0.05)
    assert state_equal(model, want)
    assert opt.param_groups[0]["lr"] == want_opt.param_groups[0]["lr"] == pytest.approx(LR / (1 + 4))


def _inf_step(accelerator, model, opt, sched):
    batch = next(iter(loader()))
    accelerator.backward(_mse(model, batch))
    next(model.parameters()).grad[0, 0] = float("inf")
    opt.step()
    sched.step()
    opt.zero_grad()


def test_a_step_the_chain_skips_is_invisible_to_plain_prepare_and_visible_to_ours():
    def setup():
        model = net()
        opt = otx.TransformOptimizer(model.parameters(), otx.apply_if_finite(otx.inject_hyperparams(otx.sgd)(lr=LR)))
        return model, opt, torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)

    accelerator = accelerate.Accelerator(cpu=True)
    model, opt, sched = accelerator.prepare(*setup())
    before = [p.detach().clone() for p in model.parameters()]
    _inf_step(accelerator, model, opt, sched)
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))  # the chain skipped
    assert not accelerator.optimizer_step_was_skipped and opt.param_groups[0]["lr"] == LR / 2  # lr moved anyway

    accelerator = accelerate.Accelerator(cpu=True)
    model, opt, sched = prepare(accelerator, *setup())
    _inf_step(accelerator, model, opt, sched)
    assert opt.step_was_skipped and accelerator.optimizer_step_was_skipped
    assert opt.param_groups[0]["lr"] == LR  # the scheduler saw the skip
    accelerator.backward(_mse(model, next(iter(loader()))))
    opt.step()
    sched.step()
    assert not opt.step_was_skipped and opt.param_groups[0]["lr"] == LR / 2


def test_an_optim_wrapper_is_prepared_in_place_and_trains_like_its_optimizer():
    accelerator = accelerate.Accelerator(cpu=True)
    model = net()
    wrapper = otx.OptimWrapper(otx.TransformOptimizer(model.parameters(), dict(type="adamw", lr=LR)))
    model, prepared = prepare(accelerator, model, wrapper)
    assert prepared is wrapper and isinstance(wrapper.optimizer, OptimtxAcceleratedOptimizer)
    for batch in loader():
        wrapper.update_params(_mse(model, batch))
    reference = net()
    opt = otx.TransformOptimizer(reference.parameters(), dict(type="adamw", lr=LR))
    for batch in loader():
        _mse(reference, batch).backward()
        opt.step()
        opt.zero_grad()
    assert state_equal(model, reference)
