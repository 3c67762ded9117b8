"""optimtx.testing: every registered transform passes check_transform; broken ones fail with a clear message."""

from __future__ import annotations

import inspect
import math
import re

import pytest
import torch
from hypothesis import find, given, settings
from hypothesis import strategies as st

import optimtx as otx
from optimtx.config.registries import TRANSFORMS
from optimtx.core.tree import global_norm
from optimtx.testing import (
    HostReadError,
    TransformLawError,
    check_transform,
    no_host_reads,
    sample_gradients,
    sample_params,
)
from optimtx.testing import strategies as ots
from tests.transform_table import TABLE

# Registered factories with no table case of their own (they have usable defaults or take a sample inner part).
EXTRA = {
    "chain": {"kwargs": {}},
    "flatten": {"kwargs": {"inner": otx.adam(0.1)}},
    # a measure, not an update rule of its own: checked where it is used, inside monitor
    "measure_with_ema": {"factory": lambda: otx.monitor({"norm": otx.measure_with_ema(global_norm, 0.9)})},
    "monitor": {"kwargs": {"measures": {"norm": global_norm}}},
    "muon": {"kwargs": {}, "params": {"w": torch.randn(4, 3), "v": torch.randn(3, 5).t()}},
    "scale_by_adadelta": {"kwargs": {}},
    "scale_by_muon": {"kwargs": {}, "params": {"w": torch.randn(4, 3), "v": torch.randn(3, 5).t()}},
    "scale_by_nadam": {"kwargs": {}},
    "scale_by_radam": {"kwargs": {}},
    "scale_by_rprop": {"kwargs": {}},
}


@pytest.mark.parametrize("case", TABLE, ids=[c.name for c in TABLE])
def test_every_table_transform_obeys_the_laws(case):
    check_transform(case.factory, kwargs=case.kwargs, compile=case.compilable, state_dtype=case.state_dtype)


@pytest.mark.parametrize("name", sorted(EXTRA))
def test_registered_transforms_without_a_table_case_obey_the_laws(name):
    options = dict(EXTRA[name])
    check_transform(options.pop("factory", None) or TRANSFORMS.get(name), **options)


def test_every_registered_transform_is_checked():
    covered = {c.name for c in TABLE} | {getattr(c.factory, "__name__", "") for c in TABLE} | set(EXTRA)
    assert set(TRANSFORMS.module_dict) - covered == set()


def test_matches_a_torch_optimizer_and_a_reference_function():
    check_transform(
        otx.adamw,
        kwargs=dict(lr=1e-2, weight_decay=0.1),
        torch_optimizer=lambda ps: torch.optim.AdamW(ps, lr=1e-2, weight_decay=0.1),
    )

    def sgd_reference(params, grads):
        for g in grads:
            params = {k: p - 0.1 * g[k] for k, p in params.items()}
        return params

    check_transform(otx.sgd, kwargs=dict(lr=0.1), reference=sgd_reference)


# -- deliberately broken transforms --------------------------------------------------------------


def _tx(update, init=lambda params: otx.EmptyState()):
    return otx.GradientTransformation(init, update)


def _mutating():
    def update(updates, state, params=None):
        for g in updates.values():
            g.mul_(2)
        return dict(updates), state

    return _tx(update)


def _host_read():
    def update(updates, state, params=None):
        norm = torch.linalg.vector_norm(torch.stack([g.float().norm() for g in updates.values()]))
        factor = 1.0 if norm.item() < 1 else 0.5
        return {k: g * factor for k, g in updates.items()}, state

    return _tx(update)


def _wrong_device():
    return _tx(lambda u, s, p=None: (dict(u), s), init=lambda params: {"count": torch.zeros((), device="meta")})


def _random():
    return _tx(lambda u, s, p=None: ({k: g + torch.rand_like(g) for k, g in u.items()}, s))


def _dropped_key():
    return _tx(lambda u, s, p=None: (dict(list(u.items())[1:]), s))


def _promoting():
    return _tx(lambda u, s, p=None: ({k: g.double() for k, g in u.items()}, s))


def _float32_state():
    def init(params):
        return {"mu": {k: torch.zeros(p.shape) for k, p in params.items()}}

    return _tx(lambda u, s, p=None: (dict(u), s), init=init)


def _graph_break():
    def update(updates, state, params=None):
        torch._dynamo.graph_break()
        return dict(updates), state

    return _tx(update)


def _unloadable_state():
    return _tx(lambda u, s, p=None: (dict(u), s), init=lambda params: {"fn": (lambda: 0, torch.zeros(()))})


BROKEN = [
    (_mutating, {}, "purity", r"step 1: update modified its input grads\['w'\] in place"),
    (_host_read, {}, "no host reads", r"\.item\(\).*test_testing_kit\.py:\d+ in update"),
    (_wrong_device, {}, "device", r"state\['count'\] is on meta, the parameters on cpu"),
    (_random, {}, "determinism", r"a second call with the same inputs gave other updates at \['w'\]"),
    (_dropped_key, {}, "keys", r"updates have keys \['b', 's', 'h', 'f'\], the gradients \['w', 'b', 's', 'h', 'f'\]"),
    (_promoting, {}, "keys", r"updates\['w'\] is \(3, 2\) torch.float64, its gradient \(3, 2\) torch.float32"),
    (_float32_state, {}, "dtype policy", r"state\['mu'\]\['h'\] is torch.float32, its parameter torch.bfloat16"),
    (_graph_break, {"compile": True}, "compile", r"fullgraph compile failed"),
    (_unloadable_state, {}, "state_dict", r"round trip failed"),
]


