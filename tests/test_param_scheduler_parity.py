"""optimtx's parameter schedulers step for step against MMEngine's (same values in every group)."""

from __future__ import annotations

import warnings

import pytest
import torch

import optimtx.optim as ours

mm_optim = pytest.importorskip("mmengine.optim")
mm = pytest.importorskip("mmengine.optim.scheduler")

STEPS = 16

# (family, kwargs without param_name). Windows, milestones and periods are chosen so that
# every branch (first step, decay step, trough of the cosine, end of window) is reached.
CASES = [
    ("Step", dict(step_size=3, gamma=0.5)),
    ("Step", dict(step_size=2, gamma=0.7, begin=2, end=9)),
    ("MultiStep", dict(milestones=[2, 5, 5, 9], gamma=0.3)),
    ("MultiStep", dict(milestones=[1, 4], gamma=0.5, begin=3, end=12)),
    ("Constant", dict(factor=0.25, end=5)),
    ("Constant", dict(factor=0.5, begin=2, end=7)),
    ("Constant", dict()),
    ("Exponential", dict(gamma=0.9, begin=1, end=8)),
    ("CosineAnnealing", dict(T_max=5, eta_min=0.001)),
    ("CosineAnnealing", dict(eta_min_ratio=0.1, begin=2, end=10)),
    ("Linear", dict(start_factor=0.2, end=6)),
    ("Linear", dict(start_factor=0.9, end_factor=0.3, begin=3, end=11)),
    ("Poly", dict(eta_min=0.001, power=2.0, end=8)),
    ("Poly", dict(begin=2, end=12)),
    ("CosineRestart", dict(periods=[3, 4, 5], restart_weights=[1, 0.6, 0.3], eta_min=0.0)),
    ("CosineRestart", dict(periods=[5, 5], restart_weights=[1, 1], eta_min_ratio=0.05, begin=1, end=14)),
]
ONE_CYCLE_CASES = [
    dict(eta_max=0.2, total_steps=STEPS),
    dict(eta_max=0.3, total_steps=STEPS, three_phase=True, anneal_strategy="linear", pct_start=0.25),
    dict(eta_max=0.1, begin=0, end=STEPS, div_factor=10.0),
]


def _optimizer(kind: str) -> torch.optim.Optimizer:
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Linear(2, 1))
    groups = [{"params": model[0].parameters()}, {"params": model[1].parameters(), "lr": 0.01}]
    if kind == "sgd":
        groups[1]["momentum"] = 0.8
        return torch.optim.SGD(groups, lr=0.05, momentum=0.9)
    groups[1]["betas"] = (0.85, 0.99)
    return torch.optim.Adam(groups, lr=0.05, betas=(0.9, 0.999))


def _pair(kind: str, wrapped: bool):
    mine, theirs = _optimizer(kind), _optimizer(kind)
    if wrapped:
        return ours.OptimWrapper(mine), mm_optim.OptimWrapper(theirs)
    return mine, theirs


def _snapshot(optimizer) -> list[dict]:
    keys = ("lr", "momentum", "betas")
    return [{k: group[k] for k in keys if k in group} for group in optimizer.param_groups]


def _run(optimizer, schedulers, steps=STEPS) -> list:
    trace = [_snapshot(optimizer)]
    for _ in range(steps):
        optimizer.step()
        for scheduler in schedulers:
            scheduler.step()
        trace.append(
            _snapshot(optimizer) + [s.get_last_value() for s in schedulers] + [s.last_step for s in schedulers]
        )
    return trace


def _flat(obj) -> list:
    """Leaves of nested dicts/lists/tuples, with dict keys kept so the structures must agree."""
    if isinstance(obj, dict):
        return [leaf for key, value in obj.items() for leaf in [key, *_flat(value)]]
    if isinstance(obj, (list, tuple)):
        return [leaf for value in obj for leaf in _flat(value)]
    return [obj]


