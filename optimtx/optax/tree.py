"""optax's ``optax.tree`` short names (``optax.tree.norm``, ``optax.tree.get``, ...) for the helpers of
[`optimtx.optax.tree_utils`][optimtx.optax.tree_utils]. Not here: ``map_params``, ``batch_shape`` and the PRNG-key
helpers (see the coverage table).

Example:
    >>> import torch
    >>> import optimtx.optax as optax
    >>> optax.tree.norm({"a": torch.tensor([3.0]), "b": torch.tensor([4.0])})
    tensor(5.)
"""

from __future__ import annotations

from optimtx.optax.tree_utils import tree_add as add
from optimtx.optax.tree_utils import tree_add_scale as add_scale
from optimtx.optax.tree_utils import tree_allclose as allclose
from optimtx.optax.tree_utils import tree_bias_correction as bias_correction
from optimtx.optax.tree_utils import tree_cast as cast
from optimtx.optax.tree_utils import tree_cast_like as cast_like
from optimtx.optax.tree_utils import tree_clip as clip
from optimtx.optax.tree_utils import tree_conj as conj
from optimtx.optax.tree_utils import tree_div as div
from optimtx.optax.tree_utils import tree_dtype as dtype
from optimtx.optax.tree_utils import tree_full_like as full_like
from optimtx.optax.tree_utils import tree_get as get
from optimtx.optax.tree_utils import tree_get_all_with_path as get_all_with_path
from optimtx.optax.tree_utils import tree_max as max
from optimtx.optax.tree_utils import tree_min as min
from optimtx.optax.tree_utils import tree_mul as mul
from optimtx.optax.tree_utils import tree_norm as norm
from optimtx.optax.tree_utils import tree_ones_like as ones_like
from optimtx.optax.tree_utils import tree_random_like as random_like
from optimtx.optax.tree_utils import tree_real as real
from optimtx.optax.tree_utils import tree_scale as scale
from optimtx.optax.tree_utils import tree_set as set
from optimtx.optax.tree_utils import tree_size as size
from optimtx.optax.tree_utils import tree_sub as sub
from optimtx.optax.tree_utils import tree_sum as sum
from optimtx.optax.tree_utils import tree_update_infinity_moment as update_infinity_moment
from optimtx.optax.tree_utils import tree_update_moment as update_moment
from optimtx.optax.tree_utils import tree_update_moment_per_elem_norm as update_moment_per_elem_norm
from optimtx.optax.tree_utils import tree_vdot as vdot
from optimtx.optax.tree_utils import tree_where as where
from optimtx.optax.tree_utils import tree_zeros_like as zeros_like

__all__ = [
    "add",
    "add_scale",
    "allclose",
    "bias_correction",
    "cast",
    "cast_like",
    "clip",
    "conj",
    "div",
    "dtype",
    "full_like",
    "get",
    "get_all_with_path",
    "max",
    "min",
    "mul",
    "norm",
    "ones_like",
    "random_like",
    "real",
    "scale",
    "set",
    "size",
    "sub",
    "sum",
    "update_infinity_moment",
    "update_moment",
    "update_moment_per_elem_norm",
    "vdot",
    "where",
    "zeros_like",
]
