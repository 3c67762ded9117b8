"""Hypothesis strategies shared by the test modules."""

from __future__ import annotations

import math

import torch
from hypothesis import strategies as st

SHAPES = st.lists(st.integers(1, 5), min_size=0, max_size=3).map(tuple)


@st.composite
def trees(draw, min_leaves: int = 1, max_leaves: int = 4, nonfinite: bool = False, dtype=torch.float32):
    """A dict[str, Tensor] of small tensors; with ``nonfinite`` some entries may be inf/nan."""
    n = draw(st.integers(min_leaves, max_leaves))
    out = {}
    for i in range(n):
        shape = draw(SHAPES)
        seed = draw(st.integers(0, 2**31 - 1))
        scale = draw(st.sampled_from([1e-3, 1.0, 1e3]))
        gen = torch.Generator().manual_seed(seed)
        t = torch.randn(shape, generator=gen, dtype=torch.float64) * scale
        if nonfinite and t.numel() and draw(st.booleans()):
            flat = t.view(-1)
            flat[draw(st.integers(0, flat.numel() - 1))] = draw(st.sampled_from([math.inf, -math.inf, math.nan]))
        out[f"p{i}"] = t.to(dtype)
    return out


def clone_tree(tree):
    return {k: v.clone() for k, v in tree.items()}


@st.composite
def gradient_runs(draw, min_steps: int = 2, max_steps: int = 8, dtype=torch.float64):
    """``(params, [grads_step_1, ...])``: a small float64 tree and a sequence of gradients for it."""
    params = draw(trees(min_leaves=1, max_leaves=3, dtype=dtype))
    steps = draw(st.integers(min_steps, max_steps))
    gen = torch.Generator().manual_seed(draw(st.integers(0, 2**31 - 1)))
    grads = [{k: torch.randn(v.shape, generator=gen, dtype=dtype) for k, v in params.items()} for _ in range(steps)]
    return params, grads
