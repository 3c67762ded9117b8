"""A param group's own values reach the update as torch's do, and follow the factories' rules.

Issue 21, items 1 and 8: state that torch builds from the group at the first step (Rprop's step
sizes, ASGD's eta, Adagrad's accumulator) must come from the group's values, not the
transform's construction values; group values must be range-checked like construction
arguments; settings a transform fixes at construction must not be silently ignored in a group.
Every optimizer with a torch twin runs through each law (tests/reliability/torch_twins.py).
"""

from __future__ import annotations

import inspect

import pytest
import torch

import optimtx as otx
from tests.reliability.facade_helpers import frozen, same
from tests.reliability.torch_twins import (
    GROUP_VALUES,
    TWINS,
    assert_same_params,
    default_dtype,
    gradients,
    run_pure,
    start,
    step_all,
)

F64 = torch.float64
NAMES = sorted(TWINS)


def _same_as_torch(name: str, groups: list[dict], cfg: dict, torch_kwargs: dict, before_first_step=None) -> None:
    """A TransformOptimizer and its torch twin, built from the same groups, stepped alike, give the same parameters.

    ``before_first_step(opt)`` runs on both optimizers after construction (as a scheduler would).
    """
    grads = gradients(name, 3, F64)
    with default_dtype(F64):
        ours = [torch.nn.Parameter(p) for p in start(name, F64)]
        theirs = [torch.nn.Parameter(p) for p in start(name, F64)]
        opt = otx.TransformOptimizer([{**g, "params": ours} for g in groups], dict(type=name, **cfg))
        ref = TWINS[name]([{**g, "params": theirs} for g in groups], **torch_kwargs)
        for o in (opt, ref):
            if before_first_step is not None:
                before_first_step(o)
        step_all(opt, ours, grads)
        step_all(ref, theirs, grads)
    assert_same_params(ours, theirs, F64)


def _torch_default(name: str, key: str):
    value = inspect.signature(TWINS[name]).parameters[key].default
    return tuple(float(v) for v in value) if isinstance(value, tuple) else float(value)


@pytest.mark.parametrize("name", NAMES)
def test_group_lr_unlike_the_construction_lr_is_what_the_update_uses(name):
    _same_as_torch(name, [{"lr": 0.01}], {"lr": 0.1}, {"lr": 0.1})


@pytest.mark.parametrize("name", NAMES)
def test_lr_written_before_the_first_step_counts(name):
    """A warm-up scheduler writes group['lr'] when it is built, before the first step."""

    def warm_up(opt):
        opt.param_groups[0]["lr"] = 0.003

    _same_as_torch(name, [{}], {"lr": 0.1}, {"lr": 0.1}, warm_up)


@pytest.mark.parametrize("name", NAMES)
def test_a_torch_warmup_built_before_the_first_step_counts(name):
    """torch's LinearLR scales group['lr'] when it is built; Rprop and ASGD must start from that lr."""
    _same_as_torch(
        name, [{}], {"lr": 0.1}, {"lr": 0.1}, lambda o: torch.optim.lr_scheduler.LinearLR(o, 0.1, total_iters=4)
    )


@pytest.mark.parametrize("name", NAMES)
def test_pure_set_hyperparams_before_the_first_update_counts(name):
    factory = getattr(otx, name)
    tx = otx.inject_hyperparams(factory)(lr=0.1)
    grads = gradients(name, 3, F64)
    tree = {str(i): p for i, p in enumerate(start(name, F64))}
    state = otx.set_hyperparams(tx.init(tree), lr=0.01)
    with default_dtype(F64):
        theirs = [torch.nn.Parameter(p) for p in start(name, F64)]
        step_all(TWINS[name](theirs, lr=0.01), theirs, grads)
    assert_same_params(run_pure(tx, start(name, F64), grads, state), theirs, F64)
    started = otx.init_with_hyperparams(tx, tree, lr=0.01)
    assert_same_params(run_pure(tx, start(name, F64), grads, started), theirs, F64)


@pytest.mark.parametrize("name", NAMES)
def test_every_float_setting_of_a_group_counts(name):
    """Each injectable setting in a group (not only lr) gives torch's result for that group's value."""
    values = GROUP_VALUES[name]
    cfg = {"lr": 0.05, **{k: _torch_default(name, k) for k in values}}
    _same_as_torch(name, [values], cfg, {"lr": 0.05})


def test_a_groups_initial_accumulator_value_is_used():
    """torch's Adagrad fills every group's accumulator with the constructor's value (a group's own value is
    silently ignored); optimtx starts each group from its own value, as torch does for a single group."""
    with default_dtype(F64):
        ours = [torch.nn.Parameter(p) for p in start("adagrad", F64)]
        opt = otx.TransformOptimizer(
            [{"params": ours, "initial_accumulator_value": 0.5}],
            dict(type="adagrad", lr=0.05, initial_accumulator_value=0.0),
        )
        theirs = [torch.nn.Parameter(p) for p in start("adagrad", F64)]
        ref = torch.optim.Adagrad(theirs, lr=0.05, initial_accumulator_value=0.5)
        grads = gradients("adagrad", 3, F64)
        step_all(opt, ours, grads)
        step_all(ref, theirs, grads)
    assert_same_params(ours, theirs, F64)


