"""Pure core: trees match by name (in order) and shape wherever a tree meets a state or another tree.

Every transform in tests/transform_table.py, ``apply_updates`` and ``compile_step`` get
mismatched trees (reordered, renamed, missing, extra, broadcastable, transposed, ``None``,
sparse, integer, complex-for-real, other-transform states) and must refuse them with an
error naming the parameter, leaving every input bitwise as it was.
"""

from __future__ import annotations

import io

import pytest
import torch
import torch.utils._pytree
from hypothesis import given, settings
from hypothesis import strategies as st

import optimtx as otx
from tests.transform_table import TABLE

IDS = [c.name for c in TABLE]
# Transforms that read the parameters (or hold per-parameter state) see every mismatch; stateless
# transforms that ignore params see only what is wrong with the gradient tree itself.
PER_PARAM = [c for c in TABLE if c.name not in {"identity", "scale", "clip_by_global_norm", "clip_by_global_norm_inf"}]
PER_PARAM = [
    c
    for c in PER_PARAM
    if not c.name.startswith(("clip_by_value", "scale_by_learning_rate", "scale_by_amp", "clip_by_norm_per_tensor"))
    and c.name not in {"centralize", "clip_by_norm"}
]
# Stateless per-name transforms keep no shapes (zero_nans keeps one flag per name): any shape is filtered
# alike, so they check names only and the next transform (or apply_updates) checks the shapes.
NAMES_ONLY = {"zero_nans"}
SHAPE_KINDS = {"broadcastable", "transposed", "flattened"}
PER_PARAM_IDS = [c.name for c in PER_PARAM]


def _params():
    return {"a": torch.randn(3, 2), "b": torch.randn(4)}


def _bytes(obj) -> bytes:
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


def _shapes(state):
    flat, spec = torch.utils._pytree.tree_flatten(state)
    return spec, [tuple(t.shape) if isinstance(t, torch.Tensor) else t for t in flat]


def _mismatches(params):
    a, b = params["a"], params["b"]
    return {
        "reordered": {"b": torch.ones_like(b), "a": torch.ones_like(a)},
        "renamed": {"a": torch.ones_like(a), "c": torch.ones_like(b)},
        "missing": {"a": torch.ones_like(a)},
        "extra": {"a": torch.ones_like(a), "b": torch.ones_like(b), "c": torch.ones(1)},
        "broadcastable": {"a": torch.ones(1, 2), "b": torch.ones(1)},
        "transposed": {"a": torch.ones(2, 3), "b": torch.ones(4)},
        "flattened": {"a": torch.ones(6), "b": torch.ones(4)},
    }


def _assert_refused(tx, grads, state, params, match):
    state_bytes, params_bytes = _bytes(state), _bytes(params)
    grads_bytes = _bytes(dict(grads))
    with pytest.raises((ValueError, TypeError), match=match):
        tx.update(grads, state, params)
    assert _bytes(state) == state_bytes and _bytes(params) == params_bytes  # failure atomicity
    assert _bytes(dict(grads)) == grads_bytes


@pytest.mark.parametrize("case", PER_PARAM, ids=PER_PARAM_IDS)
@pytest.mark.parametrize("kind", list(_mismatches(_params())))
def test_mismatched_trees_are_refused(case, kind):
    if case.name in NAMES_ONLY and kind in SHAPE_KINDS:
        pytest.skip("keeps no shapes; see NAMES_ONLY")
    tx = case.factory(**case.kwargs)
    params = _params()
    state = tx.init(params)
    grads = _mismatches(params)[kind]
    _assert_refused(tx, grads, state, params, "order|missing|unexpected|shape|do not match")


@pytest.mark.parametrize("case", TABLE, ids=IDS)
@pytest.mark.parametrize("bad", ["none", "sparse", "not_a_tensor"])
def test_bad_leaves_are_refused_naming_the_parameter(case, bad):
    tx = case.factory(**case.kwargs)
    params = _params()
    state = tx.init(params)
    leaf = {"none": None, "sparse": torch.ones(4).to_sparse(), "not_a_tensor": [1.0, 2.0, 3.0, 4.0]}[bad]
    grads = {"a": torch.ones(3, 2), "b": leaf}
    _assert_refused(tx, grads, state, params, "'b'")


@pytest.mark.parametrize("case", PER_PARAM, ids=PER_PARAM_IDS)
def test_wrong_kind_of_tensor_is_refused(case):
    """A complex gradient for a real parameter, or an integer one, is not silently cast."""
    tx = case.factory(**case.kwargs)
    params = _params()
    state = tx.init(params)
    leaves = (torch.ones(4, dtype=torch.complex64), torch.ones(4, dtype=torch.int64))
    for leaf in leaves[1:] if case.name in NAMES_ONLY else leaves:  # NAMES_ONLY keep no dtypes either
        _assert_refused(tx, {"a": torch.ones(3, 2), "b": leaf}, state, params, "'b'.*dtype")


@pytest.mark.parametrize("case", PER_PARAM, ids=PER_PARAM_IDS)
def test_a_state_of_another_transform_is_refused(case):
    tx = case.factory(**case.kwargs)
    params = _params()
    grads = {k: torch.ones_like(v) for k, v in params.items()}
    for other in (otx.sgd(0.1, momentum=0.9), otx.scale_by_lion(), otx.accumulate(otx.identity(), 2)):
        foreign = other.init(params)
        if type(foreign) is type(tx.init(params)) and _shapes(foreign) == _shapes(tx.init(params)):
            continue  # the same kind of state (a stored dtype aside, e.g. mu_dtype): a legitimate one
        with pytest.raises((TypeError, ValueError), match="state"):
            tx.update(grads, foreign, params)


