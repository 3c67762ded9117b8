"""Parameter schedulers: windows, conversion, state, the step counter and its warnings, error paths."""

from __future__ import annotations

import gc
import io
import math
import warnings
import weakref
from typing import ClassVar

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import optimtx as otx
import optimtx.optim
from optimtx.param_scheduler import INF, SCHEDULER_CLASSES, _ParamScheduler


def _sgd(n_groups: int = 2, **kwargs) -> torch.optim.SGD:
    groups = [{"params": [torch.nn.Parameter(torch.ones(2))], "lr": 0.1 * (i + 1)} for i in range(n_groups)]
    return torch.optim.SGD(groups, lr=0.1, momentum=0.9, **kwargs)


def _adam(n_groups: int = 2) -> torch.optim.Adam:
    groups = [{"params": [torch.nn.Parameter(torch.ones(2))]} for _ in range(n_groups)]
    return torch.optim.Adam(groups, lr=0.1, betas=(0.9, 0.99))


class StandIn:
    """The smallest OptimWrapper-like object: param_groups, step and defaults."""

    def __init__(self, optimizer: torch.optim.Optimizer) -> None:
        self.optimizer = optimizer
        self.base = {"lr": optimizer.defaults["lr"], "momentum": optimizer.defaults["momentum"]}
        self.steps = 0

    @property
    def param_groups(self) -> list[dict]:
        return [*self.optimizer.param_groups, self.base]

    @property
    def defaults(self) -> dict:
        return self.optimizer.defaults

    def step(self) -> None:
        self.steps += 1
        self.optimizer.step()


def _lrs(optimizer, scheduler, n: int) -> list[list[float]]:
    out = []
    for _ in range(n):
        out.append([g["lr"] for g in optimizer.param_groups])
        optimizer.step()
        scheduler.step()
    return out


# ---------------------------------------------------------------- the table of classes


def test_scheduler_classes_cover_every_public_scheduler():
    names = {cls.__name__ for cls in SCHEDULER_CLASSES}
    assert len(names) == len(SCHEDULER_CLASSES) == 29
    assert "OneCycleMomentum" not in names
    for cls in SCHEDULER_CLASSES:
        assert issubclass(cls, _ParamScheduler)
        assert getattr(otx, cls.__name__) is cls
        assert getattr(optimtx.optim, cls.__name__) is cls
    forms = {"LR", "Momentum", "ParamScheduler"}
    families = {n.removesuffix(f) for n in names for f in forms if n.endswith(f)}
    assert len(families) == 10


def test_star_import_of_the_porting_module_works():
    namespace: dict = {}
    exec("from optimtx.optim import *", namespace)
    assert {"StepLR", "MomentumSchedulerMixin", "_ParamScheduler", "OptimWrapper"} <= set(namespace)


# ---------------------------------------------------------------- windows and steps


@given(begin=st.integers(0, 6), length=st.integers(1, 6), gamma=st.floats(0.1, 0.9))
def test_values_change_only_inside_begin_end(begin, length, gamma):
    opt = _sgd(1)
    sched = otx.ExponentialLR(opt, gamma=gamma, begin=begin, end=begin + length)
    lrs = [v[0] for v in _lrs(opt, sched, begin + length + 3)]
    for step, value in enumerate(lrs):
        # ExponentialLR leaves the first step of its window alone, then multiplies each step.
        expected = 0.1 * gamma ** min(max(step - begin, 0), length - 1)
        assert value == pytest.approx(expected, rel=1e-9)


def test_last_step_counts_only_inside_the_window():
    opt = _sgd()
    sched = otx.StepLR(opt, step_size=1, begin=2, end=5)
    seen = []
    for _ in range(7):
        seen.append(sched.last_step)
        opt.step()
        sched.step()
    assert seen == [-1, -1, 0, 1, 2, 2, 2]


def test_last_step_increments_by_one_per_step():
    opt = _sgd()
    sched = otx.CosineAnnealingLR(opt, T_max=10)
    for expected in range(1, 6):
        opt.step()
        sched.step()
        assert sched.last_step == expected


def test_get_last_value_has_one_entry_per_group_including_wrapper_base():
    opt = _sgd()
    wrapper = StandIn(opt)
    sched = otx.MultiStepLR(wrapper, milestones=[1], gamma=0.5)
    wrapper.step()
    sched.step()
    assert sched.get_last_value() == pytest.approx([0.05, 0.1, 0.05])
    assert [g["lr"] for g in opt.param_groups] == pytest.approx([0.05, 0.1])
    assert wrapper.steps == 1