def _assert_same(mine, theirs) -> None:
    mine, theirs = _flat(mine), _flat(theirs)
    assert len(mine) == len(theirs)
    for a, b in zip(mine, theirs, strict=True):
        assert a == b if isinstance(a, str) else a == pytest.approx(b, rel=1e-12, abs=1e-15)


def _assert_parity(build, kind="sgd", wrapped=False, steps=STEPS):
    mine, theirs = _pair(kind, wrapped)
    _assert_same(_run(mine, build(ours, mine), steps), _run(theirs, build(mm, theirs), steps))


@pytest.mark.parametrize("wrapped", [False, True], ids=["optimizer", "wrapper"])
@pytest.mark.parametrize("family, kwargs", CASES)
def test_lr_and_param_forms_match_mmengine(family, kwargs, wrapped):
    _assert_parity(lambda lib, opt: [getattr(lib, f"{family}LR")(opt, **kwargs)], wrapped=wrapped)
    _assert_parity(
        lambda lib, opt: [getattr(lib, f"{family}ParamScheduler")(opt, "momentum", **kwargs)], wrapped=wrapped
    )


@pytest.mark.parametrize("kind", ["sgd", "adam"])
@pytest.mark.parametrize("wrapped", [False, True], ids=["optimizer", "wrapper"])
@pytest.mark.parametrize("family, kwargs", CASES)
def test_momentum_form_matches_mmengine(family, kwargs, kind, wrapped):
    _assert_parity(lambda lib, opt: [getattr(lib, f"{family}Momentum")(opt, **kwargs)], kind=kind, wrapped=wrapped)


@pytest.mark.parametrize("wrapped", [False, True], ids=["optimizer", "wrapper"])
@pytest.mark.parametrize("kwargs", ONE_CYCLE_CASES)
def test_one_cycle_matches_mmengine(kwargs, wrapped):
    _assert_parity(lambda lib, opt: [lib.OneCycleLR(opt, **kwargs)], wrapped=wrapped, steps=STEPS - 1)
    _assert_parity(lambda lib, opt: [lib.OneCycleParamScheduler(opt, "lr", **kwargs)], wrapped=wrapped, steps=STEPS - 1)


def test_chained_schedulers_match_mmengine():
    def build(lib, opt):
        return [
            lib.LinearLR(opt, start_factor=0.1, end=4),
            lib.MultiStepLR(opt, milestones=[6, 10], gamma=0.5),
            lib.CosineAnnealingMomentum(opt, T_max=8, begin=2, end=14),
        ]

    _assert_parity(build, wrapped=True)
    _assert_parity(build, kind="adam")


@pytest.mark.parametrize("wrapped", [False, True], ids=["optimizer", "wrapper"])
@pytest.mark.parametrize(
    "family, kwargs",
    [
        ("Step", dict(step_size=2, gamma=0.5, end=5)),
        ("MultiStep", dict(milestones=[1, 3])),
        ("Constant", dict(factor=0.5, begin=1, end=3)),
        ("Exponential", dict(gamma=0.95)),
        ("CosineAnnealing", dict(T_max=3)),
        ("CosineAnnealing", dict(begin=1, end=4)),
        ("Linear", dict(start_factor=0.5, end=2)),
        ("Poly", dict(power=1.5, end=4)),
        ("CosineRestart", dict(periods=[2, 3], restart_weights=[1, 0.5], eta_min=0.0)),
        ("OneCycle", dict(eta_max=0.2, total_steps=5)),
    ],
)
def test_iter_conversion_matches_mmengine(family, kwargs, wrapped):
    def build(lib, opt):
        scheduler = getattr(lib, f"{family}LR").build_iter_from_epoch(opt, epoch_length=3, **kwargs)
        assert scheduler.by_epoch is False
        return [scheduler]

    _assert_parity(build, wrapped=wrapped, steps=14)


def test_resume_with_last_step_matches_mmengine():
    def build(lib, opt):
        for group in opt.param_groups:
            group["initial_lr"] = group["lr"] * 2
        return [lib.CosineAnnealingLR(opt, T_max=10, last_step=4), lib.StepLR(opt, step_size=3, last_step=4)]

    _assert_parity(build, wrapped=True)


