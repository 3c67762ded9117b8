"""state_dict / load_state_dict: round trips with weights_only, and validation that names every problem."""

from __future__ import annotations

import io

import pytest
import torch

import optimtx as otx
from optimtx.core.state_tree import iter_nodes

PARAMS = {"w": torch.randn(3, 2), "b": torch.randn(2)}


def _transforms():
    return [
        otx.chain(otx.clip_by_global_norm(1.0), otx.adamw(0.1)),
        otx.scale_by_amp(otx.accumulate(otx.sgd(0.1, momentum=0.9), 2), init_scale=8.0),
        otx.multi_transform({"a": otx.adam(0.1), "b": otx.sgd(0.1)}, {"w": "a", "b": "b"}),
        otx.masked(otx.inject_hyperparams(otx.adam)(lr=otx.schedules.cosine_decay(0.1, 10)), {"w": True, "b": False}),
        otx.apply_if_finite(otx.rmsprop(0.01)),
    ]


@pytest.mark.parametrize("tx", _transforms(), ids=range(5))
def test_round_trip_through_torch_save_weights_only(tx):
    state = tx.init(PARAMS)
    for _ in range(3):
        _, state = tx.update({k: torch.randn_like(v) for k, v in PARAMS.items()}, state, PARAMS)
    buf = io.BytesIO()
    torch.save(otx.state_dict(state), buf)
    buf.seek(0)
    loaded = otx.load_state_dict(tx.init(PARAMS), torch.load(buf, weights_only=True))
    assert type(loaded) is type(state)
    assert repr(otx.state_dict(loaded)) == repr(otx.state_dict(state))
    g = {k: torch.ones_like(v) for k, v in PARAMS.items()}
    u1, _ = tx.update(g, state, PARAMS)
    u2, _ = tx.update(g, loaded, PARAMS)
    assert all(torch.equal(u1[k], u2[k]) for k in g)


def test_loaded_tensors_are_copies():
    tx = otx.adam(0.1)
    state = tx.init(PARAMS)
    loaded = otx.load_state_dict(state, otx.state_dict(state))
    pairs = list(zip(_tensors(loaded), _tensors(state), strict=True))
    assert pairs and all(a is not b and a.data_ptr() != b.data_ptr() for a, b in pairs)


def test_every_problem_is_reported_at_once():
    tx = otx.chain(otx.clip_by_global_norm(1.0), otx.adam(0.1))
    template = tx.init(PARAMS)
    sd = otx.state_dict(template)
    adam_sd = sd["1"]["0"]
    field = next(k for k, v in adam_sd.items() if isinstance(v, dict))
    bad = {"0": dict(sd["0"]), "1": {**sd["1"], "0": dict(adam_sd)}}
    bad["0"]["extra"] = torch.zeros(())
    bad["1"]["0"][field] = {"w": torch.zeros(2, 3), "c": torch.zeros(1)}
    with pytest.raises(ValueError) as err:
        otx.load_state_dict(template, bad)
    msg = str(err.value)
    assert "unexpected ['extra']" in msg
    assert "missing ['b'], unexpected ['c']" in msg
    assert "expected shape (3, 2) torch.float32, got (2, 3)" in msg


def test_structure_and_dtype_mismatches():
    template = otx.chain(otx.identity(), otx.clip_by_global_norm(1.0)).init(PARAMS)
    with pytest.raises(ValueError, match=r"state: missing \['1'\], unexpected \[\]"):
        otx.load_state_dict(template, {"0": {}})
    with pytest.raises(ValueError, match="expected a dict with keys"):
        otx.load_state_dict(template, [{}, {}])
    with pytest.raises(ValueError, match=r"got \(\) torch\.float64"):
        otx.load_state_dict(template, {"0": {}, "1": {"norm": torch.zeros((), dtype=torch.float64)}})
    with pytest.raises(ValueError, match="expected a tensor"):
        otx.load_state_dict(template, {"0": {}, "1": {"norm": 1.0}})


def test_unsupported_state_leaf():
    with pytest.raises(TypeError, match="object"):
        otx.state_dict((object(),))


def _tensors(state):
    return [n for n in iter_nodes(state) if isinstance(n, torch.Tensor)]