def test_works_on_the_optimtx_optim_wrapper():
    wrapper = otx.OptimWrapper(_sgd())
    sched = otx.LinearLR(wrapper, start_factor=0.5, end=3)
    assert wrapper.get_lr()["lr"] == pytest.approx([0.05, 0.1])
    assert wrapper.get_lr()["base_lr"] == pytest.approx([0.05])
    for _ in range(3):
        wrapper.step()
        sched.step()
    assert wrapper.get_lr()["lr"] == pytest.approx([0.1, 0.2])
    assert wrapper.optimizer.param_groups[0]["initial_lr"] == pytest.approx(0.1)


def test_momentum_scheduler_writes_betas_on_adam():
    opt = _adam()
    sched = otx.LinearMomentum(opt, start_factor=0.5, end=3)
    assert [g["betas"] for g in opt.param_groups] == [(0.45, 0.99)] * 2
    for _ in range(2):
        opt.step()
        sched.step()
    assert [g["betas"] for g in opt.param_groups] == [pytest.approx((0.9, 0.99))] * 2


def test_momentum_scheduler_on_sgd_schedules_momentum():
    opt = _sgd()
    otx.ConstantMomentum(opt, factor=0.5)
    assert [g["momentum"] for g in opt.param_groups] == pytest.approx([0.45, 0.45])
    assert "betas" not in opt.param_groups[0]


def test_one_cycle_overwrites_initial_lr_on_a_fresh_start():
    opt = _sgd()
    otx.OneCycleLR(opt, eta_max=[1.0, 2.0], total_steps=10)
    assert [g["initial_lr"] for g in opt.param_groups] == pytest.approx([0.04, 0.08])
    assert [g["lr"] for g in opt.param_groups] == pytest.approx([0.04, 0.08])


def test_cosine_restart_leaves_value_after_last_period():
    opt = _sgd(1)
    sched = otx.CosineRestartLR(opt, periods=[2, 2], restart_weights=[1, 0.5], eta_min=0.0)
    lrs = [v[0] for v in _lrs(opt, sched, 6)]
    assert lrs == pytest.approx([0.1, 0.05, 0.05, 0.025, 0.025, 0.025])


def test_reduce_on_plateau_counts_epochs_without_metrics():
    opt = _sgd()
    sched = otx.ReduceOnPlateauLR(opt, factor=0.5, patience=0, begin=2)
    sched.step({"loss": 1.0})
    sched.step({"loss": 2.0})
    assert sched.last_step == -1 and sched.get_last_value() == pytest.approx([0.1, 0.2])
    sched.step()
    sched.step()
    sched.step({"loss": 1.0})
    sched.step({"loss": 2.0})
    assert sched.get_last_value() == pytest.approx([0.05, 0.1])
    assert otx.ReduceOnPlateauLR.need_val_args is True


# ---------------------------------------------------------------- epoch -> iteration


@pytest.mark.parametrize(
    "cls, kwargs, scaled",
    [
        (otx.StepLR, dict(step_size=2), dict(step_size=8)),
        (otx.MultiStepLR, dict(milestones=[1, 3]), dict(milestones={4: 1, 12: 1})),
        (otx.CosineAnnealingLR, dict(T_max=3), dict(T_max=12)),
        (otx.CosineRestartLR, dict(periods=[1, 2], restart_weights=[1, 1], eta_min=0.0), dict(periods=[4, 8])),
        (otx.OneCycleLR, dict(eta_max=1.0, total_steps=5), dict(total_steps=20)),
        (otx.LinearLR, dict(), dict(total_iters=4 * 5 - 4 - 1)),
    ],
)
def test_build_iter_from_epoch_scales_epoch_arguments(cls, kwargs, scaled):
    sched = cls.build_iter_from_epoch(_sgd(), begin=1, end=5, epoch_length=4, **kwargs)
    assert (sched.begin, sched.end, sched.by_epoch) == (4, 20, False)
    for name, value in scaled.items():
        assert getattr(sched, name) == value


def test_build_iter_from_epoch_keeps_infinite_end():
    sched = otx.ExponentialLR.build_iter_from_epoch(_sgd(), gamma=0.9, epoch_length=7)
    assert sched.end == INF and sched.begin == 0


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(by_epoch=False, epoch_length=3, step_size=1), ValueError, "by_epoch=True"),
        (dict(epoch_length=0, step_size=1), ValueError, "epoch_length"),
        (dict(epoch_length=None, step_size=1), ValueError, "epoch_length"),
        (dict(epoch_length=3), TypeError, "step_size"),
    ],
)
def test_build_iter_from_epoch_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        otx.StepLR.build_iter_from_epoch(_sgd(), **kwargs)