OUT_OF_RANGE = [
    ("adadelta", "rho", 1.1),
    ("adafactor", "d", 0.5),
    ("adafactor", "beta2_decay", 0.8),
    ("nadam", "momentum_decay", -0.2),
    ("rprop", "etas", (1.0, 0.5)),
    ("rprop", "step_sizes", (1.0, 0.5)),
    ("rmsprop", "alpha", 1.5),
    ("asgd", "alpha", -1.0),
    ("asgd", "lambd", -0.1),
    ("adam", "betas", (1.0, 0.5)),
    ("sgd", "momentum", -0.5),
]


def _cfg_with(name: str, key: str) -> dict:
    return {"lr": 0.05, key: _torch_default(name, key) if name in TWINS else 0.5}


@pytest.mark.parametrize(("name", "key", "bad"), OUT_OF_RANGE)
def test_a_group_value_out_of_range_is_refused_at_construction(name, key, bad):
    with pytest.raises(ValueError, match=f"Param group 0: Invalid {key}"):
        otx.TransformOptimizer([{"params": start(name, F64), key: bad}], dict(type=name, **_cfg_with(name, key)))
    with pytest.raises(ValueError, match=f"Invalid {key}"):
        getattr(otx, name)(**{key: bad})  # the factory's own rule, which the group follows


@pytest.mark.parametrize(("name", "key", "bad"), OUT_OF_RANGE)
def test_a_group_value_out_of_range_written_later_is_refused_before_anything_changes(name, key, bad):
    ps = [torch.nn.Parameter(p) for p in start(name, F64)]
    opt = otx.TransformOptimizer(ps, dict(type=name, **_cfg_with(name, key)))
    for p, g in zip(ps, gradients(name, 1, F64)[0], strict=True):
        p.grad = g
    before = frozen((ps, opt.state_dict()))
    opt.param_groups[0][key] = bad
    with pytest.raises(ValueError, match=f"Invalid {key}"):
        opt.step()
    opt.param_groups[0][key] = before[1]["param_groups"][0][key]
    assert same(frozen((ps, opt.state_dict())), before)


@pytest.mark.parametrize(("name", "key", "bad"), OUT_OF_RANGE)
def test_set_hyperparams_follows_the_factory_rule(name, key, bad):
    tx = otx.inject_hyperparams(getattr(otx, name))(**_cfg_with(name, key))
    state = tx.init({str(i): p for i, p in enumerate(start(name, F64))})
    with pytest.raises(ValueError, match=f"Invalid {key}"):
        otx.set_hyperparams(state, **{key: bad})


def test_a_rule_that_differs_by_optimizer_follows_that_optimizer():
    """ASGD's alpha may exceed 1 (RMSprop's may not); schedule-free's momentum must be > 0."""
    tree = {"w": torch.ones(2)}
    asgd = otx.inject_hyperparams(otx.asgd)(lr=0.1, alpha=0.75)
    otx.set_hyperparams(asgd.init(tree), alpha=2.0)
    rms = otx.inject_hyperparams(otx.rmsprop)(lr=0.1, alpha=0.9)
    with pytest.raises(ValueError, match="Invalid alpha"):
        otx.set_hyperparams(rms.init(tree), alpha=2.0)
    sf = otx.inject_hyperparams(otx.schedule_free_sgd)(lr=0.1, momentum=0.9)
    with pytest.raises(ValueError, match="Invalid momentum"):
        otx.set_hyperparams(sf.init(tree), momentum=0.0)


@pytest.mark.parametrize(
    ("name", "key", "value"),
    [
        ("sgd", "maximize", True),
        ("sgd", "nesterov", True),
        ("adam", "amsgrad", True),
        ("rmsprop", "centered", True),
        ("nadam", "decoupled_weight_decay", True),
        ("muon", "adjust_lr_fn", "match_rms_adamw"),
        ("muon", "adjust_lr_fn", "no such rule"),
        ("muon", "ns_steps", 3),
    ],
)
def test_a_setting_fixed_at_construction_in_a_group_is_refused(name, key, value):
    """torch reads these from the group at each step; a built transform would silently ignore them."""
    with pytest.raises(ValueError, match=f"Param group 0 sets {key}="):
        otx.TransformOptimizer([{"params": start(name, F64), key: value}], dict(type=name, lr=0.1))


def test_implementation_flags_in_a_group_are_accepted():
    opt = otx.TransformOptimizer([{"params": start("sgd", F64), "foreach": False}], dict(type="sgd", lr=0.1))
    assert opt.param_groups[0]["foreach"] is False


def test_muon_lr_reads_back_exactly():
    ps = [torch.nn.Parameter(p) for p in start("muon", F64)]
    opt = otx.TransformOptimizer(ps, dict(type="muon", lr=1 / 3))
    assert opt.param_groups[0]["lr"] == 1 / 3
    assert otx.get_hyperparams(opt.transform_states[0])["lr"].item() == 1 / 3


@pytest.mark.parametrize("betas", [(0.9, torch.tensor(0.99)), (torch.tensor(0.9), 0.99)])
def test_mixed_number_and_tensor_betas_are_refused_like_torch(betas):
    with pytest.raises(ValueError, match="all numbers or all 0-d tensors"):
        otx.adam(lr=0.1, betas=betas)
    state = otx.inject_hyperparams(otx.adam)(lr=0.1, betas=(0.9, 0.999)).init({"w": torch.ones(1)})
    with pytest.raises(ValueError, match="all numbers or all 0-d tensors"):
        otx.set_hyperparams(state, betas=betas)
