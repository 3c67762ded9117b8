"""optimtx.optax's new update rules replay optax's trajectories (float64) to rounding.

The values come from tests/reference_data/make_optax_rules_reference.py (optax on JAX, CPU,
float64); JAX is not a test dependency, so the file is committed. Each case builds the same
optax name with the same keyword arguments from ``optimtx.optax`` and compares the parameters
after every step.
"""

from __future__ import annotations

import gzip
import json
import pathlib

import pytest
import torch

import optimtx as otx
import optimtx.optax as optax
import optimtx.optax.contrib as contrib

from .reference_data.make_optax_rules_reference import dimension_numbers

with gzip.open(pathlib.Path(__file__).parent / "reference_data" / "optax_rules_reference.json.gz", "rt") as _f:
    CASES = json.load(_f)["cases"]


def _tensor(v) -> torch.Tensor:
    if isinstance(v, dict):  # {"complex": [real, imaginary]}
        re, im = (torch.tensor(x, dtype=torch.float64) for x in v["complex"])
        return torch.complex(re, im)
    return torch.tensor(v, dtype=torch.float64)


def _tree(listed: dict) -> dict[str, torch.Tensor]:
    return {k: _tensor(v) for k, v in listed.items()}


def _quadratic(case):
    c, t = _tree(case["curvature"]), _tree(case["target"])

    def loss(p):
        return sum((0.5 * c[k] * (p[k] - t[k]) ** 2 + 0.25 * (p[k] - t[k]) ** 4).sum() for k in p)

    def grad(p):
        return {k: c[k] * (p[k] - t[k]) + (p[k] - t[k]) ** 3 for k in p}

    return loss, grad


def _extras(case, params, loss, grads):
    extras = {"value": loss(params), "grad": grads, "value_fn": loss, "obj_fn": loss}
    return {k: extras[k] for k in case["extras"]}


def _optimizer(spec, module=optax):
    """An optimizer from its spec: ``[name, kwargs]``, ``["contrib.name", kwargs]`` or ``["chain", [specs]]``."""
    name, inner = spec
    if name == "chain":
        return otx.chain(*(_optimizer(s, module) for s in inner))
    if name.startswith("contrib."):
        return getattr(contrib, name[len("contrib.") :])(**inner)
    return getattr(module, name)(**inner)


def _kwargs(kwargs: dict, module=optax) -> dict:
    """Keyword arguments; optimizer arguments (specs, see ``_optimizer``) are built from ``module``'s names."""
    kwargs = dict(kwargs)
    for key in ("inner", "base_optimizer", "optimizer", "adv_optimizer", "linesearch", "hessian_diagonal_fn"):
        if kwargs.get(key):
            kwargs[key] = _optimizer(kwargs[key], module)
    for key in ("weight_dimension_numbers", "muon_weight_dimension_numbers"):
        if key in kwargs:
            kwargs[key] = dimension_numbers(kwargs[key], contrib.MuonDimensionNumbers)
    return kwargs


def _build(case) -> otx.GradientTransformation:
    """The case's transform: its optax name from ``optimtx.optax``, or the torch-style factory the case names
    (for optax aliases whose optax defaults optimtx does not offer, e.g. ``lbfgs``'s zoom line search)."""
    if case.get("torch"):
        name, kwargs = case["torch"]
        return getattr(otx, name)(**_kwargs(kwargs, otx))
    module = optax if case["namespace"] == "optax" else contrib
    return getattr(module, case["factory"])(**_kwargs(case["kwargs"]))


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_trajectory_matches_optax(case):
    tx = _build(case)
    params = _tree(case["params"])
    loss, grad = _quadratic(case)
    state = tx.init(params)
    for step, want in enumerate(case["expected"]):
        grads = _tree(case["grads"][step]) if case["source"] == "grads" else grad(params)
        updates, state = tx.update(grads, state, params, **_extras(case, params, loss, grads))
        for k, v in _tree(case["updates"][step]).items():  # the steps themselves, not only their sums
            torch.testing.assert_close(
                updates[k],
                v,
                rtol=1e-9,
                atol=1e-14,
                equal_nan=True,
                msg=lambda m, k=k, s=step: f"update {k!r} at step {s}: {m}",
            )
        params = otx.apply_updates(params, updates)
        for k, v in _tree(want).items():
            torch.testing.assert_close(
                params[k],
                v,
                rtol=1e-9,
                atol=1e-12,
                equal_nan=True,
                msg=lambda m, k=k, s=step: f"{k!r} at step {s}: {m}",
            )


def test_reference_covers_every_new_rule():
    """Every optax name exposed by the new-rules module has at least one stored trajectory (or is a helper)."""
    from optimtx.optax import _rules
    from optimtx.optax.contrib import _complex_valued, _muon, _reduce_on_plateau, _schedule_free
    from optimtx.optax.contrib import _rules as _contrib_rules

    modules = (("optax", _rules), ("contrib", _contrib_rules), ("contrib", _schedule_free), ("contrib", _muon))
    modules += (("contrib", _reduce_on_plateau), ("contrib", _complex_valued))
    for namespace, rules in modules:
        covered = {c["factory"] for c in CASES if c["namespace"] == namespace and not c.get("torch")}
        assert set(rules.__all__) - covered <= set(rules.NOT_TRAJECTORIES), namespace
