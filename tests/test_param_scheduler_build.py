"""Runner-style scheduler building (issue 16): MMEngine configs, ``convert_to_iter_based``, ``epoch_length``.

Each real-style config list is built by optimtx's ``build_param_schedulers`` and by MMEngine's
``PARAM_SCHEDULERS`` (as its Runner does) and stepped the Runner's way: iteration-based
schedulers after every iteration, epoch-based ones after every epoch. The learning rates and
momentums of every group (and of the wrapper's base settings) must agree at every iteration.
"""

from __future__ import annotations

import copy
import warnings

import pytest
import torch

import optimtx as otx
from optimtx.config.registries import PARAM_SCHEDULERS

mm_optim = pytest.importorskip("mmengine.optim")
mm_registry = pytest.importorskip("mmengine.registry")

EPOCHS, EPOCH_LENGTH = 6, 5

WARMUP = dict(type="LinearLR", start_factor=0.001, by_epoch=False, begin=0, end=7)
CONFIGS = {
    "warmup_then_cosine_by_epoch": [
        WARMUP,
        dict(
            type="CosineAnnealingLR", eta_min=1e-5, begin=1, end=6, T_max=5, by_epoch=True, convert_to_iter_based=True
        ),
    ],
    "warmup_then_multistep_per_epoch": [
        dict(type="LinearLR", start_factor=0.1, by_epoch=False, begin=0, end=4),
        dict(type="MultiStepLR", milestones=[3, 5], gamma=0.1, by_epoch=True, begin=0, end=6),
    ],
    "multistep_converted": [dict(type="MultiStepLR", milestones=[2, 4], gamma=0.5, end=6, convert_to_iter_based=True)],
    "warmup_then_poly": [
        WARMUP,
        dict(type="PolyLR", eta_min=1e-4, power=0.9, begin=0, end=6, by_epoch=True, convert_to_iter_based=True),
    ],
    "restarts": [
        dict(
            type="CosineRestartLR",
            periods=[2, 4],
            restart_weights=[1, 0.5],
            eta_min=1e-5,
            end=6,
            convert_to_iter_based=True,
        ),
    ],
    "one_cycle": [dict(type="OneCycleLR", eta_max=0.2, end=6, convert_to_iter_based=True, pct_start=0.25)],
    "step_and_momentum": [
        dict(type="StepLR", step_size=2, gamma=0.5, end=6, convert_to_iter_based=True),
        dict(type="CosineAnnealingMomentum", eta_min=0.5, begin=0, end=6, convert_to_iter_based=True),
    ],
    "constant_exponential_eta_min_ratio": [
        dict(type="ConstantLR", factor=0.5, begin=0, end=2, convert_to_iter_based=True),
        dict(type="ExponentialLR", gamma=0.95, begin=2, end=6, convert_to_iter_based=True),
        dict(type="CosineAnnealingLR", eta_min_ratio=0.1, begin=0, end=30, by_epoch=False),
    ],
}


def _pair():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Linear(2, 1))
    groups = lambda: [  # noqa: E731
        {"params": list(model[0].parameters())},
        {"params": list(model[1].parameters()), "lr": 0.01, "momentum": 0.8},
    ]
    ours = otx.OptimWrapper(torch.optim.SGD(groups(), lr=0.1, momentum=0.9))
    theirs = mm_optim.OptimWrapper(torch.optim.SGD(groups(), lr=0.1, momentum=0.9))
    for p in model.parameters():
        p.grad = torch.zeros_like(p)
    return ours, theirs


def _mm_build(wrapper, cfgs, epoch_length):
    return [
        mm_registry.PARAM_SCHEDULERS.build(
            copy.deepcopy(cfg), default_args=dict(optimizer=wrapper, epoch_length=epoch_length)
        )
        for cfg in cfgs
    ]


