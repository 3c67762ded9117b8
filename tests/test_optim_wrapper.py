"""OptimWrapper: parity with hand-written torch loops and with MMEngine, counters, states, errors."""

from __future__ import annotations

import copy
import logging
from unittest.mock import MagicMock

import pytest
import torch
from torch import nn

import optimtx as otx
from optimtx.optim import OptimWrapper

_GEN = torch.Generator().manual_seed(0)
DATA = [(torch.randn(4, 3, generator=_GEN), torch.randn(4, 2, generator=_GEN)) for _ in range(10)]


def make_model(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))


def loss_of(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return nn.functional.mse_loss(model(x), y)


def params_of(model: nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in model.parameters()]


def assert_same(a: list[torch.Tensor], b: list[torch.Tensor]) -> None:
    for x, y in zip(a, b, strict=True):
        torch.testing.assert_close(x, y, rtol=0, atol=0)


# ----------------------------------------------------------------- numerics
def test_plain_training_matches_torch_loop():
    ref, ours = make_model(), make_model()
    ref_opt = torch.optim.SGD(ref.parameters(), lr=0.1, momentum=0.9)
    wrapper = OptimWrapper(torch.optim.SGD(ours.parameters(), lr=0.1, momentum=0.9))
    for x, y in DATA:
        loss_of(ref, x, y).backward()
        ref_opt.step()
        ref_opt.zero_grad()
        wrapper.update_params(loss_of(ours, x, y))
    assert_same(params_of(ref), params_of(ours))


@pytest.mark.parametrize(
    "clip", [dict(max_norm=0.05), dict(max_norm=0.05, norm_type="inf"), dict(type="value", clip_value=0.01)]
)
def test_accumulation_and_clipping_match_torch_loop(clip):
    ref, ours = make_model(), make_model()
    ref_opt = torch.optim.Adam(ref.parameters(), lr=0.01)
    wrapper = OptimWrapper(torch.optim.Adam(ours.parameters(), lr=0.01), accumulative_counts=3, clip_grad=clip)
    wrapper.initialize_count_status(ours, 0, len(DATA))
    windows = [3, 3, 3, 1]
    i = 0
    for size in windows:
        for x, y in DATA[i : i + size]:
            (loss_of(ref, x, y) / size).backward()
        if clip.get("type") == "value":
            torch.nn.utils.clip_grad_value_(ref.parameters(), clip["clip_value"])
        else:
            torch.nn.utils.clip_grad_norm_(ref.parameters(), clip["max_norm"], clip.get("norm_type", 2.0))
        ref_opt.step()
        ref_opt.zero_grad()
        i += size
    for x, y in DATA:
        wrapper.update_params(loss_of(ours, x, y))
    for a, b in zip(params_of(ref), params_of(ours), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-7)


def test_in_place_clipping_is_identical_to_the_pure_transform():
    model = make_model()
    loss_of(model, *DATA[0]).backward()
    grads = {n: p.grad.clone() for n, p in model.named_parameters()}
    tx = otx.clip_by_global_norm(0.01)
    pure, state = tx.update(grads, tx.init(grads))
    wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.0), clip_grad=dict(max_norm=0.01))
    assert wrapper.last_grad_norm is None
    wrapper.step()
    for name, p in model.named_parameters():
        assert torch.equal(p.grad, pure[name])
    assert torch.equal(wrapper.last_grad_norm, state.norm)
    assert isinstance(wrapper.last_grad_norm, torch.Tensor)


def test_clipping_skips_frozen_and_gradless_params():
    a, b, c = (nn.Parameter(torch.tensor([3.0, 4.0])) for _ in range(3))
    b.requires_grad_(False)
    a.grad = torch.tensor([3.0, 4.0])
    b.grad = torch.tensor([100.0, 100.0])
    wrapper = OptimWrapper(torch.optim.SGD([a, b, c], lr=0.0), clip_grad=dict(max_norm=1.0))
    wrapper.step()
    assert torch.equal(wrapper.last_grad_norm, torch.tensor(5.0))
    assert torch.equal(b.grad, torch.tensor([100.0, 100.0]))
    assert c.grad is None


def test_no_grads_means_no_clip_and_no_norm():
    p = nn.Parameter(torch.ones(2))
    wrapper = OptimWrapper(torch.optim.SGD([p], lr=0.1), clip_grad=dict(max_norm=1.0))
    wrapper.step()
    assert wrapper.last_grad_norm is None


