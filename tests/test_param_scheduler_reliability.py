"""Hostile input for the parameter schedulers (issue 10).

Every argument is checked at construction, before the optimizer changes; ``state_dict``
hands out snapshots; ``load_state_dict`` is all-or-nothing and keeps no reference to the
caller's dict; copies, pickles and ``torch.save`` of a wrapper with a scheduler are independent.
"""

from __future__ import annotations

import copy
import io
import pickle

import pytest
import torch

import optimtx as otx

NAN, INF_F = float("nan"), float("inf")

# (family, good kwargs, bad kwargs, error, text the message must hold)
BAD = [
    ("Step", dict(step_size=2), dict(gamma=NAN), ValueError, "gamma: nan"),
    ("Step", dict(step_size=2), dict(gamma=-0.5), ValueError, "gamma: -0.5"),
    ("Step", dict(step_size=2), dict(step_size=0), ValueError, "step_size: 0"),
    ("Step", dict(step_size=2), dict(step_size=2.5), TypeError, "2.5"),
    ("MultiStep", dict(milestones=[2]), dict(milestones=["2"]), TypeError, "['2']"),
    ("MultiStep", dict(milestones=[2]), dict(milestones="23"), TypeError, "'23'"),
    ("MultiStep", dict(milestones=[2]), dict(milestones=[-1]), ValueError, "[-1]"),
    ("CosineAnnealing", dict(), dict(T_max=-1), ValueError, "T_max: -1"),
    ("CosineAnnealing", dict(), dict(eta_min=-0.1), ValueError, "eta_min: -0.1"),
    ("CosineAnnealing", dict(), dict(eta_min=INF_F), ValueError, "eta_min: inf"),
    ("CosineAnnealing", dict(), dict(eta_min=None, eta_min_ratio=NAN), ValueError, "eta_min_ratio: nan"),
    ("Linear", dict(), dict(start_factor=0), ValueError, "start_factor: 0"),
    ("Linear", dict(), dict(end_factor=1.5), ValueError, "end_factor: 1.5"),
    ("Constant", dict(), dict(factor=0, end=5), ValueError, "factor: 0"),
    ("Constant", dict(), dict(factor="0.5"), TypeError, "'0.5'"),
    ("Exponential", dict(gamma=0.9), dict(gamma=INF_F), ValueError, "gamma: inf"),
    ("Poly", dict(), dict(power=-1.0), ValueError, "power: -1.0"),
    ("Poly", dict(), dict(eta_min=NAN), ValueError, "eta_min: nan"),
    ("CosineRestart", dict(periods=[2], eta_min=0.0), dict(periods=[0]), ValueError, "[0]"),
    ("CosineRestart", dict(periods=[2], eta_min=0.0), dict(periods=[]), ValueError, "[]"),
    ("CosineRestart", dict(periods=[2], eta_min=0.0), dict(restart_weights=[NAN]), ValueError, "nan"),
    ("CosineRestart", dict(periods=[2], eta_min=0.0), dict(restart_weights=[1, 1]), ValueError, "same length"),
    ("ReduceOnPlateau", dict(), dict(factor=1.0), ValueError, "factor: 1.0"),
    ("ReduceOnPlateau", dict(), dict(patience=-1), ValueError, "patience: -1"),
    ("ReduceOnPlateau", dict(), dict(cooldown=0.5), TypeError, "0.5"),
    ("ReduceOnPlateau", dict(), dict(threshold=NAN), ValueError, "threshold: nan"),
    ("ReduceOnPlateau", dict(), dict(min_value=-1.0), ValueError, "min_value: -1.0"),
    ("ReduceOnPlateau", dict(), dict(monitor=3), TypeError, "3"),
    ("ReduceOnPlateau", dict(), dict(rule="lower"), ValueError, "'lower'"),
    # the window and the flags, shared by every scheduler
    ("Step", dict(step_size=2), dict(begin=5, end=5), ValueError, "begin=5, end=5"),
    ("Step", dict(step_size=2), dict(begin=-1), ValueError, "begin: -1"),
    ("Step", dict(step_size=2), dict(end="10"), TypeError, "'10'"),
    ("Step", dict(step_size=2), dict(begin=1.5), TypeError, "1.5"),
    ("Step", dict(step_size=2), dict(last_step=-2), ValueError, "last_step: -2"),
    ("Step", dict(step_size=2), dict(by_epoch="False"), TypeError, "'False'"),
    ("Step", dict(step_size=2), dict(verbose=1), TypeError, "verbose"),
    ("Step", dict(step_size=2), dict(count_skipped_steps="yes"), TypeError, "'yes'"),
]
ONE_CYCLE_BAD = [
    (dict(div_factor=0.0), ValueError, "div_factor: 0.0"),
    (dict(final_div_factor=NAN), ValueError, "final_div_factor: nan"),
    (dict(eta_max=INF_F), ValueError, "eta_max: inf"),
    (dict(eta_max=-1.0), ValueError, "eta_max: -1.0"),
    (dict(three_phase="yes"), TypeError, "'yes'"),
    (dict(pct_start=1.5), ValueError, "pct_start: 1.5"),
    (dict(anneal_strategy="cosine"), ValueError, "'cosine'"),
    (dict(total_steps=0), ValueError, "total_steps: 0"),
]


