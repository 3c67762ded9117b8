"""optax.contrib's split_real_and_imaginary: refusals and laws (float64 parity: test_optax_rules_parity)."""

from __future__ import annotations

import pytest
import torch

import optimtx.optax as optax
from optimtx.optax.contrib import split_real_and_imaginary


def test_split_names_that_clash_with_keys_are_refused():
    tx = split_real_and_imaginary(optax.sgd(0.1))
    with pytest.raises(ValueError, match="already keys"):
        tx.init({"z": torch.zeros(2, dtype=torch.complex64), "z.real": torch.zeros(2)})


def test_real_entries_pass_through_and_inputs_stay_untouched():
    tx = split_real_and_imaginary(optax.adam(0.1))
    p = {"z": torch.tensor([1.0 + 2.0j], dtype=torch.complex128), "r": torch.ones(2, dtype=torch.float64)}
    g = {"z": torch.tensor([0.5 - 1.0j], dtype=torch.complex128), "r": torch.ones(2, dtype=torch.float64)}
    before = {k: v.clone() for k, v in g.items()}
    state = tx.init(p)
    u, _ = tx.update(g, state, p)
    plain = optax.adam(0.1)
    expect = plain.update({"a": g["z"].real, "b": g["z"].imag}, plain.init({"a": p["z"].real, "b": p["z"].imag}))[0]
    torch.testing.assert_close(u["z"], torch.complex(expect["a"], expect["b"]))
    assert u["r"].dtype == torch.float64 and u["z"].dtype == torch.complex128
    assert all(torch.equal(g[k], before[k]) for k in g)