@pytest.mark.parametrize("wrapped", [False, True], ids=["optimizer", "wrapper"])
@pytest.mark.parametrize(
    "kwargs",
    [
        dict(factor=0.5, patience=1),
        dict(rule="greater", monitor="acc", factor=0.2, patience=0, cooldown=2, threshold_rule="abs", threshold=0.05),
        dict(factor=0.5, patience=0, min_value=[0.02, 0.004], begin=2, end=9),
        dict(factor=0.3, patience=1, threshold_rule="abs", eps=1e-3, min_value=0.001),
    ],
)
def test_reduce_on_plateau_matches_mmengine(kwargs, wrapped):
    metrics = [3.0, 2.0, 2.0, 2.5, 1.0, 1.0, 1.01, 0.99, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5]
    key = kwargs.get("monitor", "loss")

    def trace(lib, optimizer, name, param_name):
        extra = () if param_name is None else (param_name,)
        scheduler = getattr(lib, name)(optimizer, *extra, **kwargs)
        values = []
        for value in metrics:
            optimizer.step()
            scheduler.step()
            scheduler.step({key: value})
            values.append((_snapshot(optimizer), scheduler.get_last_value(), scheduler.last_step, scheduler.best))
        return values

    for name, param_name, kind in [
        ("ReduceOnPlateauLR", None, "sgd"),
        ("ReduceOnPlateauParamScheduler", "momentum", "sgd"),
        ("ReduceOnPlateauMomentum", None, "adam"),
    ]:
        mine, theirs = _pair(kind, wrapped)
        expected = trace(mm, theirs, name, param_name)
        _assert_same(trace(ours, mine, name, param_name), expected)


def test_same_warnings_as_mmengine_when_stepped_first():
    def caught(lib):
        optimizer = _optimizer("sgd")
        scheduler = lib.StepLR(optimizer, step_size=2)
        with warnings.catch_warnings(record=True) as record:
            warnings.simplefilter("always")
            scheduler.step()
        return [issubclass(w.category, UserWarning) and "how-to-adjust-learning-rate" in str(w.message) for w in record]

    assert caught(ours) == caught(mm) == [True]


@pytest.mark.parametrize(
    "name, args, kwargs",
    [
        ("MultiStepLR", (), dict(milestones=[2, 4, 4])),
        ("CosineRestartMomentum", (), dict(periods=[3, 4], restart_weights=[1, 0.5], eta_min=0.0)),
        ("OneCycleLR", (), dict(eta_max=0.2, total_steps=STEPS, anneal_strategy="linear")),
        ("LinearParamScheduler", ("lr",), dict(start_factor=0.2, end=6)),
        ("ReduceOnPlateauLR", (), dict(patience=0, factor=0.5)),
    ],
)
def test_state_saved_by_mmengine_resumes_in_optimtx(name, args, kwargs):
    """A checkpoint written by MMEngine's scheduler continues with the same values in optimtx's."""
    mine, theirs = _pair("sgd", wrapped=True)
    original = getattr(mm, name)(theirs, *args, **kwargs)
    plateau = name.startswith("ReduceOnPlateau")
    for _ in range(3):
        theirs.step()
        original.step({"loss": 1.0}) if plateau else original.step()
    resumed = getattr(ours, name)(mine, *args, **kwargs)
    # A resume builds the schedulers, then loads the optimizer's groups and the schedulers' states.
    for group_mine, group_theirs in zip(mine.param_groups, theirs.param_groups, strict=True):
        group_mine.update({k: v for k, v in group_theirs.items() if k != "params"})
    resumed.load_state_dict(original.state_dict())
    for _ in range(5):
        theirs.step()
        mine.step()
        for scheduler in (original, resumed):
            scheduler.step({"loss": 1.0}) if plateau else scheduler.step()
        _assert_same([*_snapshot(mine), resumed.last_step], [*_snapshot(theirs), original.last_step])
