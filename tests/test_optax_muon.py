"""optax.contrib's muon / scale_by_muon: refusals and laws (float64 parity is in test_optax_rules_parity)."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import optimtx.optax.contrib as contrib
from optimtx.optax.contrib import MuonDimensionNumbers


def _tree(seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {"m": torch.randn(4, 3, generator=g, dtype=torch.float64), "t": torch.randn(2, 3, 2, generator=g).double()}


ND = {"m": MuonDimensionNumbers(), "t": MuonDimensionNumbers(1, 2)}


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"preconditioning": "cholesky"}, "preconditioning"),
        ({"ns_coeffs": (1.0, 2.0)}, "ns_coeffs"),
        ({"ns_coeffs": ((1.0, 2.0, 3.0),) * 6}, "ns_steps"),
    ],
)
def test_malformed_options_are_refused_at_construction(kwargs, match):
    with pytest.raises(ValueError, match=match):
        contrib.scale_by_muon(**kwargs)


def test_an_unknown_preset_is_refused():
    with pytest.raises(ValueError, match="preset"):
        contrib.muon(0.1, ns_coeffs="fastest")


@pytest.mark.parametrize(
    "dims,match",
    [
        (None, "rank >= 2"),  # the 1-D "v" below has no matrix
        ({"m": MuonDimensionNumbers(0, 0), "t": MuonDimensionNumbers(1, 2)}, "disjoint"),
        ({"m": MuonDimensionNumbers()}, "keys"),
    ],
)
def test_malformed_dimension_numbers_are_refused(dims, match):
    tx = contrib.scale_by_muon(weight_dimension_numbers=dims)
    g = {**_tree(), "v": torch.ones(3, dtype=torch.float64)} if dims is None else _tree()
    with pytest.raises(ValueError, match=match):
        tx.update(g, tx.init(g))


@given(st.integers(0, 2**16), st.sampled_from(["frobenius", "spectral", "aol", "schatten"]), st.booleans())
def test_pure_and_deterministic(seed, pre, adaptive):
    tx = contrib.scale_by_muon(preconditioning=pre, adaptive=adaptive, weight_dimension_numbers=ND)
    g = _tree(seed)
    before = {k: v.clone() for k, v in g.items()}
    state = tx.init(g)
    first, second = tx.update(g, state), tx.update(g, state)
    for k in g:
        torch.testing.assert_close(g[k], before[k])
        torch.testing.assert_close(first[0][k], second[0][k])
        assert first[0][k].shape == g[k].shape and first[0][k].dtype == g[k].dtype
    assert int(state.count) == 0 and int(first[1].count) == 1


def test_orthogonalised_update_has_unit_singular_values_after_enough_steps():
    tx = contrib.scale_by_muon(ns_coeffs=(1.5, -0.5, 0.0), ns_steps=60, nesterov=False)
    g = {"m": _tree()["m"]}
    u = tx.update(g, tx.init(g))[0]["m"]
    torch.testing.assert_close(torch.linalg.svdvals(u), torch.ones(3, dtype=torch.float64), atol=1e-6, rtol=0)


def test_muon_routes_non_matrices_to_adamw_and_respects_mu_dtype():
    tx = contrib.muon(0.1, mu_dtype=torch.float32)
    p = {"w": torch.zeros(3, 2, dtype=torch.float64), "b": torch.zeros(2, dtype=torch.float64)}
    state = tx.init(p)
    u, _ = tx.update({k: torch.ones_like(v) for k, v in p.items()}, state, p)
    assert u["w"].dtype == torch.float64 and u["b"].dtype == torch.float64
    assert {v.dtype for v in _float_leaves(state)} >= {torch.float32}


def _float_leaves(tree):
    if isinstance(tree, torch.Tensor):
        return [tree] if tree.is_floating_point() else []
    if isinstance(tree, dict):
        return [x for v in tree.values() for x in _float_leaves(v)]
    if isinstance(tree, (tuple, list)):
        return [x for v in tree for x in _float_leaves(v)]
    return []
