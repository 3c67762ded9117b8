"""Hypothesis strategies shared by the test modules (the generic ones come from optimtx.testing.strategies)."""

from __future__ import annotations

from hypothesis import strategies as st

# The public kit is the one implementation of the tree strategies; the project's tests use it too.
from optimtx.testing.strategies import SHAPES, clone_tree, gradient_runs, trees

__all__ = ["SHAPES", "clone_tree", "gradient_runs", "paramwise_cfgs", "trees"]

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
