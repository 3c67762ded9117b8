"""adaptive_grad_clip (torch layout), zero_nans and centralize against plain per-tensor formulas."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import optimtx as otx
from tests.strategies import trees


def _agc_reference(g, p, clipping, eps):
    """Per output unit (row of the flattened tensor); 0-d and 1-d tensors as one unit."""
    rows_g = g.reshape(1, -1) if g.ndim <= 1 else g.reshape(g.shape[0], -1)
    rows_p = p.reshape(1, -1) if p.ndim <= 1 else p.reshape(p.shape[0], -1)
    out = []
    for rg, rp in zip(rows_g, rows_p, strict=True):
        limit = clipping * max(rp.norm().item(), eps)
        norm = rg.norm().item()
        out.append(rg if norm < limit else rg * (limit / max(norm, 1e-6)))
    return torch.stack(out).reshape(g.shape)


@settings(max_examples=20)
@given(grads=trees(dtype=torch.float64), clipping=st.sampled_from([0.01, 0.1, 1.0]), eps=st.sampled_from([1e-3, 1.0]))
def test_adaptive_grad_clip_clips_each_output_unit(grads, clipping, eps):
    params = {
        k: torch.linspace(-1, 2, max(v.numel(), 1), dtype=torch.float64)[: v.numel()].reshape(v.shape) * 0.3
        for k, v in grads.items()
    }
    tx = otx.adaptive_grad_clip(clipping, eps)
    out, _ = tx.update(grads, tx.init(params), params)
    for k in grads:
        torch.testing.assert_close(out[k], _agc_reference(grads[k], params[k], clipping, eps), rtol=1e-12, atol=1e-15)


def test_adaptive_grad_clip_uses_the_first_dim_as_the_unit_of_a_conv_kernel():
    p = {"w": torch.ones(2, 3, 2, 2)}
    p["w"][1] *= 10  # unit norms: sqrt(12) and 10 * sqrt(12)
    g = {"w": torch.ones(2, 3, 2, 2)}  # unit norms sqrt(12) each
    tx = otx.adaptive_grad_clip(0.5)
    out = tx.update(g, tx.init(p), p)[0]["w"]
    torch.testing.assert_close(out[0], torch.full((3, 2, 2), 0.5))  # clipped to half
    torch.testing.assert_close(out[1], torch.ones(3, 2, 2))  # within the limit


def test_adaptive_grad_clip_needs_params():
    tx = otx.adaptive_grad_clip(0.1)
    with pytest.raises(ValueError, match="needs the current parameters"):
        tx.update({"w": torch.ones(1)}, tx.init({}))


@settings(max_examples=20)
@given(grads=trees(nonfinite=True))
def test_zero_nans_zeroes_only_nans_and_flags_them(grads):
    tx = otx.zero_nans()
    out, state = tx.update(grads, tx.init(grads))
    for k, g in grads.items():
        want = torch.where(torch.isnan(g), torch.zeros_like(g), g)
        torch.testing.assert_close(out[k], want, rtol=0, atol=0)  # infinities kept
        assert bool(state.found_nan[k]) == bool(torch.isnan(g).any())


@settings(max_examples=20)
@given(grads=trees(dtype=torch.float64))
def test_centralize_gives_zero_mean_per_output_unit(grads):
    tx = otx.centralize()
    out, _ = tx.update(grads, tx.init(grads))
    for k, g in grads.items():
        if g.ndim <= 1:
            assert torch.equal(out[k], g)
        else:
            means = out[k].reshape(g.shape[0], -1).mean(dim=1)
            torch.testing.assert_close(
                means, torch.zeros_like(means), rtol=0, atol=1e-9 * max(1.0, g.abs().max().item())
            )
            torch.testing.assert_close(
                out[k] - g,
                (out[k] - g).reshape(g.shape[0], -1)[:, :1].expand(g.shape[0], math.prod(g.shape[1:])).reshape(g.shape),
            )


def test_filters_work_in_configs():
    tx = otx.TRANSFORMS.build(
        dict(
            type="chain",
            transforms=[
                dict(type="zero_nans"),
                dict(type="centralize"),
                dict(type="adaptive_grad_clip", clipping=0.1),
                dict(type="sgd", lr=0.1),
            ],
        )
    )
    p = {"w": torch.ones(2, 2)}
    u, _ = tx.update({"w": torch.tensor([[float("nan"), 1.0], [2.0, 0.0]])}, tx.init(p), p)
    assert torch.isfinite(u["w"]).all()
