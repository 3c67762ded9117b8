"""Documented settings are accepted, undocumented ones refused clearly (issue 21, item 4).

Each class is checked where the issue found it and then across its kind: every ``clip_grad``
written in the docs and examples parses; every top-level config key of
``build_optim_wrapper``/``explain`` given a hostile value raises ``TypeError``/``ValueError``/``KeyError``
(never ``AttributeError``); every registered scheduler refuses a window it cannot use before any
arithmetic on it; no registry holds a private helper; ``register_module`` is all or nothing.
"""

from __future__ import annotations

import contextlib
import inspect
import math
import re
from pathlib import Path

import pytest
import torch

import optimtx as otx
from optimtx.optim import _ParamScheduler
from optimtx.registry import OPTIM_WRAPPER_CONSTRUCTORS, OPTIM_WRAPPERS, OPTIMIZERS, PARAM_SCHEDULERS, TRANSFORMS
from optimtx.wrapper.grad_clipping import parse_clip_grad

ROOT = Path(__file__).resolve().parents[2]
WRAPPERS = {
    "OptimWrapper": lambda opt, **kw: otx.OptimWrapper(opt, **kw),
    "AmpOptimWrapper": lambda opt, **kw: otx.AmpOptimWrapper(optimizer=opt, **kw),
}
OPTIMIZER_KINDS = {
    "SGD": lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9),
    "AdamW": lambda ps: torch.optim.AdamW(ps, lr=0.1),
    "TransformOptimizer": lambda ps: otx.TransformOptimizer(ps, dict(type="adamw", lr=0.1)),
}


def _documented_clip_grads() -> list[str]:
    """Every complete ``clip_grad=dict(...)`` literal in the docs, README and examples."""
    found = []
    for path in [*ROOT.glob("docs/*.md"), ROOT / "README.md", *ROOT.glob("examples/**/*.py")]:
        text = path.read_text()
        for match in re.finditer(r"clip_grad=dict\(", text):
            start, depth, i = match.end() - len("dict("), 1, match.end()
            while depth and i < len(text):
                depth += {"(": 1, ")": -1}.get(text[i], 0)
                i += 1
            literal = text[start:i]
            if "..." not in literal:
                found.append(literal)
    return sorted(set(found))


@pytest.mark.parametrize("literal", _documented_clip_grads())
def test_every_documented_clip_grad_is_accepted(literal):
    parse_clip_grad(eval(literal, {"__builtins__": {}}, {"dict": dict, "float": float}))


def test_the_documented_infinite_max_norm_is_among_them():
    assert any("inf" in literal for literal in _documented_clip_grads())


@pytest.mark.parametrize("kind", sorted(OPTIMIZER_KINDS))
@pytest.mark.parametrize("wrapper", sorted(WRAPPERS))
def test_max_norm_inf_logs_the_norm_and_never_clips(wrapper, kind):
    """Bitwise the same training as without clip_grad, with the gradient norm recorded."""
    torch.manual_seed(0)
    models = [torch.nn.Linear(3, 2), torch.nn.Linear(3, 2)]
    models[1].load_state_dict(models[0].state_dict())
    clipped = WRAPPERS[wrapper](OPTIMIZER_KINDS[kind](models[0].parameters()), clip_grad=dict(max_norm=math.inf))
    plain = WRAPPERS[wrapper](OPTIMIZER_KINDS[kind](models[1].parameters()))
    for step in range(3):
        x = torch.full((2, 3), 10.0 * (step + 1))
        clipped.update_params(models[0](x).square().sum())
        plain.update_params(models[1](x).square().sum())
        assert torch.isfinite(clipped.last_step.grad_norm) and clipped.last_step.grad_norm > 0
    for a, b in zip(models[0].parameters(), models[1].parameters(), strict=True):
        assert torch.equal(a, b)


def test_skip_only_spike_guard_with_infinite_max_norm_builds_from_a_config():
    model = torch.nn.Linear(3, 1)
    cfg = dict(
        optimizer=dict(type="SGD", lr=0.1),
        clip_grad=dict(max_norm=float("inf"), skip_spikes=dict(threshold=3.0, window=2)),
    )
    wrapper = otx.build_optim_wrapper(model, cfg)
    for scale in (1.0, 1.0, 1e4):
        wrapper.update_params(model(torch.full((2, 3), scale)).sum())
    assert not bool(wrapper.last_step.applied)


