"""The class test of the validation layer: every registered factory refuses hostile arguments.

Walks ``TRANSFORMS``, ``SCHEDULES``, ``PARAM_SCHEDULERS`` and ``OPTIM_WRAPPERS`` as registered at
run time (rules merged later are covered without editing this file). For each factory and each
numeric or flag argument in its signature, every value of ``sweep_cases.hostile_values`` must raise
``TypeError``/``ValueError`` naming the argument, unless ``sweep_cases.ALLOWED`` says why it is fine.
"""

from __future__ import annotations

import inspect
from typing import Any

import pytest
import torch

import optimtx as otx
from optimtx.registry import OPTIM_WRAPPERS, PARAM_SCHEDULERS, SCHEDULES, TRANSFORMS
from tests.reliability.sweep_cases import KNOWN_GAPS, NOT_BUILT_YET, allowed, hostile_values, kind_of
from tests.transform_table import TABLE

_TABLE_KWARGS = {case.name: case.kwargs for case in TABLE if case.factory is TRANSFORMS.get(case.name)}


def _optimizer() -> torch.optim.Optimizer:
    return torch.optim.SGD([torch.nn.Parameter(torch.ones(2))], lr=0.1, momentum=0.9)


# Valid values for required arguments, by name (any registry).
_REQUIRED: dict[str, Any] = {
    "inner": lambda: otx.identity(),
    "every_k": 2,
    "max_norm": 1.0,
    "clip_value": 1.0,
    "decay": 0.9,
    "clipping": 0.1,
    "sync_period": 2,
    "slow_step_size": 0.5,
    "threshold": 3.0,
    "window": 4,
    "factor": 0.5,
    "lr": 0.1,
    "weight_decay": 0.1,
    "momentum": 0.9,
    "value": 0.1,
    "init_value": 1.0,
    "end_value": 0.0,
    "peak_value": 1.0,
    "transition_steps": 3,
    "decay_steps": 3,
    "warmup_steps": 1,
    "decay_rate": 0.5,
    "power": 2.0,
    "optimizer": _optimizer,  # called afresh for each build
    "param_name": "lr",
    "gamma": 0.5,
    "periods": [4],
    "milestones": [2],
    "step_size": 2,
}

# Factories the sweep cannot build from names alone, with the kwargs that build them.
_SPECIAL: dict[str, dict[str, Any]] = {
    "join": {"schedules": [otx.schedules.constant(1.0), otx.schedules.constant(0.5)], "boundaries": [2]},
    "masked": {"mask": {}},
    "multi_transform": {"transforms": {"a": otx.identity()}, "labels": "a"},
    "multistep": {"milestones": [2]},
    "piecewise_interpolate": {"interpolate_type": "linear", "init_value": 1.0},
    "measure_with_ema": {"measure": lambda updates: {}, "decay": 0.9},
    # one of eta_min / eta_min_ratio is required
    **{f"CosineRestart{kind}": {"eta_min": 0.0} for kind in ("ParamScheduler", "LR", "Momentum")},
}


def _valid_kwargs(name: str, factory: Any) -> dict[str, Any]:
    kwargs = dict(_TABLE_KWARGS.get(name, {}))
    if name in OPTIM_WRAPPERS.module_dict:
        kwargs["optimizer"] = _optimizer  # taken through **kwargs by subclasses
    kwargs.update(_SPECIAL.get(name, {}))
    for param in inspect.signature(factory).parameters.values():
        if param.name in kwargs or param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        if param.default is inspect.Parameter.empty:
            if param.name not in _REQUIRED:
                return {}  # not buildable by name: listed by test_every_factory_is_swept
            value = _REQUIRED[param.name]
            kwargs[param.name] = value() if callable(value) else value
    return kwargs


def _factories() -> list[tuple[str, str, Any]]:
    out = []
    for registry in (TRANSFORMS, SCHEDULES, PARAM_SCHEDULERS, OPTIM_WRAPPERS):
        for name, factory in registry.module_dict.items():
            out.append((registry.name, name, factory))
    return out


def _fresh(value: Any) -> Any:
    return value() if value is _optimizer else value