def _run(wrapper, schedulers):
    """Runner order: optimizer step, iteration schedulers; epoch schedulers at the end of each epoch."""
    trace = []
    for _ in range(EPOCHS):
        for _ in range(EPOCH_LENGTH):
            wrapper.step()
            for s in schedulers:
                if not s.by_epoch:
                    s.step()
            trace.append((wrapper.get_lr(), wrapper.get_momentum()))
        for s in schedulers:
            if s.by_epoch:
                s.step()
    return trace


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_runner_style_configs_match_mmengine(name):
    cfgs = CONFIGS[name]
    ours, theirs = _pair()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mine = otx.build_param_schedulers(ours, cfgs, epoch_length=EPOCH_LENGTH)
        reference = _mm_build(theirs, cfgs, EPOCH_LENGTH)
        assert [type(s).__name__ for s in mine] == [type(s).__name__ for s in reference]
        for a, b in zip(mine, reference, strict=True):
            assert (a.begin, a.end, a.by_epoch) == (b.begin, b.end, b.by_epoch)
        got, want = _run(ours, mine), _run(theirs, reference)
    for step, ((lr, mom), (lr_ref, mom_ref)) in enumerate(zip(got, want, strict=True)):
        assert lr.keys() == lr_ref.keys()
        for key in lr:
            assert lr[key] == pytest.approx(lr_ref[key], rel=1e-9, abs=1e-15), (step, key)
        assert mom["momentum"] == pytest.approx(mom_ref["momentum"], rel=1e-9), step


def test_registry_build_takes_runner_default_args():
    """The Runner always passes epoch_length; without convert_to_iter_based it is dropped."""
    ours, _ = _pair()
    sched = PARAM_SCHEDULERS.build(
        dict(type="CosineAnnealingLR", T_max=3, by_epoch=True), default_args=dict(optimizer=ours, epoch_length=7)
    )
    assert (sched.T_max, sched.by_epoch) == (3, True)
    converted = PARAM_SCHEDULERS.build(
        dict(type="LinearLR", end=2, convert_to_iter_based=True), default_args=dict(optimizer=ours, epoch_length=7)
    )
    assert (converted.end, converted.by_epoch, converted.total_iters) == (14, False, 13)


def test_scope_key_is_ignored_as_mmengine_scopes_are_one_here():
    ours, _ = _pair()
    sched = PARAM_SCHEDULERS.build(
        dict(type="StepLR", step_size=2, _scope_="mmengine"), default_args=dict(optimizer=ours)
    )
    assert isinstance(sched, otx.StepLR)


def test_cfg_epoch_length_wins_over_default_args():
    ours, _ = _pair()
    cfg = dict(type="StepLR", step_size=2, convert_to_iter_based=True, epoch_length=3)
    sched = PARAM_SCHEDULERS.build(cfg, default_args=dict(optimizer=ours, epoch_length=100))
    assert sched.step_size == 6
    assert cfg == dict(type="StepLR", step_size=2, convert_to_iter_based=True, epoch_length=3)  # not mutated


def test_default_end_from_max_epochs_and_max_iters():
    ours, _ = _pair()
    cfgs = [dict(type="LinearLR", by_epoch=False), dict(type="StepLR", step_size=1, convert_to_iter_based=True)]
    built = otx.build_param_schedulers(ours, cfgs, epoch_length=4, max_epochs=3, max_iters=12)
    assert [(s.begin, s.end, s.by_epoch) for s in built] == [(0, 12, False), (0, 12, False)]
    assert built[1].step_size == 4


def test_built_schedulers_are_kept_and_a_single_config_is_a_list():
    ours, _ = _pair()
    existing = otx.ConstantLR(ours, factor=0.5)
    built = otx.build_param_schedulers(ours, [existing, dict(type="StepLR", step_size=2)])
    assert built[0] is existing and isinstance(built[1], otx.StepLR)
    single = otx.build_param_schedulers(ours, dict(type="ExponentialLR", gamma=0.9))
    assert isinstance(single, list) and isinstance(single[0], otx.ExponentialLR)


