"""The torch and optax variants of one rule (Rprop, Adafactor) agree where they should, and refuse bad options.

The optax variants' numbers are checked against optax in test_optax_namespace_parity.py; here the laws
that tie each variant to the other (same step sizes, same statistics) and the error paths.
"""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import optimtx
import optimtx.optax as optax
from optimtx.transforms.adafactor import scale_by_factored_rms
from optimtx.transforms.rprop import scale_by_rprop

FLOATS = st.floats(-10.0, 10.0, allow_nan=False, width=64)


def _grads(values: list[float], steps: int) -> list[dict[str, torch.Tensor]]:
    t = torch.tensor(values, dtype=torch.float64)
    return [{"w": t * (-1.0) ** (i * (i + 1) // 2) + 0.1 * i} for i in range(steps)]


@settings(max_examples=25, deadline=None)
@given(st.lists(FLOATS, min_size=1, max_size=5), st.floats(1e-3, 1.0), st.integers(2, 5))
def test_rprop_optax_form_is_torch_form_one_step_late(values, lr, steps):
    """With lr inside step_sizes both forms keep the same step sizes; optax's update at t+1 is torch's at t,
    zeroed where the sign flips at t+1."""
    grads = _grads(values, steps)
    torch_tx, optax_tx = scale_by_rprop(lr), scale_by_rprop(lr, optax_form=True)
    ts, os_ = torch_tx.init(grads[0]), optax_tx.init(grads[0])
    before = [g["w"].clone() for g in grads]
    previous = {"w": torch.zeros_like(grads[0]["w"])}
    for g in grads:
        flipped = (g["w"] * ts.prev["w"]) < 0
        u_torch, ts = torch_tx.update(g, ts)
        u_optax, os_ = optax_tx.update(g, os_)
        torch.testing.assert_close(os_.step_size, ts.step_size, rtol=0, atol=0)
        torch.testing.assert_close(u_optax["w"], torch.where(flipped, 0.0, previous["w"]), rtol=0, atol=0)
        previous = u_torch
    assert all(torch.equal(b, g["w"]) for b, g in zip(before, grads, strict=True))  # inputs untouched


def test_rprop_optax_form_keeps_an_unchanged_step_size_unclamped():
    g = {"w": torch.tensor([1.0, 1.0], dtype=torch.float64)}
    tx = scale_by_rprop(0.5, step_sizes=(1e-3, 0.1), optax_form=True)
    _, state = tx.update(g, tx.init(g))
    assert torch.equal(state.step_size["w"], torch.full((2,), 0.5, dtype=torch.float64))  # g * 0 == 0: kept
    torch_tx = scale_by_rprop(0.5, step_sizes=(1e-3, 0.1))
    assert torch.equal(
        torch_tx.update(g, torch_tx.init(g))[1].step_size["w"], torch.full((2,), 0.1, dtype=torch.float64)
    )


def test_rprop_refusals():
    with pytest.raises(TypeError, match="optax_form"):
        scale_by_rprop(0.1, optax_form="yes")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="learning_rate must be a number"):
        optax.rprop(lambda step: 0.1)
    with pytest.raises(ValueError, match="etas"):
        optax.scale_by_rprop(0.1, eta_minus=1.5)


@settings(max_examples=20, deadline=None)
@given(st.integers(1, 4), st.integers(0, 3), st.integers(0, 2**31 - 1))
def test_adafactor_variants_share_the_factored_statistics(rows, extra, seed):
    """torch's adafactor and optax's scale_by_factored_rms keep the same row/col means of g * g when the last
    dimension is the largest (optax factors the two largest, torch the last two)."""
    gen = torch.Generator().manual_seed(seed)
    shape = (rows, rows + extra)
    p = {"w": torch.randn(shape, generator=gen, dtype=torch.float64)}
    torch_tx = optimtx.adafactor(lr=0.1)
    optax_tx = scale_by_factored_rms(decay_rate=0.8, min_dim_size_to_factor=0, epsilon=0.0)
    ts, os_ = torch_tx.init(p), optax_tx.init(p)
    for _ in range(3):
        g = {"w": torch.randn(shape, generator=gen, dtype=torch.float64)}
        ts = torch_tx.update(g, ts, p)[1]
        os_ = optax_tx.update(g, os_)[1]
    inner = ts[-1] if isinstance(ts, tuple) and not hasattr(ts, "row_var") else ts
    torch.testing.assert_close(inner.row_var["w"].squeeze(-1), os_.v_row["w"], rtol=1e-12, atol=0)
    torch.testing.assert_close(inner.col_var["w"].squeeze(-2), os_.v_col["w"], rtol=1e-12, atol=0)


def test_scale_by_factored_rms_refusals():
    with pytest.raises(ValueError, match="decay_rate"):
        scale_by_factored_rms(decay_rate=1.5)
    with pytest.raises(TypeError, match="decay_rate_fn"):
        scale_by_factored_rms(decay_rate_fn=3)
    tx = scale_by_factored_rms(min_dim_size_to_factor=2)
    state = tx.init({"w": torch.zeros(3, 4)})
    with pytest.raises(ValueError, match="do not match the state"):
        tx.update({"w": torch.zeros(4, 3)}, state)
