"""Schedulers on an AmpOptimWrapper count applied steps only (issue 15, part 2).

A step that dynamic loss scaling skips (inf/NaN gradients) does not advance an
iteration-based scheduler, unless ``count_skipped_steps=True`` (MMEngine's behaviour).
Overflows are forced by multiplying the loss by ``inf`` on chosen steps.
"""

from __future__ import annotations

import copy
import warnings

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import optimtx as otx
from optimtx.param_scheduler import counting

SCHEDULERS = {
    "step": lambda opt, **kw: otx.StepLR(opt, step_size=2, gamma=0.5, by_epoch=False, **kw),
    "cosine": lambda opt, **kw: otx.CosineAnnealingLR(opt, T_max=6, eta_min=0.01, by_epoch=False, **kw),
    "warmup": lambda opt, **kw: otx.LinearLR(opt, start_factor=0.2, end=5, by_epoch=False, **kw),
    "one_cycle": lambda opt, **kw: otx.OneCycleLR(opt, eta_max=0.5, total_steps=20, by_epoch=False, **kw),
}


def _amp(seed=0, **kwargs):
    torch.manual_seed(seed)
    model = torch.nn.Linear(3, 1)
    wrapper = otx.AmpOptimWrapper(
        optimizer=torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9),
        loss_scale=dict(init_scale=4.0, growth_interval=1000),
        **kwargs,
    )
    return model, wrapper


def _train_step(model, wrapper, overflow: bool):
    loss = model(torch.ones(2, 3)).sum()
    wrapper.update_params(loss * float("inf") if overflow else loss)


def _reference_lrs(kind: str, n: int) -> list[float]:
    """The schedule on a plain optimizer that never skips: lr after 0, 1, ..., n steps."""
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    sched = SCHEDULERS[kind](opt)
    lrs = [opt.param_groups[0]["lr"]]
    for _ in range(n):
        opt.step()
        sched.step()
        lrs.append(opt.param_groups[0]["lr"])
    return lrs


@given(kind=st.sampled_from(sorted(SCHEDULERS)), skips=st.lists(st.booleans(), min_size=1, max_size=10))
def test_skipped_steps_do_not_advance_the_schedule(kind, skips):
    model, wrapper = _amp()
    sched = SCHEDULERS[kind](wrapper)
    reference = _reference_lrs(kind, len(skips))
    applied = 0
    for overflow in skips:
        _train_step(model, wrapper, overflow)
        assert wrapper.step_was_skipped == overflow
        sched.step()
        applied += not overflow
        assert wrapper.get_lr()["lr"][0] == pytest.approx(reference[applied], rel=1e-12)
        assert sched._global_step == applied  # steps counted (last_step stops at the end of the window)


@given(kind=st.sampled_from(sorted(SCHEDULERS)), skips=st.lists(st.booleans(), min_size=1, max_size=10))
def test_count_skipped_steps_true_is_mmengines_behaviour(kind, skips):
    model, wrapper = _amp()
    sched = SCHEDULERS[kind](wrapper, count_skipped_steps=True)
    reference = _reference_lrs(kind, len(skips))
    for i, overflow in enumerate(skips, start=1):
        _train_step(model, wrapper, overflow)
        sched.step()
        assert wrapper.get_lr()["lr"][0] == pytest.approx(reference[i], rel=1e-12)


def test_epoch_based_schedulers_count_every_call():
    model, wrapper = _amp()
    sched = otx.StepLR(wrapper, step_size=1, gamma=0.5)  # by_epoch=True
    _train_step(model, wrapper, overflow=True)
    sched.step()
    assert wrapper.get_lr()["lr"][0] == pytest.approx(0.05)


def test_one_host_read_per_optimizer_step_shared_by_all_schedulers(monkeypatch):
    model, wrapper = _amp()
    reads = []
    original = counting.read_flag
    monkeypatch.setattr(counting, "read_flag", lambda flag: reads.append(1) or original(flag))
    schedulers = [kind(wrapper) for kind in SCHEDULERS.values()]
    for overflow in [False, True, False, False]:
        _train_step(model, wrapper, overflow)
        for sched in schedulers:
            sched.step()
    assert len(reads) == 4


