"""SOAP, Shampoo, PSGD-Kron and MARS equal their reference implementations, step by step.

The trajectories come from tests/reference_data/make_frontier_reference.py (``pytorch_optimizer`` in float64;
see that script for which implementation each optimizer is compared with and how to regenerate the file).
"""

from __future__ import annotations

import pathlib

import pytest
import torch

import optimtx as otx
from optimtx.transforms import mars, psgd, shampoo, soap

DATA = torch.load(pathlib.Path(__file__).parent / "reference_data" / "frontier_reference.pt", weights_only=True)
FACTORIES = {"mars": mars.mars, "soap": soap.soap, "shampoo": shampoo.shampoo, "psgd_kron": psgd.psgd_kron}
# float64 on both sides: only the order of operations differs. Matrix roots and eigenbases amplify it
# (an inverse fourth root of a matrix whose smallest eigenvalue is ~1e-6), hence the looser bound for them.
TOL = {"mars": 1e-10, "soap": 1e-8, "shampoo": 1e-8, "psgd_kron": 1e-7}


def _kwargs(case: dict) -> dict:
    kwargs = dict(case["kwargs"])
    for key in ("precond_dtype",):
        if isinstance(kwargs.get(key), str):
            kwargs[key] = getattr(torch, kwargs[key])
    return kwargs


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Small eigh/QR calls run ~15x slower with 2 OpenMP threads on a loaded 2-core machine; numerics are
    the same with one."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.mark.parametrize("name", sorted(DATA))
def test_trajectory_matches_reference(name):
    case = DATA[name]
    tx = FACTORIES[case["factory"]](**_kwargs(case))
    params = dict(case["params"])
    state = tx.init(params)
    steps = next(iter(case["grads"].values())).shape[0]
    for step in range(steps):
        grads = {k: g[step] for k, g in case["grads"].items()}
        updates, state = tx.update(grads, state, params)
        params = otx.apply_updates(params, updates)
        for k, p in params.items():
            want = case["trajectory"][k][step]
            tol = TOL[case["factory"]]
            where = f"{name} {k} step {step}"
            torch.testing.assert_close(p, want, rtol=tol, atol=tol, equal_nan=True, msg=lambda m, w=where: f"{w}: {m}")


def test_reference_file_covers_every_preconditioner():
    assert {case["factory"] for case in DATA.values()} == set(FACTORIES)
    nan_cases = [c for name, c in DATA.items() if name.endswith("_nan")]
    assert {c["factory"] for c in nan_cases} == {"mars", "psgd_kron"}
    assert all(any(not torch.isfinite(g).all() for g in c["grads"].values()) for c in nan_cases)