# ---------------------------------------------------------------- state


def _roundtrip(state: dict) -> dict:
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    return torch.load(buffer)  # the default weights_only=True must accept the state


@pytest.mark.parametrize(
    "make",
    [
        lambda o: otx.MultiStepLR(o, milestones=[1, 1, 3]),
        lambda o: otx.CosineRestartMomentum(o, periods=[2, 3], restart_weights=[1, 0.5], eta_min=0.0),
        lambda o: otx.OneCycleLR(o, eta_max=0.5, total_steps=20, three_phase=True),
        lambda o: otx.PolyParamScheduler(o, "lr", end=10, power=2.0),
        lambda o: otx.ReduceOnPlateauMomentum(o, patience=0, min_value=[0.1, 0.2]),
    ],
)
@pytest.mark.parametrize("wrap", [False, True], ids=["optimizer", "wrapper"])
def test_state_dict_roundtrips_through_torch_save(make, wrap):
    opt = otx.OptimWrapper(_sgd()) if wrap else _sgd()
    sched = make(opt)
    for i in range(3):
        opt.step()
        sched.step()
        if isinstance(sched, otx.ReduceOnPlateauParamScheduler):
            sched.step({"loss": float(i)})
    state = _roundtrip(sched.state_dict())
    assert "optimizer" not in state
    fresh = make(opt)
    fresh.load_state_dict(state)
    transient = ("optimizer", "_seen_optimizer_step")
    assert {k: v for k, v in fresh.__dict__.items() if k not in transient} == sched.state_dict()
    assert fresh.get_last_value() == sched.get_last_value()
    opt.step()
    fresh.step()
    assert fresh.last_step == sched.last_step + (0 if isinstance(sched, otx.ReduceOnPlateauParamScheduler) else 1)


def test_load_state_dict_rejects_foreign_state():
    sched = otx.StepLR(_sgd(), step_size=2)
    with pytest.raises(ValueError, match=r"Unexpected key\(s\) \['T_max'\]"):
        sched.load_state_dict({"T_max": 3})
    with pytest.raises(TypeError, match="must be a dict"):
        sched.load_state_dict([("last_step", 1)])


def test_resume_needs_initial_values_in_every_group():
    wrapper = StandIn(_sgd())
    with pytest.raises(KeyError, match="param 'initial_lr' is not specified in param_groups"):
        otx.StepLR(wrapper, step_size=2, last_step=10)
    for group in wrapper.param_groups:
        group["initial_lr"] = group["lr"]
    sched = otx.StepLR(wrapper, step_size=2, last_step=10)
    assert sched.last_step == 11


# ---------------------------------------------------------------- the step counter


def test_counter_wraps_step_once_and_counts():
    opt = _sgd()
    first = otx.StepLR(opt, step_size=2)
    wrapped = opt.step
    otx.ExponentialMomentum(opt, gamma=0.9)
    assert opt.step is wrapped and opt.step._with_counter
    assert opt._global_step == -1
    opt.step()
    opt.step()
    assert opt._global_step == 1
    assert first._global_step == 0


def test_counter_holds_the_optimizer_only_weakly():
    opt = _sgd()
    sched = otx.StepLR(opt, step_size=2)
    held = list(vars(opt.step).values())
    assert not any(obj is opt or getattr(obj, "__self__", None) is opt for obj in held)
    assert any(isinstance(obj, weakref.ref) and obj() is opt for obj in held)
    ref = weakref.ref(opt)
    del opt, sched
    gc.collect()
    assert ref() is None


def test_counter_wraps_a_plain_function_step():
    calls = []
    wrapper = StandIn(_sgd())
    wrapper.step = lambda: calls.append(1)
    otx.StepLR(wrapper, step_size=1)
    wrapper.step()
    assert calls == [1] and wrapper._global_step == 0


def test_warns_when_scheduler_steps_before_optimizer():
    sched = otx.StepLR(_sgd(), step_size=2)
    with pytest.warns(otx.SchedulerOrderWarning, match="before `optimizer.step\\(\\)`.*how-to-adjust-learning-rate"):
        sched.step()


def test_warns_when_optimizer_step_was_replaced():
    wrapper = StandIn(_sgd())
    sched = otx.StepLR(wrapper, step_size=2)
    wrapper.step = lambda: None
    with pytest.warns(UserWarning, match="how-to-adjust-learning-rate"):
        sched.step()