HOSTILE = [None, "SGD", 5, [1], True, dict(type=None)]


@pytest.mark.parametrize("bad", HOSTILE, ids=repr)
@pytest.mark.parametrize(
    "key", ["optimizer", "paramwise_cfg", "constructor", "type", "clip_grad", "accumulative_counts", "loss_scale"]
)
@pytest.mark.parametrize("entry", [otx.build_optim_wrapper, otx.explain], ids=lambda f: f.__name__)
def test_a_hostile_top_level_value_is_a_clear_error_in_build_and_explain(entry, key, bad):
    cfg = dict(optimizer=dict(type="SGD", lr=0.1))
    cfg[key] = bad
    # Refused with an error that says what is wrong, or a value that is valid for this key; never AttributeError.
    with contextlib.suppress(TypeError, ValueError, KeyError, NotImplementedError):
        entry(torch.nn.Linear(2, 1), cfg)


@pytest.mark.parametrize("bad", [None, "SGD", 5])
@pytest.mark.parametrize("entry", [otx.build_optim_wrapper, otx.explain], ids=lambda f: f.__name__)
def test_an_optimizer_that_is_not_a_config_dict_is_a_type_error(entry, bad):
    with pytest.raises(TypeError, match=r"optimizer must be a config dict such as dict\(type='SGD'"):
        entry(torch.nn.Linear(2, 1), dict(optimizer=bad))


def _scheduler_args(cls) -> dict:
    needed = {"milestones": [1], "step_size": 1, "gamma": 0.5, "eta_max": 1.0, "total_steps": 10, "periods": [5]}
    needed |= {"factor": 0.5, "power": 1.0, "eta_min": 0.0, "param_name": "lr"}
    params = inspect.signature(cls).parameters
    required = {k for k, p in params.items() if p.default is inspect.Parameter.empty}
    return {k: v for k, v in needed.items() if k in required or (k == "eta_min" and k in params)}


@pytest.mark.parametrize(
    "bad", [dict(end=None), dict(begin=None), dict(end="10"), dict(begin=-1), dict(end=0)], ids=str
)
@pytest.mark.parametrize("name", sorted(PARAM_SCHEDULERS.module_dict))
def test_every_scheduler_refuses_a_window_it_cannot_use_by_name(name, bad):
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1, momentum=0.9)
    cls = PARAM_SCHEDULERS.get(name)
    with pytest.raises((TypeError, ValueError), match=r"begin|end"):
        cls(opt, **_scheduler_args(cls), **bad)


def test_a_scheduler_that_overrides_step_only_works_as_in_mmengine():
    class Halving(_ParamScheduler):
        def step(self):
            for group in self.optimizer.param_groups:
                group[self.param_name] *= 0.5

    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    sched = Halving(opt, "lr")
    sched.step()
    assert opt.param_groups[0]["lr"] == 0.25  # once at construction (MMEngine's initial step), once here

    class Nothing(_ParamScheduler):
        pass

    with pytest.raises(NotImplementedError, match="Nothing does not define _get_value"):
        Nothing(opt, "lr")


@pytest.mark.parametrize(
    "registry", [TRANSFORMS, OPTIMIZERS, OPTIM_WRAPPERS, OPTIM_WRAPPER_CONSTRUCTORS, PARAM_SCHEDULERS]
)
def test_no_registry_holds_a_private_helper(registry):
    for name, obj in registry.module_dict.items():
        module = getattr(obj, "__module__", "") or ""
        assert not name.startswith("_"), name
        assert not any(part.startswith("_") for part in module.split(".") if module.startswith("optimtx")), name
    assert "fuse_adamw" not in TRANSFORMS


def test_register_module_with_several_names_is_all_or_nothing():
    reg = otx.Registry("demo")
    reg.register_module(name="taken", module=dict)
    with pytest.raises(KeyError, match="taken is already registered"):
        reg.register_module(name=["new", "taken"], module=list)
    assert sorted(reg.module_dict) == ["taken"] and reg.get("taken") is dict


@pytest.mark.parametrize("bad", [{"a": 3}, 5, None, "abc", [("a",)], {"a": [1.0]}], ids=repr)
def test_muon_labels_refuses_what_is_not_named_tensors(bad):
    with pytest.raises(TypeError, match="muon_labels"):
        otx.muon_labels(bad)
