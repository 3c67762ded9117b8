"""Hypothesis strategies shared by the test modules."""

from __future__ import annotations

import math

import torch
from hypothesis import strategies as st

SHAPES = st.lists(st.integers(1, 5), min_size=0, max_size=3).map(tuple)


@st.composite
def trees(
    draw, min_leaves: int = 1, max_leaves: int = 4, nonfinite: bool = False, dtype=torch.float32, min_ndim: int = 0
):
    """A dict[str, Tensor] of small tensors; with ``nonfinite`` some entries may be inf/nan."""
    n = draw(st.integers(min_leaves, max_leaves))
    out = {}
    for i in range(n):
        shape = draw(SHAPES.filter(lambda s: len(s) >= min_ndim))
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


PARAMWISE_MULTS = ("bias_lr_mult", "bias_decay_mult", "norm_decay_mult", "dwconv_decay_mult", "flat_decay_mult")
CUSTOM_KEY_CANDIDATES = ("param1", "sub", "sub.gn", "conv", "bn.", ".param1", "conv2.bias", "weight", "nothing")


@st.composite
def paramwise_cfgs(draw, with_decay: bool = True):
    """A random ``paramwise_cfg`` over MMEngine's multipliers and ``custom_keys`` (for tests.paramwise_cases models)."""
    mult_values = st.sampled_from([0.0, 0.1, 0.5, 1.0, 2.0])
    names = PARAMWISE_MULTS if with_decay else ("bias_lr_mult",)
    cfg = {name: draw(mult_values) for name in names if draw(st.booleans())}
    keys = draw(st.lists(st.sampled_from(CUSTOM_KEY_CANDIDATES), max_size=3, unique=True))
    option = st.fixed_dictionaries(
        {}, optional={"lr_mult": mult_values, **({"decay_mult": mult_values} if with_decay else {})}
    )
    if keys:
        cfg["custom_keys"] = {key: draw(option) for key in keys}
    return cfg
