"""named_chain equals chain, with its state keyed by name."""

from __future__ import annotations

import pickle

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import optimtx as otx


def _params():
    return {"w": torch.tensor([1.0, -2.0]), "b": torch.tensor(0.5)}


def _grads(seed):
    g = torch.Generator().manual_seed(seed)
    return {"w": torch.randn(2, generator=g) * 3, "b": torch.randn((), generator=g)}


@given(seed=st.integers(0, 2**16), max_norm=st.floats(0.1, 5.0), lr=st.floats(1e-3, 1.0))
def test_named_chain_equals_chain(seed, max_norm, lr):
    parts = [otx.clip_by_global_norm(max_norm), otx.adamw(lr, weight_decay=0.1)]
    named = otx.named_chain(("clip", parts[0]), ("opt", parts[1]))
    plain = otx.chain(*parts)
    params = _params()
    s_named, s_plain = named.init(params), plain.init(params)
    for step in range(3):
        grads = _grads(seed + step)
        u_named, s_named = named.update(grads, s_named, params)
        u_plain, s_plain = plain.update(grads, s_plain, params)
        for k in params:
            assert torch.equal(u_named[k], u_plain[k])
        params = otx.apply_updates(params, u_plain)
    assert list(s_named) == ["clip", "opt"]
    assert torch.equal(s_named["clip"].norm, s_plain[0].norm)


def test_state_round_trips_through_state_dict_and_pickle(tmp_path):
    tx = otx.named_chain(("clip", otx.clip_by_global_norm(1.0)), ("opt", otx.adam(0.1)))
    params = _params()
    _, state = tx.update(_grads(0), tx.init(params), params)
    path = tmp_path / "state.pt"
    torch.save(otx.state_dict(state), path)
    loaded = otx.load_state_dict(tx.init(params), torch.load(path, weights_only=True))
    assert torch.equal(loaded["opt"][0].mu["w"], state["opt"][0].mu["w"])
    assert list(pickle.loads(pickle.dumps(state))) == ["clip", "opt"]


def test_config_builds_from_lists_of_pairs():
    tx = otx.TRANSFORMS.build(
        dict(
            type="named_chain",
            transforms=[["clip", dict(type="clip_by_global_norm", max_norm=1.0)], ["opt", dict(type="sgd", lr=0.1)]],
        )
    )
    params = _params()
    assert list(tx.init(params)) == ["clip", "opt"]


@pytest.mark.parametrize(
    ("args", "error", "match"),
    [
        ((otx.sgd(0.1),), TypeError, "pairs"),
        ((("a", "not a transform"),), TypeError, "pairs"),
        ((("a", otx.sgd(0.1), 3),), TypeError, "pairs"),
        (((3, otx.sgd(0.1)),), ValueError, "non-empty strings"),
        ((("", otx.sgd(0.1)),), ValueError, "non-empty strings"),
        ((("a", otx.sgd(0.1)), ("a", otx.sgd(0.1))), ValueError, r"unique, got \['a'\]"),
    ],
)
def test_bad_entries_are_refused(args, error, match):
    with pytest.raises(error, match=match):
        otx.named_chain(*args)


def test_a_foreign_state_is_refused():
    tx = otx.named_chain(("opt", otx.sgd(0.1)))
    params = _params()
    for bad in [(otx.EmptyState(),), {"other": tx.init(params)["opt"]}, None]:
        with pytest.raises(ValueError, match="init"):
            tx.update(_grads(0), bad, params)


def test_inputs_are_untouched():
    tx = otx.named_chain(("clip", otx.clip_by_global_norm(0.5)), ("opt", otx.sgd(0.1, momentum=0.9)))
    params, grads = _params(), _grads(1)
    state = tx.init(params)
    copies = [{k: v.clone() for k, v in t.items()} for t in (params, grads)]
    tx.update(grads, state, params)
    for original, copy in zip((params, grads), copies, strict=True):
        assert all(torch.equal(original[k], copy[k]) for k in original)