def test_error_if_nonfinite_raises_runtime_error():
    p = nn.Parameter(torch.ones(2))
    p.grad = torch.tensor([float("inf"), 1.0])
    wrapper = OptimWrapper(torch.optim.SGD([p], lr=0.1), clip_grad=dict(max_norm=1.0, error_if_nonfinite=True))
    with pytest.raises(RuntimeError, match="non-finite"):
        wrapper.step()


def test_matches_mmengine_side_by_side():
    mm_optim = pytest.importorskip("mmengine.optim")
    ref, ours = make_model(), make_model()
    theirs = mm_optim.OptimWrapper(
        torch.optim.SGD(ref.parameters(), lr=0.1, momentum=0.9), accumulative_counts=3, clip_grad=dict(max_norm=0.05)
    )
    mine = OptimWrapper(
        torch.optim.SGD(ours.parameters(), lr=0.1, momentum=0.9), accumulative_counts=3, clip_grad=dict(max_norm=0.05)
    )
    theirs.initialize_count_status(ref, 0, 10)
    mine.initialize_count_status(ours, 0, 10)
    for x, y in DATA:
        assert mine.should_sync() == theirs.should_sync()
        theirs.update_params(loss_of(ref, x, y))
        mine.update_params(loss_of(ours, x, y))
        assert mine.inner_count == theirs._inner_count
        assert mine.should_update() == theirs.should_update()
    for a, b in zip(params_of(ref), params_of(ours), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-7)


# ------------------------------------------------------- call shape, counters
def tracked(acc: int = 1) -> tuple[OptimWrapper, list[float]]:
    wrapper = OptimWrapper(torch.optim.SGD([nn.Parameter(torch.ones(1))], lr=0.1), accumulative_counts=acc)
    losses: list[float] = []

    def backward(loss):  # one positional argument, as MMEngine's tests patch it
        losses.append(float(loss))
        wrapper._inner_count += 1

    wrapper.backward = backward
    wrapper.step = MagicMock()
    wrapper.zero_grad = MagicMock()
    return wrapper, losses


def test_update_params_call_shape():
    wrapper, losses = tracked()
    wrapper.update_params(torch.tensor(1.0))
    assert losses == [1.0]
    wrapper.step.assert_called_with()
    wrapper.zero_grad.assert_called_with()
    wrapper.update_params(torch.tensor(1.0), step_kwargs=dict(a=1), zero_kwargs=dict(set_to_none=False))
    wrapper.step.assert_called_with(a=1)
    wrapper.zero_grad.assert_called_with(set_to_none=False)


def test_worked_example_factors_and_step_points():
    wrapper, losses = tracked(acc=3)
    wrapper.initialize_count_status(nn.Linear(1, 1), 0, 10)
    steps, syncs = [], []
    for call in range(1, 11):
        syncs.append(wrapper.should_sync())
        wrapper.update_params(torch.tensor(1.0))
        if wrapper.step.call_count > len(steps):
            steps.append(call)
    assert [round(1 / v) for v in losses] == [3, 3, 3, 3, 3, 3, 3, 3, 3, 1]
    assert steps == [3, 6, 9, 10]
    assert [i + 1 for i, s in enumerate(syncs) if s] == [3, 6, 9, 10]
    assert wrapper.zero_grad.call_count == 4


def test_uninitialised_counts_use_full_windows():
    wrapper, losses = tracked(acc=3)
    wrapper.update_params(torch.tensor(1.0))
    assert losses == [pytest.approx(1 / 3)] and not wrapper.step.called
    wrapper.update_params(torch.tensor(1.0))
    assert wrapper.inner_count == 2
    wrapper.update_params(torch.tensor(1.0))
    assert wrapper.step.called and wrapper.zero_grad.called
    wrapper._inner_count = 99
    wrapper.step.reset_mock()
    wrapper.update_params(torch.tensor(1.0))
    assert not wrapper.step.called and losses[-1] == pytest.approx(1 / 3)