@pytest.mark.parametrize(("factory", "options", "law", "message"), BROKEN, ids=[b[0].__name__ for b in BROKEN])
def test_broken_transforms_fail_with_a_clear_message(factory, options, law, message):
    with pytest.raises(TransformLawError, match=message) as info:
        check_transform(factory, **options)
    assert info.value.law == law
    assert str(info.value).startswith(f"law {law!r} broken: ")


def test_a_wrong_reference_is_reported_with_the_differing_leaf():
    with pytest.raises(TransformLawError, match=r"law 'torch_optimizer' broken: params\['w'\] after the run differs"):
        check_transform(otx.sgd, kwargs=dict(lr=0.1), torch_optimizer=lambda ps: torch.optim.SGD(ps, lr=0.2))


def test_bad_arguments_are_refused():
    with pytest.raises(TypeError, match="must return a GradientTransformation, got str"):
        check_transform(lambda: "adam")
    with pytest.raises(ValueError, match="steps must be an int >= 1, got 0"):
        check_transform(otx.identity, steps=0)


def test_no_host_reads_restores_tensor_methods_and_lets_device_work_through():
    t = torch.tensor([1.0, 2.0])
    with no_host_reads():
        doubled = t * 2
        with pytest.raises(HostReadError, match=r"t\.tolist\(\)"):
            t.tolist()
        with pytest.raises(HostReadError, match=r"torch\.equal"):
            torch.equal(t, t)
    assert doubled.tolist() == [2.0, 4.0]


# -- the strategies -----------------------------------------------------------------------------

ALL_DTYPES = (torch.float32, torch.float64, torch.bfloat16, torch.float16, torch.complex64)


@settings(max_examples=20)
@given(tree=ots.trees(dtypes=ALL_DTYPES, layouts=ots.LAYOUTS, nonfinite=True, max_leaves=3))
def test_trees_draw_the_requested_dtypes_and_layouts(tree):
    assert list(tree) == [f"p{i}" for i in range(len(tree))]
    assert all(t.dtype in ALL_DTYPES and t.ndim <= 3 for t in tree.values())


def test_trees_cover_0d_non_contiguous_and_nonfinite_examples():
    seen = set()

    @settings(max_examples=60, derandomize=True, database=None)
    @given(tree=ots.trees(dtypes=(torch.float32, torch.bfloat16), layouts=ots.LAYOUTS, nonfinite=True))
    def collect(tree):
        for t in tree.values():
            seen.add("0-d" if t.ndim == 0 else "nd")
            seen.add("contiguous" if t.is_contiguous() else "non-contiguous")
            seen.add("nonfinite" if not torch.isfinite(t).all() else "finite")
            seen.add(t.dtype)

    collect()
    assert {"0-d", "non-contiguous", "nonfinite", torch.bfloat16} <= seen


@settings(max_examples=10)
@given(data=st.data())
def test_check_transform_holds_on_generated_trees_dtypes_and_layouts(data):
    tree = data.draw(ots.trees(dtypes=ALL_DTYPES, layouts=ots.LAYOUTS, max_leaves=3))
    grads = [data.draw(ots.gradients_for(tree, nonfinite=True)) for _ in range(2)]
    hyper = data.draw(ots.hyperparameters({"lr": "positive", "momentum": (0.0, 0.99), "nesterov": "bool"}))
    if hyper["momentum"] == 0.0:
        hyper["nesterov"] = False
    check_transform(otx.sgd, kwargs=hyper, params=tree, grads=grads)
    check_transform(otx.adamw, kwargs={"lr": hyper["lr"]}, params=tree, grads=grads)


@settings(max_examples=15)
@given(kw=ots.hyperparameters({"lr": (1e-3, 1e-1), "betas": "betas", "eps": [1e-8, 1e-6], "amsgrad": st.booleans()}))
def test_hyperparameters_stay_in_their_declared_ranges(kw):
    assert 1e-3 <= kw["lr"] <= 1e-1 and kw["eps"] in (1e-8, 1e-6) and isinstance(kw["amsgrad"], bool)
    assert 0 <= kw["betas"][0] < 1 and 0 <= kw["betas"][1] < 1
    otx.adam(**kw)  # the drawn values are accepted by the rule itself


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: ots.hyperparameters({"lr": "fast"}), ValueError, "unknown kind 'fast'; accepted kinds"),
        (lambda: ots.hyperparameters({"lr": (1.0, 0.1)}), ValueError, "low 1.0 is above high 0.1"),
        (lambda: ots.hyperparameters({"lr": 3}), TypeError, "range of 'lr' must be"),
        (lambda: ots.hyperparameters([("lr", "positive")]), TypeError, "ranges must be a dict"),
        (lambda: find(ots.trees(layouts=("diagonal",)), bool), ValueError, "layouts must be"),
        (lambda: find(ots.trees(dtypes=()), bool), ValueError, "dtypes must be"),
    ],
)
def test_strategy_arguments_are_checked(call, error, message):
    with pytest.raises(error, match=re.escape(message)):
        call()


def test_sample_gradients_put_inf_and_nan_in_the_second_step():
    grads = sample_gradients(sample_params(), steps=3)
    assert all(torch.isfinite(g).all() for g in grads[0].values())
    assert math.isnan(grads[1]["w"].reshape(-1)[2]) and not torch.isfinite(grads[1]["s"])


def test_public_signature_is_documented():
    params = inspect.signature(check_transform).parameters
    doc = inspect.getdoc(check_transform) or ""
    assert all(name in doc for name in params)
