"""One definition per curve (issue 14): the ``*LR`` / ``*Momentum`` classes are generated from the
``*ParamScheduler`` ones, yet keep MMEngine's names, positional order, defaults and introspection."""

from __future__ import annotations

import inspect
import pickle

import pytest
import torch

import optimtx.optim as ours
from optimtx.param_scheduler import SCHEDULER_CLASSES, LRSchedulerMixin, MomentumSchedulerMixin

mm = pytest.importorskip("mmengine.optim.scheduler")

GENERATED = [cls for cls in SCHEDULER_CLASSES if not cls.__name__.endswith("ParamScheduler")]


def _params(cls):
    return [
        (p.name, p.kind, p.default)
        for p in inspect.signature(cls).parameters.values()
        if p.name != "count_skipped_steps"  # optimtx's one addition, keyword-only, last
    ]


def _mm_params(cls):
    """MMEngine's own LR/Momentum classes show ``(optimizer, *args, **kwargs)``: compare with the curve's."""
    for suffix in ("LR", "Momentum"):
        if cls.__name__.endswith(suffix):
            curve = _params(getattr(mm, cls.__name__.removesuffix(suffix) + "ParamScheduler"))
            return [p for p in curve if p[0] != "param_name"]
    return _params(getattr(mm, cls.__name__))


@pytest.mark.parametrize("cls", SCHEDULER_CLASSES, ids=lambda c: c.__name__)
def test_signature_is_mmengines(cls):
    assert _params(cls) == _mm_params(cls)
    last = list(inspect.signature(cls).parameters.values())[-1]
    assert (last.name, last.kind, last.default) == ("count_skipped_steps", inspect.Parameter.KEYWORD_ONLY, False)


@pytest.mark.parametrize("cls", GENERATED, ids=lambda c: c.__name__)
def test_generated_class_is_a_real_subclass_with_a_derived_docstring(cls):
    suffix = "LR" if cls.__name__.endswith("LR") else "Momentum"
    base_name = cls.__name__.removesuffix(suffix) + "ParamScheduler"
    base = getattr(ours, base_name)
    mixin = LRSchedulerMixin if suffix == "LR" else MomentumSchedulerMixin
    assert cls.__mro__[1:3] == (mixin, base)
    assert cls.__module__ in ("optimtx.param_scheduler.lr", "optimtx.param_scheduler.momentum")
    assert pickle.loads(pickle.dumps(cls)) is cls
    assert f"Generated from `{base_name}`" in cls.__doc__
    assert "param_name:" not in cls.__doc__ and ">>>" in cls.__doc__
    assert f"{cls.__name__}(opt, " in cls.__doc__


def test_positional_arguments_keep_mmengines_order():
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0, momentum=0.5)
    sched = ours.MultiStepMomentum(opt, [2, 3], 0.5, -1, 1, 9, False, False)  # last_step before begin
    assert (sched.milestones, sched.gamma, sched.begin, sched.end, sched.by_epoch) == ({2: 1, 3: 1}, 0.5, 1, 9, False)
    with pytest.raises(TypeError):
        ours.StepLR(opt, 2, 0.1, 0, 10, -1, True, False, True)  # count_skipped_steps is keyword-only