def _sgd():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Linear(2, 1))
    groups = [{"params": model[0].parameters()}, {"params": model[1].parameters(), "lr": 0.01}]
    return otx.OptimWrapper(torch.optim.SGD(groups, lr=0.1, momentum=0.9))


def _adam():
    return torch.optim.Adam([torch.zeros(2, requires_grad=True)], lr=0.1, betas=(0.9, 0.99))


def _snapshot(opt):
    return [dict(group) for group in opt.param_groups], dict(vars(opt))


def _forms(family):
    forms = [(getattr(otx, f"{family}ParamScheduler"), ("lr",)), (getattr(otx, f"{family}LR"), ())]
    forms.append((getattr(otx, f"{family}Momentum"), ()))
    return forms


@pytest.mark.parametrize(("family", "good", "bad", "error", "text"), BAD)
def test_bad_argument_is_refused_by_name_before_anything_changes(family, good, bad, error, text):
    for cls, extra in _forms(family):
        for opt in (_sgd(), _adam()):
            before = _snapshot(opt)
            with pytest.raises(error) as info:
                cls(opt, *extra, **{**good, **bad})
            assert text in str(info.value), (cls.__name__, str(info.value))
            assert _snapshot(opt) == before, cls.__name__  # no initial_lr, no momentum entry, step untouched
            cls(opt, *extra, **good)  # the good arguments alone are accepted


@pytest.mark.parametrize(("bad", "error", "text"), ONE_CYCLE_BAD)
def test_one_cycle_bad_argument(bad, error, text):
    opt = _sgd()
    before = _snapshot(opt)
    with pytest.raises(error, match=None) as info:
        otx.OneCycleLR(opt, **{"eta_max": 0.1, "total_steps": 10, **bad})
    assert text in str(info.value)
    assert _snapshot(opt) == before


def test_linear_start_factor_zero_no_longer_fails_later():
    """Formerly accepted, then ZeroDivisionError on the second step."""
    with pytest.raises(ValueError, match=r"start_factor: 0\.0.*\(0\.0, 1\.0\]"):
        otx.LinearLR(_sgd(), start_factor=0.0, end=4)


def test_param_name_must_be_a_group_key():
    opt = _sgd()
    before = _snapshot(opt)
    with pytest.raises(KeyError, match="'weight_decay_x'"):
        otx.StepParamScheduler(opt, "weight_decay_x", step_size=1)
    with pytest.raises(TypeError, match="param_name must be a str"):
        otx.StepParamScheduler(opt, 3, step_size=1)
    assert _snapshot(opt) == before


def _stepped(make, n=3):
    opt = _sgd()
    sched = make(opt)
    for _ in range(n):
        opt.step()
        sched.step()
    return opt, sched


MAKERS = [
    lambda opt: otx.MultiStepLR(opt, milestones=[1, 4], gamma=0.5),
    lambda opt: otx.CosineRestartLR(opt, periods=[2, 3], restart_weights=[1, 0.5], eta_min=0.0),
    lambda opt: otx.OneCycleLR(opt, eta_max=0.2, total_steps=10),
    lambda opt: otx.ReduceOnPlateauLR(opt, patience=0),
]