@pytest.mark.parametrize(("init", "expect_steps", "factor"), [(99, [1], 1), (96, [3], 3)])
def test_resume_near_the_end(init, expect_steps, factor):
    wrapper, losses = tracked(acc=3)
    wrapper.initialize_count_status(nn.Linear(1, 1), init, 100)
    steps = []
    for call in range(1, 4 if init == 96 else 2):
        wrapper.update_params(torch.tensor(1.0))
        if wrapper.step.call_count > len(steps):
            steps.append(call)
    assert steps == expect_steps
    assert losses[0] == pytest.approx(1 / factor)


def test_remainder_window_factor_is_never_zero():
    wrapper, losses = tracked(acc=3)
    wrapper.initialize_count_status(nn.Linear(1, 1), 0, 9)
    assert wrapper._remainder_counts == 0
    for _ in range(12):
        wrapper.update_params(torch.tensor(1.0))
    assert all(v == pytest.approx(1 / 3) for v in losses)
    assert wrapper.step.call_count == 4


def test_initial_counters_and_defaults():
    opt = torch.optim.SGD([nn.Parameter(torch.ones(1))], lr=0.1)
    wrapper = OptimWrapper(opt)
    assert wrapper.optimizer is opt and wrapper.clip_grad_kwargs is None
    counters = (wrapper._accumulative_counts, wrapper._inner_count, wrapper._max_counts, wrapper._remainder_counts)
    assert counters == (1, 0, -1, -1)
    wrapper.initialize_count_status(nn.Linear(1, 1), 0, 100)
    assert OptimWrapper(opt, accumulative_counts=3)._remainder_counts == -1


def test_resume_warning_is_one_record(caplog):
    wrapper = OptimWrapper(torch.optim.SGD([nn.Parameter(torch.ones(1))], lr=0.1), accumulative_counts=3)
    with caplog.at_level(logging.WARNING, logger="optimtx"), pytest.warns(otx.warnings.AccumulationResumeWarning):
        wrapper.initialize_count_status(nn.Linear(1, 1), 2, 100)
    assert len(caplog.records) == 1
    assert caplog.records[0].levelno == logging.WARNING and caplog.records[0].name == "optimtx"
    assert "Resumed iteration number" in caplog.records[0].getMessage()
    assert wrapper._remainder_counts == 1


def test_batch_norm_warning_is_one_record(caplog):
    wrapper = OptimWrapper(torch.optim.SGD([nn.Parameter(torch.ones(1))], lr=0.1), accumulative_counts=3)
    with caplog.at_level(logging.WARNING, logger="optimtx"), pytest.warns(otx.AccumulationBatchNormWarning):
        wrapper.initialize_count_status(nn.Sequential(nn.Linear(1, 1), nn.BatchNorm2d(1)), 0, 99)
    assert len(caplog.records) == 1
    assert "Gradient accumulative" in caplog.records[0].getMessage()


def test_no_warning_without_accumulation(caplog):
    wrapper = OptimWrapper(torch.optim.SGD([nn.Parameter(torch.ones(1))], lr=0.1))
    with caplog.at_level(logging.WARNING, logger="optimtx"):
        wrapper.initialize_count_status(nn.BatchNorm1d(1), 5, 99)
    assert caplog.records == []


def test_backward_step_zero_grad_delegate():
    opt = MagicMock(spec=torch.optim.Optimizer)
    opt.defaults, opt.param_groups = {}, [{}]
    wrapper = OptimWrapper(opt)
    loss = MagicMock()
    wrapper.backward(loss)
    loss.backward.assert_called_with()
    assert wrapper.inner_count == 1
    wrapper.zero_grad()
    opt.zero_grad.assert_called_with()
    wrapper.step()
    opt.step.assert_called_with()