def _swept_params(factory: Any) -> list[inspect.Parameter]:
    params = inspect.signature(factory).parameters.values()
    named = [p for p in params if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    return [p for p in named if p.name not in {"optimizer", "inner", "verbose"} and kind_of(p) is not None]


def _buildable(name: str, factory: Any) -> bool:
    try:
        factory(**{k: _fresh(v) for k, v in _valid_kwargs(name, factory).items()})
    except (TypeError, ValueError):
        return False
    return True


def _cases() -> list[tuple[str, Any, str, list[Any]]]:
    cases = []
    for _, name, factory in _factories():
        if not _swept_params(factory) or not _buildable(name, factory):
            continue
        kwargs = _valid_kwargs(name, factory)
        for param in _swept_params(factory):
            valid = kwargs.get(param.name, param.default)
            bad = [b for b in hostile_values(param, valid) if not allowed(name, param.name, b)]
            if bad:
                cases.append((name, factory, param.name, bad))
    return cases


CASES = _cases()


def test_every_factory_with_a_number_or_flag_is_swept():
    """A factory with numeric or flag arguments that the sweep cannot build is a gap: give its kwargs."""
    swept = {name for name, *_ in CASES}
    missing = sorted(
        name for _, name, f in _factories() if _swept_params(f) and name not in swept and name not in NOT_BUILT_YET
    )
    assert not missing, f"not swept (add its required kwargs to _REQUIRED/_SPECIAL): {missing}"


def _param(case: tuple[str, Any, str, list[Any]]) -> Any:
    gap = KNOWN_GAPS.get((case[0], case[2]))
    marks = [pytest.mark.xfail(strict=True, reason=gap)] if gap else []
    return pytest.param(*case, id=f"{case[0]}-{case[2]}", marks=marks)


@pytest.mark.parametrize("name,factory,arg,bad_values", [_param(case) for case in CASES])
def test_hostile_arguments_are_refused_naming_them(name, factory, arg, bad_values):
    failures = []
    for bad in bad_values:
        kwargs = {k: _fresh(v) for k, v in _valid_kwargs(name, factory).items()}
        kwargs[arg] = bad
        try:
            factory(**kwargs)
        except (TypeError, ValueError) as error:
            if arg not in str(error):
                failures.append(f"{arg}={bad!r}: {type(error).__name__} without naming {arg!r}: {error}")
        except Exception as error:
            failures.append(f"{arg}={bad!r}: {type(error).__name__}: {error}")
        else:
            failures.append(f"{arg}={bad!r}: accepted")
    assert not failures, f"{name}: " + "; ".join(failures)


def test_sweep_is_wide():
    """The sweep covers hundreds of (factory, argument, value) triples, NaN for every number."""
    assert sum(len(bad) for *_, bad in CASES) > 1000
    assert len({name for name, *_ in CASES}) > 60


def _injected_cases() -> list[tuple[str, Any, str, list[Any]]]:
    """The numeric cases of factories that ``inject_hyperparams`` can wrap (values set after construction)."""
    return [case for case in CASES if case[0] in TRANSFORMS.module_dict and _injected_names(case[0], case[1])]


def _injected_state(name: str, factory: Any) -> Any:
    kwargs = {k: _fresh(v) for k, v in _valid_kwargs(name, factory).items()}
    return otx.inject_hyperparams(factory)(**kwargs).init({"w": torch.ones(3, 3), "b": torch.ones(3)})


def _injected_names(name: str, factory: Any) -> set[str]:
    try:
        return set(otx.get_hyperparams(_injected_state(name, factory)))
    except (TypeError, ValueError):
        return set()  # not injectable (no numeric hyperparameters, or several injected parts)


def test_set_hyperparams_refuses_what_construction_refuses():
    """Values set after construction follow the factory's rules: every hostile number the sweep feeds is refused."""
    failures = []
    for name, factory, arg, bad_values in _injected_cases():
        if arg not in _injected_names(name, factory):
            continue
        state = _injected_state(name, factory)
        for bad in bad_values:
            if isinstance(bad, str) or (isinstance(bad, tuple) and any(isinstance(v, str) for v in bad)):
                continue  # strings: refused as types by construction; set_hyperparams takes numbers only
            try:
                otx.set_hyperparams(state, **{arg: bad})
            except (TypeError, ValueError) as error:
                if arg not in str(error):
                    failures.append(f"{name}.{arg}={bad!r}: not named: {error}")
            else:
                failures.append(f"{name}.{arg}={bad!r}: accepted")
    assert not failures, "; ".join(failures)