@pytest.mark.parametrize("make", MAKERS)
def test_state_dict_is_a_snapshot(make):
    opt, sched = _stepped(make)
    state = sched.state_dict()
    frozen = copy.deepcopy(state)
    for value in state.values():  # vandalise what was handed out
        if isinstance(value, (list, dict)):
            value.clear()
    assert sched.state_dict() == frozen
    opt.step()
    sched.step()
    assert state.keys() == frozen.keys()


@pytest.mark.parametrize("make", MAKERS)
def test_load_state_dict_keeps_no_reference_to_the_callers_dict(make):
    _, sched = _stepped(make)
    state = sched.state_dict()
    frozen = copy.deepcopy(state)
    opt2 = _sgd()
    fresh = make(opt2)
    fresh.load_state_dict(state)
    for _ in range(3):
        opt2.step()
        fresh.step()
    assert state == frozen  # the caller's dict did not move with the scheduler
    after = fresh.state_dict()
    for value in state.values():  # nor does the scheduler move with the caller's dict
        if isinstance(value, (list, dict)):
            value.clear()
    assert fresh.state_dict() == after


@pytest.mark.parametrize(
    ("bad", "error"),
    [
        ({"last_step": 2, "nope": 1}, ValueError),
        ({"last_step": "3"}, TypeError),
        ({"by_epoch": "yes", "last_step": 4}, TypeError),
        ({"base_values": 0.5}, TypeError),
        (["last_step", 3], TypeError),
    ],
)
def test_failed_load_changes_nothing(bad, error):
    _, sched = _stepped(MAKERS[0])
    before = sched.state_dict()
    with pytest.raises(error):
        sched.load_state_dict(bad)
    assert sched.state_dict() == before


def _train(model, wrapper, sched, n):
    lrs = []
    for _ in range(n):
        wrapper.update_params(model(torch.ones(1, 2)).sum())
        sched.step()
        lrs.append(wrapper.get_lr()["lr"][0])
    return lrs


def _setup():
    torch.manual_seed(0)
    model = torch.nn.Linear(2, 1)
    wrapper = otx.OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9))
    sched = otx.StepLR(wrapper, step_size=1, gamma=0.5, by_epoch=False)
    _train(model, wrapper, sched, 2)
    return model, wrapper, sched


def test_deepcopy_steps_only_the_copy():
    model, wrapper, sched = _setup()
    weight, lr, count = model.weight.detach().clone(), wrapper.get_lr(), wrapper._global_step
    model2, wrapper2, sched2 = copy.deepcopy((model, wrapper, sched))
    assert sched2.optimizer is wrapper2 and wrapper2.step._owner_ref() is wrapper2
    copy_lrs = _train(model2, wrapper2, sched2, 3)
    assert torch.equal(model.weight, weight) and wrapper.get_lr() == lr and wrapper._global_step == count
    assert copy_lrs == _train(model, wrapper, sched, 3)  # the original, stepped now, follows the same path


@pytest.mark.parametrize("how", ["pickle", "torch.save"])
def test_wrapper_with_a_scheduler_round_trips(how):
    model, wrapper, sched = _setup()
    if how == "pickle":
        model2, wrapper2, sched2 = pickle.loads(pickle.dumps((model, wrapper, sched)))
    else:
        buffer = io.BytesIO()
        torch.save((model, wrapper, sched), buffer)
        buffer.seek(0)
        model2, wrapper2, sched2 = torch.load(buffer, weights_only=False)
    assert sched2.optimizer is wrapper2
    assert _train(model2, wrapper2, sched2, 3) == _train(model, wrapper, sched, 3)
    assert torch.equal(model2.weight, model.weight)


def test_scheduler_state_loads_with_weights_only():
    _, sched = _stepped(MAKERS[0])
    buffer = io.BytesIO()
    torch.save(sched.state_dict(), buffer)
    buffer.seek(0)
    assert torch.load(buffer, weights_only=True) == sched.state_dict()