def test_step_is_reassignable_and_global_step_settable():
    wrapper = OptimWrapper(torch.optim.SGD([nn.Parameter(torch.ones(1))], lr=0.1))
    original = wrapper.step
    calls = []

    def wrapped(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    wrapper.step = wrapped
    wrapper._global_step = -1
    wrapper.update_params(nn.Parameter(torch.ones(1)).sum())
    assert calls == [1] and wrapper._global_step == -1


# --------------------------------------------------------- groups, lr, state
def two_group_sgd() -> torch.optim.SGD:
    model = nn.ModuleDict(dict(a=nn.Linear(1, 1), b=nn.Linear(1, 1)))
    groups = [{"params": model.a.parameters()}, {"params": model.b.parameters(), "lr": 0.01}]
    return torch.optim.SGD(groups, lr=0.1, momentum=0.8)


def test_get_lr_and_momentum():
    p = [nn.Parameter(torch.ones(1))]
    assert OptimWrapper(torch.optim.SGD(p, lr=0.1)).get_lr() == {"lr": [0.1]}
    assert OptimWrapper(torch.optim.SGD(p, lr=0.1, momentum=0.8)).get_momentum() == {"momentum": [0.8]}
    assert OptimWrapper(torch.optim.Adam(p, betas=(0.9, 0.9))).get_momentum() == {"momentum": [0.9]}
    assert OptimWrapper(torch.optim.Adagrad(p)).get_momentum() == {"momentum": [0]}
    wrapper = OptimWrapper(two_group_sgd())
    assert wrapper.get_lr() == {"base_lr": [0.1], "lr": [0.1, 0.01]}
    assert wrapper.get_momentum() == {"momentum": [0.8, 0.8]}


def test_param_groups_and_defaults():
    opt = torch.optim.SGD([nn.Parameter(torch.ones(1))], lr=0.1)
    wrapper = OptimWrapper(opt)
    assert wrapper.param_groups is opt.param_groups and wrapper.defaults is opt.defaults
    multi = OptimWrapper(two_group_sgd())
    groups = multi.param_groups
    assert len(groups) == 3 and groups[:2] == multi.optimizer.param_groups
    assert groups[2] is multi.base_param_settings and groups[2]["lr"] == 0.1
    assert torch.equal(groups[2]["params"], torch.tensor([0.0]))
    groups.append({})
    assert len(multi.param_groups) == 3
    groups[0]["lr"] = 0.5
    assert multi.get_lr()["lr"][0] == 0.5


def test_state_dict_layouts_and_round_trip():
    model = make_model()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    wrapper = OptimWrapper(opt)
    wrapper.update_params(loss_of(model, *DATA[0]))
    assert str(wrapper.state_dict()) == str(opt.state_dict())
    other = torch.optim.SGD(make_model(1).parameters(), lr=0.3, momentum=0.5)
    wrapper.load_state_dict(other.state_dict())
    assert str(wrapper.state_dict()) == str(other.state_dict())
    multi = OptimWrapper(two_group_sgd())
    sd = multi.state_dict()
    assert set(sd) == {"state", "param_groups", "base_param_settings"}
    before = copy.copy(sd)
    OptimWrapper(two_group_sgd()).load_state_dict(sd)
    assert set(sd) == set(before)


def test_load_state_dict_that_does_not_fit_changes_nothing():
    wrapper = OptimWrapper(two_group_sgd())
    before = str(wrapper.state_dict())
    one_group = torch.optim.SGD([nn.Parameter(torch.ones(1))], lr=0.7).state_dict()
    with pytest.raises(ValueError, match="param groups"):
        wrapper.load_state_dict(one_group)
    wrong_sizes = two_group_sgd().state_dict()
    wrong_sizes["param_groups"][0]["params"] = [0]
    with pytest.raises(ValueError, match="parameters"):
        wrapper.load_state_dict(wrong_sizes)
    with pytest.raises(ValueError, match="no"):
        wrapper.load_state_dict({"param_groups": []})
    with pytest.raises(TypeError):
        wrapper.load_state_dict([1])
    assert str(wrapper.state_dict()) == before


def test_repr():
    opt = torch.optim.SGD([nn.Parameter(torch.ones(1))], lr=0.1)
    text = repr(OptimWrapper(opt, accumulative_counts=2))
    assert text == f"Type: OptimWrapper\n_accumulative_counts: 2\noptimizer: \n{opt!r}\n"


# ---------------------------------------------------------------- bad input
def sgd():
    return torch.optim.SGD([nn.Parameter(torch.ones(1))], lr=0.1)


@pytest.mark.parametrize(
    ("kwargs", "error", "needle"),
    [
        (dict(accumulative_counts=0), ValueError, "0"),
        (dict(accumulative_counts=1.5), TypeError, "1.5"),
        (dict(clip_grad={}), TypeError, "{}"),
        (dict(clip_grad=[]), TypeError, r"\[\]"),
        (dict(clip_grad=dict(type="norm")), ValueError, "max_norm"),
        (dict(clip_grad=dict(type="value", max_norm=1)), ValueError, "max_norm"),
        (dict(clip_grad=dict(max_norm=1, clip_value=1)), ValueError, "clip_value"),
        (dict(clip_grad=dict(max_nrom=1)), ValueError, "max_norm"),
        (dict(clip_grad=dict(type="l2", max_norm=1)), ValueError, "'l2'"),
        (dict(clip_grad=dict(max_norm=-1.0)), ValueError, "-1.0"),
        (dict(clip_grad=dict(max_norm=1.0, norm_type=0)), ValueError, "0"),
    ],
)
def test_bad_construction_arguments(kwargs, error, needle):
    with pytest.raises(error, match=needle):
        OptimWrapper(sgd(), **kwargs)


def test_clip_grad_dict_is_not_mutated_and_can_be_reused():
    clip = dict(type="value", clip_value=0.1)
    first, second = OptimWrapper(sgd(), clip_grad=clip), OptimWrapper(sgd(), clip_grad=clip)
    assert clip == dict(type="value", clip_value=0.1)
    assert first.grad_name == second.grad_name == "grad_value"
    assert first.clip_grad_kwargs == {"clip_value": 0.1}


def test_non_scalar_loss_is_rejected():
    p = nn.Parameter(torch.ones(3))
    wrapper = OptimWrapper(torch.optim.SGD([p], lr=0.1))
    with pytest.raises(ValueError, match=r"\(3,\)"):
        wrapper.update_params(p * 2)
    assert wrapper.inner_count == 0 and p.grad is None


# ------------------------------------------------------------------------ DDP
def _ddp_worker(rank: int, out_dir: str) -> None:
    import datetime
    import os

    import torch.distributed as dist

    # Rendezvous through a file in the test's own directory: no TCP port to race for.
    os.environ.update(GLOO_SOCKET_IFNAME="lo")
    dist.init_process_group(
        "gloo",
        init_method=f"file://{os.path.join(out_dir, 'rendezvous')}",
        rank=rank,
        world_size=2,
        timeout=datetime.timedelta(seconds=60),
    )
    try:
        torch.manual_seed(0)
        model = nn.parallel.DistributedDataParallel(nn.Linear(2, 1))
        wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1), accumulative_counts=3)
        results = {}
        for name, init in (("accumulating", 0), ("syncing", 2)):
            wrapper.initialize_count_status(model, init, 100)
            model.zero_grad(set_to_none=True)
            x = torch.full((1, 2), float(rank + 1))
            with wrapper.optim_context(model):
                out = model(x)
            wrapper.backward(out.sum())
            results[name] = model.module.weight.grad.clone()
        torch.save(results, os.path.join(out_dir, f"rank{rank}.pt"))
        dist.barrier()  # neither rank tears gloo down while the other still talks to it (SIGABRT otherwise)
    finally:
        dist.destroy_process_group()


