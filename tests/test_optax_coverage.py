"""optimtx.optax against optax's public API, without JAX: the stored names and signatures.

tests/reference_data/make_optax_api.py stores optax's names and signatures (optax_api.json) and the
names alone (optimtx/optax/_optax_names.py, which the coverage table reads).
"""

from __future__ import annotations

import importlib
import inspect
import json
import pathlib

import pytest

from optimtx.optax import _coverage
from optimtx.optax._optax_names import OPTAX_NAMES, OPTAX_VERSION

API = json.loads((pathlib.Path(__file__).parent / "reference_data" / "optax_api.json").read_text())
MODULES = API["modules"]


def test_the_name_list_matches_the_stored_api():
    assert API["optax"] == OPTAX_VERSION
    assert {m: tuple(names) for m, names in MODULES.items()} == OPTAX_NAMES


def test_every_optax_name_is_present_or_has_a_reason():
    rows = _coverage.coverage()
    assert len(rows) == sum(len(v) for v in OPTAX_NAMES.values())
    unexplained = [(r.module, r.name) for r in rows if not r.present and r.reason == "no reason recorded"]
    assert unexplained == []


@pytest.mark.parametrize("module", sorted(_coverage.NAMESPACES))
def test_the_namespace_exports_only_optax_names(module):
    assert _coverage.exported(module) - set(OPTAX_NAMES[module]) == set()


@pytest.mark.parametrize("module", sorted(_coverage.NAMESPACES))
def test_every_exported_name_resolves(module):
    namespace = importlib.import_module(_coverage.NAMESPACES[module])
    for name in _coverage.exported(module):
        assert getattr(namespace, name) is not None


def test_names_that_cannot_mean_anything_in_torch_are_not_exported():
    exported = {f"{m}:{n}" for m in _coverage.NAMESPACES for n in _coverage.exported(m)}
    assert exported & _coverage.NEVER == set()


def test_the_markdown_table_counts_what_coverage_counts():
    rows = _coverage.coverage()
    first = _coverage.markdown_table().splitlines()[0]
    assert f"{sum(r.present for r in rows)} of {len(rows)}" in first


def _plain(value):
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (tuple, list)) and all(_plain(v) == v for v in value):
        return list(value)
    return {"repr": repr(value)}


def _signature_cases():
    cases = []
    for module, entries in MODULES.items():
        if module not in _coverage.NAMESPACES:
            continue
        present = _coverage.exported(module)
        for name, entry in entries.items():
            signature = entry.get("signature")
            typing_alias = [p["kind"] for p in signature or []] == ["VAR_POSITIONAL", "VAR_KEYWORD"]
            callable_api = entry["kind"] == "function" or name == "MultiSteps"
            if name in present and signature is not None and callable_api and not typing_alias:
                cases.append((module, name))
    return cases


@pytest.mark.parametrize(("module", "name"), _signature_cases(), ids=lambda x: x)
def test_signature_matches_optax(module, name):
    """Same parameter names, order, kinds and (plain) defaults as optax's; dtype defaults are torch's."""
    want = MODULES[module][name]["signature"]
    obj = getattr(importlib.import_module(_coverage.NAMESPACES[module]), name)
    got = inspect.signature(obj).parameters.values()
    assert [(p.name, p.kind.name) for p in got] == [(p["name"], p["kind"]) for p in want]
    for theirs, ours in zip(want, got, strict=True):
        assert ("default" in theirs) == (ours.default is not inspect.Parameter.empty), theirs["name"]
        if "default" in theirs and not isinstance(theirs["default"], dict):
            assert _plain(ours.default) == theirs["default"], theirs["name"]