def test_accumulation_micro_batches_without_an_optimizer_step_still_count():
    """MMEngine steps iteration schedulers once per micro-batch; only the call after a skipped update is dropped."""
    model, wrapper = _amp(accumulative_counts=2)
    sched = otx.StepLR(wrapper, step_size=1, gamma=0.5, by_epoch=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the first scheduler step precedes the first update, as in MMEngine
        for overflow in [False, False, True, True, False, False]:
            _train_step(model, wrapper, overflow)
            sched.step()
    # 6 micro-batches, 3 updates, the second skipped: 5 counted scheduler steps
    assert sched.last_step == 5
    assert wrapper.get_lr()["lr"][0] == pytest.approx(0.1 * 0.5**5)


def test_resume_after_skipped_steps_is_exact():
    skips = [False, True, False, True, True, False, False, False]
    model, wrapper = _amp()
    sched = otx.CosineAnnealingLR(wrapper, T_max=5, by_epoch=False)
    full = []
    for i, overflow in enumerate(skips):
        _train_step(model, wrapper, overflow)
        sched.step()
        full.append((wrapper.get_lr()["lr"][0], model.weight.detach().clone()))
        if i == 3:
            saved = (
                {k: v.clone() for k, v in model.state_dict().items()},
                copy.deepcopy(wrapper.state_dict()),  # torch hands out its live momentum buffers
                sched.state_dict(),
            )
    # the Runner's order: build everything afresh, then load the checkpoint into it
    model2, wrapper2 = _amp(seed=1)
    sched2 = otx.CosineAnnealingLR(wrapper2, T_max=5, by_epoch=False)
    model2.load_state_dict(saved[0])
    wrapper2.load_state_dict(saved[1])
    sched2.load_state_dict(saved[2])
    for i, overflow in enumerate(skips[4:], start=4):
        _train_step(model2, wrapper2, overflow)
        sched2.step()
        assert wrapper2.get_lr()["lr"][0] == full[i][0]
        assert torch.equal(model2.weight, full[i][1])


def test_wrapper_dict_schedules_each_wrapper_by_its_own_skips():
    torch.manual_seed(0)
    g, d = torch.nn.Linear(3, 1), torch.nn.Linear(3, 1)
    wrappers = otx.OptimWrapperDict(
        generator=otx.AmpOptimWrapper(optimizer=torch.optim.SGD(g.parameters(), lr=0.1)),
        discriminator=otx.AmpOptimWrapper(optimizer=torch.optim.SGD(d.parameters(), lr=0.1)),
    )
    built = otx.build_param_schedulers(wrappers, [dict(type="StepLR", step_size=1, gamma=0.5, by_epoch=False)])
    for _ in range(3):
        _train_step(g, wrappers["generator"], overflow=True)
        _train_step(d, wrappers["discriminator"], overflow=False)
        for scheds in built.values():
            for sched in scheds:
                sched.step()
    assert wrappers.get_lr() == {"generator.lr": [0.1], "discriminator.lr": [pytest.approx(0.1 * 0.5**3)]}


def _amp_tensor_lr():
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 1)
    wrapper = otx.AmpOptimWrapper(
        optimizer=torch.optim.SGD(model.parameters(), lr=torch.tensor(0.1), momentum=0.9),
        loss_scale=dict(init_scale=4.0, growth_interval=1000),
    )
    return model, wrapper


@given(kind=st.sampled_from(sorted(SCHEDULERS)), skips=st.lists(st.booleans(), min_size=1, max_size=10))
def test_tensor_lrs_hold_on_the_device_without_asking_the_host(kind, skips):
    """With tensor lrs the skip is applied with torch.where; the wrapper's host read is never used."""
    model, wrapper = _amp_tensor_lr()

    def no_host_read():
        raise AssertionError("step_was_skipped must not be read for tensor lrs")

    wrapper.loss_scaler.step_was_skipped = no_host_read
    sched = SCHEDULERS[kind](wrapper)
    reference = _reference_lrs(kind, len(skips))
    applied = 0
    for overflow in skips:
        _train_step(model, wrapper, overflow)
        sched.step()
        applied += not overflow
        lr = wrapper.optimizer.param_groups[0]["lr"]
        assert isinstance(lr, torch.Tensor)
        assert lr.item() == pytest.approx(reference[applied], rel=1e-6)
    assert sched.state_dict()["_global_step"] == applied  # state_dict settles the last pending flag


def test_tensor_lr_counters_settle_at_the_next_step():
    model, wrapper = _amp_tensor_lr()
    sched = otx.StepLR(wrapper, step_size=1, gamma=0.5, by_epoch=False)
    _train_step(model, wrapper, overflow=True)
    sched.step()
    assert "_pending_skip" in vars(sched) and sched._global_step == 1  # counted tentatively...
    assert wrapper.optimizer.param_groups[0]["lr"].item() == pytest.approx(0.1)  # ...but the value held
    _train_step(model, wrapper, overflow=False)
    sched.step()
    assert sched._global_step == 1 and sched.last_step == 1  # the skipped step was taken back
    assert wrapper.optimizer.param_groups[0]["lr"].item() == pytest.approx(0.05)


def test_tensor_lr_scheduler_copies_and_resumes_exactly():
    model, wrapper = _amp_tensor_lr()
    sched = otx.CosineAnnealingLR(wrapper, T_max=6, by_epoch=False)
    for overflow in [False, True]:
        _train_step(model, wrapper, overflow)
        sched.step()
    model2, wrapper2, sched2 = copy.deepcopy((model, wrapper, sched))  # a pending flag is settled first
    for overflow in [False, True, False]:
        for m, w, s in ((model, wrapper, sched), (model2, wrapper2, sched2)):
            _train_step(m, w, overflow)
            s.step()
        assert torch.equal(wrapper.optimizer.param_groups[0]["lr"], wrapper2.optimizer.param_groups[0]["lr"])
    assert sched.state_dict() == sched2.state_dict()