@pytest.mark.distributed
@pytest.mark.slow
def test_optim_context_skips_sync_while_accumulating(tmp_path):
    import time

    import torch.multiprocessing as mp

    context = mp.spawn(_ddp_worker, args=(str(tmp_path),), nprocs=2, join=False)
    deadline = time.monotonic() + 120
    while not context.join(timeout=5):
        if time.monotonic() > deadline:
            for process in context.processes:
                process.kill()
            pytest.fail("DDP workers did not finish within 120 s")
    r0, r1 = (torch.load(tmp_path / f"rank{r}.pt") for r in (0, 1))
    assert not torch.equal(r0["accumulating"], r1["accumulating"])  # no_sync: local gradients differ
    assert torch.equal(r0["syncing"], r1["syncing"])  # third micro-step: all-reduced
    torch.testing.assert_close(r0["syncing"], (r0["accumulating"] + r1["accumulating"]) / 2)


def test_multi_group_layout_matches_mmengine():
    mm_optim = pytest.importorskip("mmengine.optim")
    theirs, mine = mm_optim.OptimWrapper(two_group_sgd()), OptimWrapper(two_group_sgd())
    assert mine.get_lr() == theirs.get_lr() and mine.get_momentum() == theirs.get_momentum()
    assert len(mine.param_groups) == len(theirs.param_groups) == 3
    ours_sd, their_sd = mine.state_dict(), theirs.state_dict()
    assert set(ours_sd) == set(their_sd)
    assert str(ours_sd["base_param_settings"]) == str(their_sd["base_param_settings"])
    assert repr(mine) == repr(theirs)