def test_no_warning_in_the_right_order_and_only_on_first_step():
    opt = _sgd()
    sched = otx.StepLR(opt, step_size=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        opt.step()
        sched.step()
        sched.step()  # later out-of-order steps are not checked, as in torch and MMEngine


def test_verbose_logs_each_change(caplog):
    opt = _sgd(1)
    with caplog.at_level("INFO", logger="optimtx"):
        sched = otx.StepLR(opt, step_size=1, gamma=0.5, verbose=True)
        opt.step()
        sched.step()
    assert [r.getMessage() for r in caplog.records] == [
        "Adjusting parameter value of group 0 to 1.0000e-01.",
        "Adjusting parameter value of group 0 to 5.0000e-02.",
    ]


# ---------------------------------------------------------------- error paths


_REQUIRED = {
    "Step": dict(step_size=1),
    "MultiStep": dict(milestones=[1]),
    "Exponential": dict(gamma=0.5),
    "CosineRestart": dict(periods=[1], eta_min=0.0),
}


@pytest.mark.parametrize("cls", SCHEDULER_CLASSES)
def test_every_scheduler_rejects_a_non_optimizer(cls):
    family = cls.__name__.removesuffix("ParamScheduler").removesuffix("LR").removesuffix("Momentum")
    args = ("sgd", "lr") if cls.__name__.endswith("ParamScheduler") else ("sgd",)
    with pytest.raises(TypeError, match=r"should be an Optimizer.*is not an Optimizer"):
        cls(*args, **_REQUIRED.get(family, {}))


def test_rejects_a_wrapper_dict_like_object():
    class Refuses:
        defaults: ClassVar[dict] = {}

        @property
        def param_groups(self):
            raise NotImplementedError("ask a member wrapper")

        def step(self):
            pass

    with pytest.raises(TypeError, match="should be an Optimizer"):
        otx.StepLR(Refuses(), step_size=1)


@pytest.mark.parametrize(
    "make, error, match",
    [
        (lambda o: otx.StepLR(o, step_size=2, begin=5, end=5), ValueError, "end should be larger than begin"),
        (lambda o: otx.ReduceOnPlateauLR(o, begin=3, end=1), ValueError, "end should be larger than begin"),
        (lambda o: otx.StepLR(o, step_size=2, last_step=-2), ValueError, "last_step"),
        (lambda o: otx.StepLR(o, step_size=2, last_step=1.0), TypeError, "last_step"),
        (lambda o: otx.StepLR(o, step_size=0), ValueError, "step_size"),
        (lambda o: otx.StepParamScheduler(o, "invalid_name", step_size=2), KeyError, "invalid_name"),
        (lambda o: otx.ConstantLR(o, factor=1.5), ValueError, "factor"),
        (lambda o: otx.LinearLR(o, start_factor=-0.1), ValueError, "start_factor"),
        (lambda o: otx.LinearLR(o, end_factor=2.0), ValueError, "end_factor"),
        (lambda o: otx.CosineAnnealingLR(o, eta_min=0.0, eta_min_ratio=0.1), ValueError, "exactly one"),
        (lambda o: otx.CosineRestartLR(o, periods=[2]), ValueError, "exactly one"),
        (lambda o: otx.CosineRestartLR(o, periods=[2, 3], eta_min=0.0), ValueError, "same length"),
        (lambda o: otx.OneCycleParamScheduler(o, "momentum"), ValueError, "param_name must be 'lr'"),
        (lambda o: otx.OneCycleLR(o, total_steps=0), ValueError, "total_steps"),
        (lambda o: otx.OneCycleLR(o, total_steps=5, pct_start=1), ValueError, "pct_start"),
        (lambda o: otx.OneCycleLR(o, total_steps=5, anneal_strategy="cosine"), ValueError, "anneal_strategy"),
        (lambda o: otx.OneCycleLR(o, total_steps=5, eta_max=[1.0]), ValueError, "expected 2 values"),
        (lambda o: otx.ReduceOnPlateauLR(o, by_epoch=False), ValueError, "by_epoch=True"),
        (lambda o: otx.ReduceOnPlateauLR(o, factor=2.0), ValueError, "factor"),
        (lambda o: otx.ReduceOnPlateauLR(o, threshold=-1), ValueError, "threshold"),
        (lambda o: otx.ReduceOnPlateauLR(o, rule="foo"), ValueError, "rule"),
        (lambda o: otx.ReduceOnPlateauLR(o, threshold_rule="foo"), ValueError, "threshold_rule"),
        (lambda o: otx.ReduceOnPlateauLR(o, min_value=[0.1] * 3), ValueError, "expected 2 min_values"),
    ],
)
def test_bad_arguments_raise(make, error, match):
    with pytest.raises(error, match=match):
        make(_sgd())


def test_momentum_scheduler_needs_momentum_or_betas():
    opt = torch.optim.Adagrad([torch.nn.Parameter(torch.ones(1))], lr=0.1)
    with pytest.raises(ValueError, match="must support momentum"):
        otx.StepMomentum(opt, step_size=2)


def test_reduce_on_plateau_min_value_on_a_wrapper_counts_real_groups():
    wrapper = otx.OptimWrapper(_sgd())
    sched = otx.ReduceOnPlateauLR(wrapper, min_value=[0.1, 0.1])
    assert sched.min_values == [0.1, 0.1, 0.1]
    with pytest.raises(ValueError, match="expected 2 min_values"):
        otx.ReduceOnPlateauLR(wrapper, min_value=[0.1] * 4)


def test_reduce_on_plateau_metric_errors():
    sched = otx.ReduceOnPlateauLR(_sgd(), monitor="acc")
    with pytest.raises(TypeError, match="metrics must be a dict"):
        sched.step([0.5])
    with pytest.raises(KeyError, match="'acc'"):
        sched.step({"loss": 0.5})


def test_one_cycle_refuses_to_step_past_total_steps():
    opt = _sgd()
    sched = otx.OneCycleLR(opt, eta_max=1.0, total_steps=3)
    for _ in range(3):
        opt.step()
        sched.step()
    opt.step()
    with pytest.raises(ValueError, match="Tried to step 5 times"):
        sched.step()


def test_cosine_annealing_reaches_eta_min_and_mirrors_back():
    opt = _sgd(1)
    sched = otx.CosineAnnealingLR(opt, T_max=4, eta_min=0.01)
    lrs = [v[0] for v in _lrs(opt, sched, 9)]
    closed = [0.01 + 0.09 * (1 + math.cos(math.pi * t / 4)) / 2 for t in range(9)]
    assert lrs == pytest.approx(closed, rel=1e-9)


def test_docs_quick_start_runs():
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "docs" / "param_scheduler.md").read_text()
    snippet = text.split("```python\n", 1)[1].split("```", 1)[0]
    namespace: dict = {}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        exec(compile(snippet, "docs/param_scheduler.md", "exec"), namespace)
    assert len(namespace["lrs"]) == 25


