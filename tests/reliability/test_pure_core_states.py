"""Pure core: states survive pickle, deepcopy and torch.save; checkpoints are snapshots; loads are all or nothing."""

from __future__ import annotations

import copy
import io
import pickle

import pytest
import torch
import torch.utils._pytree as pytree
from hypothesis import given, settings
from hypothesis import strategies as st

import optimtx as otx
from optimtx.core.state_tree import map_tensors
from tests.transform_table import TABLE

IDS = [c.name for c in TABLE]


def _bytes(obj) -> bytes:
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


def _same(a, b) -> bool:
    """Same structure, and bitwise-equal tensors of the same dtype (storage sharing aside)."""
    la, sa = pytree.tree_flatten(a)
    lb, sb = pytree.tree_flatten(b)
    if sa != sb or len(la) != len(lb):
        return False
    for x, y in zip(la, lb, strict=True):
        if isinstance(x, torch.Tensor):
            if not (isinstance(y, torch.Tensor) and x.dtype == y.dtype and x.shape == y.shape):
                return False
            if not torch.equal(_u8(x), _u8(y)):
                return False
        elif x != y:
            return False
    return True


def _u8(t: torch.Tensor) -> torch.Tensor:
    return (t if t.ndim else t.reshape(1)).contiguous().view(torch.uint8)


def _stepped(case, steps: int = 2):
    tx = case.factory(**case.kwargs)
    params = {"a": torch.randn(3, 2), "b": torch.randn(4)}
    state = tx.init(params)
    for _ in range(steps):
        _, state = tx.update({k: torch.randn_like(v) for k, v in params.items()}, state, params)
    return tx, params, state


def _continue(tx, params, state):
    grads = {k: torch.full_like(v, 0.25) for k, v in params.items()}
    return tx.update(grads, state, params)


@pytest.mark.parametrize("case", TABLE, ids=IDS)
@pytest.mark.parametrize("how", ["pickle", "deepcopy", "torch.save", "state_dict weights_only"])
def test_state_round_trips_and_resumes_bitwise(case, how):
    tx, params, state = _stepped(case)
    if how == "pickle":
        copied = pickle.loads(pickle.dumps(state))
    elif how == "deepcopy":
        copied = copy.deepcopy(state)
    elif how == "torch.save":
        buf = io.BytesIO(_bytes(state))
        copied = torch.load(buf, weights_only=False)
    else:
        buf = io.BytesIO(_bytes(otx.state_dict(state)))
        copied = otx.load_state_dict(tx.init(params), torch.load(buf, weights_only=True))
    assert _same(copied, state)
    want_u, want_s = _continue(tx, params, state)
    got_u, got_s = _continue(tx, params, copied)
    assert _same(got_u, want_u) and _same(got_s, want_s)


@pytest.mark.parametrize("case", TABLE, ids=IDS)
def test_state_dict_is_a_snapshot(case):
    """Writing into the live state (as donate=True or the facade do) never changes a saved state_dict."""
    _, _, state = _stepped(case)
    sd = otx.state_dict(state)
    saved = _bytes(sd)
    map_tensors(lambda t: t.logical_not_() if t.dtype == torch.bool else t.add_(1), state)
    assert _bytes(sd) == saved


def _corruptions(sd):
    """(name, corrupted copy) pairs of a state_dict: wrong keys, shapes, dtypes, types, truncation."""
    out = []

    def walk(node, path):
        if isinstance(node, dict):
            for k, v in node.items():
                yield from walk(v, (*path, k))
        elif isinstance(node, torch.Tensor):
            yield path, node

    def replaced(path, value):
        new = copy.deepcopy(sd)
        node = new
        for k in path[:-1]:
            node = node[k]
        if value is _DROP:
            del node[path[-1]]
        else:
            node[path[-1]] = value
        return new

    for path, t in list(walk(sd, ()))[:6]:
        out.append((f"shape@{path}", replaced(path, torch.zeros((*t.shape, 2), dtype=t.dtype))))
        other = torch.float16 if t.dtype != torch.float16 else torch.float32
        out.append((f"dtype@{path}", replaced(path, t.to(other))))
        out.append((f"type@{path}", replaced(path, [1.0])))
        out.append((f"missing@{path}", replaced(path, _DROP)))
    if isinstance(sd, dict):
        out.append(("extra", {**copy.deepcopy(sd), "surplus": torch.zeros(1)}))
    out.append(("not a dict", [1, 2]))
    out.append(("truncated", {}))
    return out


_DROP = object()


@pytest.mark.parametrize("case", TABLE, ids=IDS)
def test_corrupted_state_dicts_are_refused_without_side_effects(case):
    tx, params, state = _stepped(case)
    sd = otx.state_dict(state)
    template = tx.init(params)
    template_bytes = _bytes(template)
    for name, bad in _corruptions(sd):
        if name == "truncated" and sd == {}:
            continue
        bad_bytes = _bytes(bad)
        with pytest.raises(ValueError, match="does not match"):
            otx.load_state_dict(template, bad)
        assert _bytes(template) == template_bytes, name
        assert _bytes(bad) == bad_bytes, name  # the caller's dict is never modified


@pytest.mark.parametrize("case", TABLE, ids=IDS)
def test_a_state_dict_of_another_transform_is_refused(case):
    tx, params, _ = _stepped(case)
    for other in (otx.sgd(0.1, momentum=0.9), otx.adam(0.1), otx.scale_by_amp(otx.identity())):
        foreign = otx.state_dict(other.init(params))
        own = otx.state_dict(tx.init(params))
        if _bytes(foreign) == _bytes(own):
            continue
        with pytest.raises(ValueError, match="does not match"):
            otx.load_state_dict(tx.init(params), foreign)


def test_loaded_state_does_not_alias_the_callers_tensors():
    tx = otx.adam(0.1)
    params = {"w": torch.ones(2)}
    sd = otx.state_dict(tx.init(params))
    loaded = otx.load_state_dict(tx.init(params), sd)
    sd["0"]["mu"]["w"].add_(5)
    assert torch.equal(loaded[0].mu["w"], torch.zeros(2))


@settings(max_examples=10)
@given(steps=st.integers(0, 4), amsgrad=st.booleans())
def test_resuming_from_a_checkpoint_equals_not_stopping(steps, amsgrad):
    tx = otx.adam(0.1, amsgrad=amsgrad)
    params = {"w": torch.linspace(-1, 1, 5)}
    gen = torch.Generator().manual_seed(steps)
    grads = [{"w": torch.randn(5, generator=gen)} for _ in range(steps + 2)]
    state = tx.init(params)
    for g in grads[:steps]:
        _, state = tx.update(g, state, params)
    resumed = otx.load_state_dict(tx.init(params), torch.load(io.BytesIO(_bytes(otx.state_dict(state)))))
    for g in grads[steps:]:
        u1, state = tx.update(g, state, params)
        u2, resumed = tx.update(g, resumed, params)
        assert torch.equal(u1["w"], u2["w"])
