"""Parity with optax (and the schedulefree reference) through stored trajectories.

The values come from tests/reference_data/make_optax_reference.py (JAX in float64 on the
CPU, optax, schedulefree); CI does not install JAX, so the file is committed. Each case
replays the same gradients through the optimtx transform and compares the parameters
after every step, plus the observables each case stores.
"""

from __future__ import annotations

import pathlib

import pytest
import torch

import optimtx as otx

DATA = torch.load(pathlib.Path(__file__).parent / "reference_data" / "optax_reference.pt", weights_only=True)
CASES = DATA["cases"]
SCHEDULES = {"linear": otx.schedules.linear, "cosine_decay": otx.schedules.cosine_decay}


def _hyper(value):
    if isinstance(value, (tuple, list)) and value and value[0] in SCHEDULES:
        return SCHEDULES[value[0]](*value[1:])
    return value


def _build(case) -> otx.GradientTransformation:
    kwargs = {k: _hyper(v) for k, v in case["kwargs"].items()}
    if case["factory"] == "lookahead":
        name, inner_kwargs = kwargs.pop("inner")
        return otx.lookahead(getattr(otx, name)(**inner_kwargs), **kwargs)
    if case["factory"] == "chain_sgd":
        name, first_kwargs = kwargs["first"]
        return otx.chain(getattr(otx, name)(**first_kwargs), otx.sgd(0.1))
    return getattr(otx, case["factory"])(**kwargs)


def _observe(case, state, params):
    if case["factory"] == "lookahead":
        return otx.get_slow_params(state)
    if case["factory"].startswith("schedule_free"):
        return otx.schedule_free_eval_params(state, params)
    if case["name"] == "zero_nans":
        return state[0].found_nan
    return None


def _assert_trees_close(got, want, step, what, rtol=1e-9):
    assert sorted(got) == sorted(want)  # JAX returns dicts with sorted keys
    for k in want:
        torch.testing.assert_close(
            got[k], want[k], rtol=rtol, atol=rtol * 1e-3, msg=lambda m, k=k: f"{what}[{k!r}] at step {step}: {m}"
        )


def _rtol(case) -> float:
    """optimtx's schedules compute in float32, the reference in float64: their rounding shows."""
    scheduled = any(_hyper(v) is not v for v in case["kwargs"].values())
    return 1e-6 if scheduled else 1e-9


def test_reference_file_covers_every_transform():
    names = {c["factory"] for c in CASES} | {c["kwargs"].get("first", ("",))[0] for c in CASES}
    assert {"lamb", "lars", "lookahead", "schedule_free_adamw", "schedule_free_sgd"} <= names
    assert {"adaptive_grad_clip", "zero_nans", "centralize"} <= names
    assert any(c["source"].startswith("schedulefree") for c in CASES)


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_trajectory_matches_reference(case):
    tx = _build(case)
    params = {k: v.clone() for k, v in case["params"].items()}
    state = tx.init(params)
    for step, grads in enumerate(case["grads"]):
        updates, state = tx.update(grads, state, params)
        params = otx.apply_updates(params, updates)
        _assert_trees_close(params, case["expected"][step], step, "params", _rtol(case))
        if case["observed"]:
            _assert_trees_close(_observe(case, state, params), case["observed"][step], step, "observed", _rtol(case))


@pytest.mark.parametrize("case", [c for c in CASES if c["factory"] in ("lamb", "lars")], ids=lambda c: c["name"])
def test_float32_trajectory_stays_close(case):
    """The same runs in float32 stay within float32 rounding of the float64 reference."""
    tx = _build(case)
    params = {k: v.float() for k, v in case["params"].items()}
    state = tx.init(params)
    for step, grads in enumerate(case["grads"]):
        updates, state = tx.update({k: g.float() for k, g in grads.items()}, state, params)
        params = otx.apply_updates(params, updates)
        for k, want in case["expected"][step].items():
            torch.testing.assert_close(params[k].double(), want, rtol=1e-4, atol=1e-5)