def _gan():
    torch.manual_seed(0)
    g, d = torch.nn.Linear(2, 2), torch.nn.Linear(2, 1)
    return otx.OptimWrapperDict(
        generator=otx.OptimWrapper(torch.optim.Adam(g.parameters(), lr=1e-3)),
        discriminator=otx.OptimWrapper(torch.optim.SGD(d.parameters(), lr=0.1, momentum=0.9)),
    )


def test_wrapper_dict_with_one_list_for_every_wrapper():
    wrappers = _gan()
    built = otx.build_param_schedulers(
        wrappers, [dict(type="MultiStepLR", milestones=[1], convert_to_iter_based=True)], 10
    )
    assert list(built) == ["generator", "discriminator"]
    assert built["generator"][0] is not built["discriminator"][0]
    assert built["generator"][0].optimizer is wrappers["generator"]
    assert built["discriminator"][0].milestones == {10: 1}


def test_wrapper_dict_with_a_dict_of_lists():
    wrappers = _gan()
    cfgs = {"generator": [dict(type="LinearLR", end=3)], "discriminator": dict(type="StepLR", step_size=1)}
    built = otx.build_param_schedulers(wrappers, cfgs)
    assert isinstance(built["generator"][0], otx.LinearLR) and isinstance(built["discriminator"][0], otx.StepLR)


@pytest.mark.parametrize(
    ("cfgs", "match"),
    [
        ({"generator": [], "disc": []}, r"unknown key\(s\) \['disc'\], missing \['discriminator'\]"),
        ({"generator": []}, r"missing \['discriminator'\]"),
    ],
)
def test_wrapper_dict_keys_must_match_wrapper_names(cfgs, match):
    wrappers = _gan()
    with pytest.raises(KeyError, match=match):
        otx.build_param_schedulers(wrappers, cfgs)


def _groups_snapshot(wrapper):
    return [dict(group) for group in wrapper.param_groups], dict(vars(wrapper))


@pytest.mark.parametrize(
    ("cfgs", "kwargs", "error", "match"),
    [
        ([dict(type="StepLR", step_size=1, convert_to_iter_based=True)], {}, ValueError, "no epoch_length"),
        ([dict(type="StepLR", step_size=1, convert_to_iter_based="yes")], {"epoch_length": 2}, TypeError, "'yes'"),
        ([dict(type="StepLR", step_size=1)], {"epoch_length": 0}, ValueError, "epoch_length: 0"),
        ([dict(type="StepLR", step_size=1)], {"epoch_length": "5"}, TypeError, "'5'"),
        ("StepLR", {}, TypeError, "'StepLR'"),
        ([dict(step_size=1)], {}, TypeError, "'type' key"),
        ([42], {}, TypeError, "42"),
        ([dict(type="Nope")], {}, KeyError, "Nope"),
        (
            [dict(type="StepLR", step_size=1, by_epoch=False, convert_to_iter_based=True)],
            {"epoch_length": 2},
            ValueError,
            "by_epoch=False",
        ),
        (
            [dict(type="MultiStepLR", milestones=["2"], convert_to_iter_based=True)],
            {"epoch_length": 2},
            TypeError,
            r"\['2'\]",
        ),
        # the first config builds, the second is refused: the optimizer must come back unchanged
        ([dict(type="LinearLR", end=3), dict(type="StepLR", step_size=1, gamma=float("nan"))], {}, ValueError, "nan"),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(cfgs, kwargs, error, match):
    ours, _ = _pair()
    before = _groups_snapshot(ours)
    original = copy.deepcopy(cfgs)
    with pytest.raises(error, match=match):
        otx.build_param_schedulers(ours, cfgs, **kwargs)
    assert _groups_snapshot(ours) == before
    assert cfgs == original  # the caller's configs are not modified
