"""The new update rules: optax's signatures, reachability from configs and TransformOptimizer, refusals."""

from __future__ import annotations

import gzip
import inspect
import json
import pathlib

import pytest
import torch

import optimtx as otx
import optimtx.optax as optax
import optimtx.optax.contrib as contrib
from optimtx.optax import _rules
from optimtx.optax.contrib import _complex_valued as _contrib_complex
from optimtx.optax.contrib import _muon as _contrib_muon
from optimtx.optax.contrib import _reduce_on_plateau as _contrib_plateau
from optimtx.optax.contrib import _rules as _contrib_rules
from optimtx.optax.contrib import _schedule_free as _contrib_schedule_free

CONTRIB_MODULES = (_contrib_rules, _contrib_schedule_free, _contrib_muon, _contrib_plateau, _contrib_complex)

with gzip.open(pathlib.Path(__file__).parent / "reference_data" / "optax_rules_reference.json.gz", "rt") as _f:
    SIGNATURES = json.load(_f)["signatures"]

NAMES = [("optax", n) for n in _rules.__all__] + [("contrib", n) for m in CONTRIB_MODULES for n in m.__all__]


def _same_default(ours, theirs) -> bool:
    if theirs == "<callable>":
        return callable(ours)
    if theirs == "<transform>":
        return isinstance(ours, otx.GradientTransformation)
    if isinstance(theirs, list):  # JSON turned optax's tuples into lists
        return isinstance(ours, tuple) and list(ours) == theirs
    return ours == theirs and type(ours) is type(theirs)


@pytest.mark.parametrize("namespace,name", NAMES, ids=[f"{ns}.{n}" for ns, n in NAMES])
def test_signature_is_optax_s(namespace, name):
    module = optax if namespace == "optax" else contrib
    ours, theirs = getattr(module, name), SIGNATURES[namespace][name]
    if "fields" in theirs:
        assert list(ours._fields) == theirs["fields"]
        return
    params = list(inspect.signature(ours).parameters.values())
    assert [p.name for p in params] == [p["name"] for p in theirs["parameters"]]
    assert [p.kind.name for p in params] == [p["kind"] for p in theirs["parameters"]]
    for p, t in zip(params, theirs["parameters"], strict=True):
        assert (p.default is not p.empty) == t["has_default"], p.name
        if t["has_default"]:
            assert _same_default(p.default, t["default"]), (p.name, p.default, t["default"])


def test_every_exported_name_has_a_stored_signature():
    assert set(_rules.__all__) <= set(SIGNATURES["optax"])
    for module in CONTRIB_MODULES:
        assert set(module.__all__) <= set(SIGNATURES["contrib"]), module.__name__


def _model() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1))


@pytest.mark.parametrize(
    "cfg",
    [dict(type="adabelief", lr=1e-2), dict(type="adan", lr=1e-2, weight_decay=0.01), dict(type="prodigy")],
    ids=lambda c: c["type"],
)
def test_rules_build_from_configs_and_train_in_transform_optimizer(cfg):
    model = _model()
    optimizer = otx.TransformOptimizer(model.parameters(), otx.TRANSFORMS.build(cfg))
    x, y = torch.randn(32, 3), torch.randn(32, 1)
    losses = []
    for _ in range(30):
        optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]


def test_polyak_and_momo_refuse_a_missing_or_malformed_loss():
    p = {"w": torch.ones(2)}
    for tx in (otx.polyak_sgd(), otx.momo()):
        with pytest.raises(TypeError, match="value=loss"):
            tx.update({"w": torch.ones(2)}, tx.init(p), p)
        with pytest.raises(TypeError, match="0-d tensor"):
            tx.update({"w": torch.ones(2)}, tx.init(p), p, value=1.0)


def test_line_search_refuses_missing_extras_and_extras_value_fn_does_not_take():
    tx = otx.scale_by_backtracking_linesearch(max_backtracking_steps=3)
    p = {"w": torch.ones(2)}

    def loss(params):
        return (params["w"] ** 2).sum()

    with pytest.raises(TypeError, match="value_fn= is missing"):
        tx.update({"w": -p["w"]}, tx.init(p), p, value=loss(p), grad=p)
    with pytest.raises(TypeError, match=r"\['batch'\]"):
        tx.update({"w": -p["w"]}, tx.init(p), p, value=loss(p), grad=p, value_fn=loss, batch=1)


def test_line_search_passes_extras_value_fn_takes():
    tx = otx.scale_by_backtracking_linesearch(max_backtracking_steps=3)
    p = {"w": torch.ones(2)}
    seen = []

    def loss(params, batch):
        seen.append(batch)
        return (params["w"] ** 2).sum() * batch

    tx.update({"w": -p["w"]}, tx.init(p), p, value=loss(p, 2.0), grad={"w": 4 * p["w"]}, value_fn=loss, batch=2.0)
    assert set(seen) == {2.0}


def test_rules_needing_params_say_so():
    g = {"w": torch.ones(2)}
    for tx in (otx.prodigy(), otx.scale_by_dog(), otx.scale_by_cocob(), otx.scale_by_lbfgs(), otx.madgrad()):
        with pytest.raises(ValueError, match="needs the current parameters"):
            tx.update(g, tx.init(g))


def test_sm3_accepts_0d_tensors_where_optax_raises():
    tx = otx.sm3(0.1, momentum=0.0)
    p = {"s": torch.tensor(1.0)}
    assert torch.equal(tx.update({"s": torch.tensor(-3.0)}, tx.init(p), p)[0]["s"], torch.tensor(0.1))


def test_adan_refuses_two_betas():
    with pytest.raises(ValueError, match="three decay rates"):
        otx.adan(betas=(0.9, 0.9))