# ---------------------------------------------------------------- closed forms and composition


@given(start=st.floats(0.05, 1.0), stop=st.floats(0.0, 1.0), length=st.integers(2, 12))
def test_linear_alone_follows_its_closed_form(start, stop, length):
    opt = _sgd(1)
    sched = otx.LinearLR(opt, start_factor=start, end_factor=stop, end=length)
    total = length - 1
    expected = [0.1 * (start + (stop - start) * min(t, total) / total) for t in range(length + 2)]
    assert [v[0] for v in _lrs(opt, sched, length + 2)] == pytest.approx(expected, rel=1e-9, abs=1e-12)


@given(power=st.floats(0.5, 3.0), eta_min=st.floats(0.0, 0.05), length=st.integers(2, 12))
def test_poly_alone_follows_its_closed_form(power, eta_min, length):
    opt = _sgd(1)
    sched = otx.PolyLR(opt, eta_min=eta_min, power=power, end=length)
    total = length - 1
    expected = [eta_min + (0.1 - eta_min) * (1 - min(t, total) / total) ** power for t in range(length + 2)]
    assert [v[0] for v in _lrs(opt, sched, length + 2)] == pytest.approx(expected, rel=1e-9, abs=1e-12)


@given(g1=st.floats(0.5, 1.0), g2=st.floats(0.5, 1.0))
def test_chained_exponentials_multiply(g1, g2):
    one, two = _sgd(), _sgd()
    single = otx.ExponentialLR(one, gamma=g1 * g2)
    pair = [otx.ExponentialLR(two, gamma=g1), otx.ExponentialLR(two, gamma=g2)]
    for _ in range(6):
        one.step()
        two.step()
        single.step()
        for sched in pair:
            sched.step()
    assert [g["lr"] for g in two.param_groups] == pytest.approx([g["lr"] for g in one.param_groups], rel=1e-9)