def test_adam_given_an_sgd_state_names_both():
    params = _params()
    grads = {k: torch.ones_like(v) for k, v in params.items()}
    with pytest.raises(TypeError, match="scale_by_adam got a state of type TraceState"):
        otx.adam(0.1).update(grads, otx.sgd(0.1, momentum=0.9).init(params), params)


@settings(max_examples=15)
@given(perm_seed=st.integers(0, 1000))
def test_order_is_checked_not_guessed(perm_seed):
    """Any other order of the same names is refused: gradients never pair with state by position."""
    names = [f"p{i}" for i in range(4)]
    params = {k: torch.full((i + 1,), float(i)) for i, k in enumerate(names)}
    order = torch.randperm(4, generator=torch.Generator().manual_seed(perm_seed)).tolist()
    grads = {names[i]: torch.ones_like(params[names[i]]) for i in order}
    tx = otx.adam(0.1)
    state = tx.init(params)
    if list(grads) == names:
        tx.update(grads, state, params)
    else:
        with pytest.raises(ValueError, match="another order"):
            tx.update(grads, state, params)


@pytest.mark.parametrize(
    "updates,match",
    [
        ({"w": torch.ones(3, 2)}, "shape"),
        ({"w": torch.ones(1)}, "shape"),
        ({"v": torch.ones(2)}, "missing \\['w'\\]"),
        ({"w": None}, "'w'"),
        ({"w": torch.ones(2, dtype=torch.complex64)}, "dtype"),
    ],
)
def test_apply_updates_refuses_mismatches(updates, match):
    params = {"w": torch.ones(2)}
    with pytest.raises((ValueError, TypeError), match=match):
        otx.apply_updates(params, updates)
    assert torch.equal(params["w"], torch.ones(2))


def test_apply_updates_keeps_the_parameter_dtype():
    out = otx.apply_updates({"w": torch.ones(2, dtype=torch.bfloat16)}, {"w": torch.full((2,), 0.5)})
    assert out["w"].dtype == torch.bfloat16


def test_compile_step_refuses_a_transposed_gradient():
    fast = otx.compile_step(otx.sgd(0.1), backend="eager")
    params = {"w": torch.zeros(2, 3)}
    state = fast.init(params)
    with pytest.raises(ValueError, match="shape \\(3, 2\\)"):
        fast.step(params, {"w": torch.ones(3, 2)}, state)
    with pytest.raises(TypeError, match="'w'"):
        fast.step(params, {"w": None}, state)


@pytest.mark.parametrize("combinator", ["masked", "multi_transform"])
def test_masks_and_labels_match_by_name(combinator):
    params = _params()
    if combinator == "masked":
        tx = otx.masked(otx.adam(0.1), {"a": True, "b": False})
    else:
        tx = otx.multi_transform({"x": otx.adam(0.1), "y": otx.sgd(0.1)}, {"a": "x", "b": "y"})
    state = tx.init(params)
    for kind, grads in _mismatches(params).items():
        with pytest.raises((ValueError, TypeError)):
            tx.update(grads, state, params)
        del kind
    with pytest.raises(ValueError, match="missing"):
        otx.masked(otx.adam(0.1), {"a": True}).init(params)


def test_the_check_survives_torch_compile():
    """The check is Python metadata: under torch.compile(fullgraph=True) it traces and still refuses."""
    tx = otx.adam(0.1)
    params = _params()
    state = tx.init(params)
    compiled = torch.compile(tx.update, fullgraph=True, backend="eager")
    good = {k: torch.ones_like(v) for k, v in params.items()}
    compiled(good, state, params)
    with pytest.raises(Exception, match="shape"):
        compiled({"a": torch.ones(2, 3), "b": torch.ones(4)}, state, params)


@pytest.mark.parametrize("case", PER_PARAM, ids=PER_PARAM_IDS)
@pytest.mark.parametrize(
    "leaf", [None, torch.zeros(4, dtype=torch.int64), torch.zeros(4, dtype=torch.bool), "w"], ids=repr
)
def test_init_refuses_what_cannot_be_a_parameter(case, leaf):
    """``init`` names a parameter that is missing, not a tensor, or integer (its updates would be rounded)."""
    tx = case.factory(**case.kwargs)
    with pytest.raises((TypeError, ValueError), match="'b'"):
        tx.init({"a": torch.zeros(3, 2), "b": leaf})


def test_a_gradient_on_another_device_is_refused():
    """Checked from metadata alone (the meta device stands in for an accelerator on a CPU-only machine)."""
    params = {"w": torch.zeros(2)}
    tx = otx.adam(0.1)
    with pytest.raises(ValueError, match=r"'w'.*meta"):
        tx.update({"w": torch.zeros(2, device="meta")}, tx.init(params), params)
    with pytest.raises(ValueError, match=r"'w'.*meta"):
        otx.apply_updates(params, {"w": torch.zeros(2, device="meta")})


def test_empty_trees_are_fine_and_missing_ones_are_not():
    tx = otx.chain(otx.clip_by_global_norm(1.0), otx.adam(0.1))
    assert tx.update({}, tx.init({}), {})[0] == {}
    with pytest.raises(ValueError, match="missing \\['w'\\]"):
        tx.update({}, tx.init({"w": torch.zeros(1)}), {"w": torch.zeros(1)})
