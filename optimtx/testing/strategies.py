"""Hypothesis strategies for property-testing update rules: parameter trees, gradients, hyperparameters.

Needs ``hypothesis`` (the ``testing`` extra: ``pip install optimtx[testing]``). Every strategy draws
trees in optimtx's form, a flat ``dict[str, Tensor]`` keyed ``p0``, ``p1``, ...; the values come from a
seeded ``torch.Generator``, so a failing example shrinks and replays exactly.

Example:
    >>> import torch
    >>> from hypothesis import given, settings
    >>> from optimtx.testing import strategies as ots
    >>> @settings(max_examples=5)
    ... @given(tree=ots.trees(dtypes=(torch.float32, torch.bfloat16), layouts=("contiguous", "transposed")))
    ... def test_keys(tree):
    ...     assert all(k.startswith("p") for k in tree)
    >>> test_keys()
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import Tensor

try:
    from hypothesis import strategies as st
except ImportError as error:  # pragma: no cover - exercised only without hypothesis
    raise ImportError(
        "optimtx.testing.strategies needs hypothesis: pip install 'optimtx[testing]' (or pip install hypothesis)."
    ) from error

__all__ = [
    "LAYOUTS",
    "RANGES",
    "SHAPES",
    "clone_tree",
    "gradient_runs",
    "gradients_for",
    "hyperparameters",
    "trees",
]

SHAPES = st.lists(st.integers(1, 5), min_size=0, max_size=3).map(tuple)
"""Shapes of 0 to 3 dimensions, each of size 1 to 5 (``()`` is a 0-d tensor)."""

LAYOUTS = ("contiguous", "transposed", "strided")
"""Memory layouts `trees` can draw: as allocated, a transposed view, every other element of a larger tensor."""

NONFINITE = (math.inf, -math.inf, math.nan)

RANGES: dict[str, Any] = {
    "positive": st.floats(1e-6, 10.0),
    "non_negative": st.one_of(st.just(0.0), st.floats(1e-6, 10.0)),
    "unit_open": st.floats(0.0, 0.999),
    "unit_closed": st.floats(0.0, 1.0),
    "finite": st.floats(-10.0, 10.0),
    "bool": st.booleans(),
    "positive_int": st.integers(1, 8),
    "betas": st.tuples(st.floats(0.0, 0.99), st.floats(0.5, 0.9999)),
}
"""Valid values by kind of argument (the same kinds the project's hostile-value tests refuse)."""


def _layout(t: Tensor, layout: str) -> Tensor:
    """``t``'s values in the given memory layout (same shape and values, different strides)."""
    if layout == "contiguous" or t.ndim == 0:
        return t
    if layout == "transposed":
        return t.transpose(0, -1).contiguous().transpose(0, -1)
    if layout == "strided":
        wide = torch.zeros((*t.shape[:-1], t.shape[-1] * 2), dtype=t.dtype)
        wide[..., ::2] = t
        return wide[..., ::2]
    raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}.")


def _random(shape: tuple[int, ...], seed: int, scale: float, dtype: torch.dtype) -> Tensor:
    gen = torch.Generator().manual_seed(seed)
    if dtype.is_complex:
        real = torch.randn((*shape, 2), generator=gen, dtype=torch.float64) * scale
        return torch.view_as_complex(real).to(dtype)
    return (torch.randn(shape, generator=gen, dtype=torch.float64) * scale).to(dtype)


def _dtype_strategy(dtype: Any, dtypes: Sequence[torch.dtype] | None) -> Any:
    if dtypes is not None:
        if not dtypes or not all(isinstance(d, torch.dtype) for d in dtypes):
            raise ValueError(f"dtypes must be a non-empty sequence of torch.dtype, got {dtypes!r}.")
        return st.sampled_from(tuple(dtypes))
    if not isinstance(dtype, torch.dtype):
        raise TypeError(f"dtype must be a torch.dtype, got {dtype!r}.")
    return st.just(dtype)


def _poison(draw: Any, t: Tensor) -> Tensor:
    """A copy of the contiguous ``t`` with one element set to inf, -inf or nan."""
    out = t.clone()
    out.view(-1)[draw(st.integers(0, t.numel() - 1))] = draw(st.sampled_from(NONFINITE))
    return out


@st.composite
def trees(
    draw: Any,
    min_leaves: int = 1,
    max_leaves: int = 4,
    nonfinite: bool = False,
    dtype: torch.dtype = torch.float32,
    min_ndim: int = 0,
    *,
    dtypes: Sequence[torch.dtype] | None = None,
    layouts: Sequence[str] = ("contiguous",),
    shapes: Any = SHAPES,
) -> dict[str, Tensor]:
    """A parameter (or gradient) tree: ``dict[str, Tensor]`` of small tensors keyed ``p0``, ``p1``, ...

    Args:
        min_leaves: fewest tensors.
        max_leaves: most tensors.
        nonfinite: when true, some tensors get one inf, -inf or nan element.
        dtype: the dtype of every tensor (ignored when ``dtypes`` is given).
        min_ndim: the fewest dimensions of a tensor (0 allows 0-d tensors).
        dtypes: draw each tensor's dtype from these (e.g. ``(torch.float32, torch.bfloat16, torch.complex64)``).
        layouts: draw each tensor's memory layout from these names in `LAYOUTS`.
        shapes: a strategy of shape tuples.

    Example:
        >>> from hypothesis import find
        >>> tree = find(trees(min_leaves=2, min_ndim=1), lambda t: True)
        >>> list(tree), tree["p0"].dtype
        (['p0', 'p1'], torch.float32)
    """
    bad = [name for name in layouts if name not in LAYOUTS]
    if bad or not layouts:
        raise ValueError(f"layouts must be a non-empty sequence of {LAYOUTS}, got {layouts!r}.")
    dtype_st = _dtype_strategy(dtype, dtypes)
    out = {}
    for i in range(draw(st.integers(min_leaves, max_leaves))):
        shape = draw(shapes.filter(lambda s: len(s) >= min_ndim))
        seed = draw(st.integers(0, 2**31 - 1))
        scale = draw(st.sampled_from([1e-3, 1.0, 1e3]))
        t = _random(shape, seed, scale, draw(dtype_st))
        if nonfinite and t.numel() and draw(st.booleans()):
            t = _poison(draw, t)
        out[f"p{i}"] = _layout(t, draw(st.sampled_from(tuple(layouts))))
    return out


@st.composite
def gradients_for(draw: Any, params: Mapping[str, Tensor], nonfinite: bool = False) -> dict[str, Tensor]:
    """Gradients shaped and typed like ``params`` (same keys, order, shapes, dtypes); optionally with inf/NaN.

    Example:
        >>> from hypothesis import find
        >>> grads = find(gradients_for({"w": torch.ones(2, dtype=torch.bfloat16)}), lambda g: True)
        >>> grads["w"].shape, grads["w"].dtype
        (torch.Size([2]), torch.bfloat16)
    """
    seed = draw(st.integers(0, 2**31 - 1))
    out = {}
    for i, (k, p) in enumerate(params.items()):
        g = _random(tuple(p.shape), seed + i, 1.0, p.dtype)
        if nonfinite and g.numel() and draw(st.booleans()):
            g = _poison(draw, g)
        out[k] = g
    return out


@st.composite
def gradient_runs(
    draw: Any, min_steps: int = 2, max_steps: int = 8, dtype: torch.dtype = torch.float64, nonfinite: bool = False
) -> tuple[dict[str, Tensor], list[dict[str, Tensor]]]:
    """``(params, [grads_step_1, ...])``: a small tree and a sequence of gradients for it.

    Example:
        >>> from hypothesis import find
        >>> params, grads = find(gradient_runs(min_steps=3, max_steps=3), lambda run: True)
        >>> len(grads), list(grads[0]) == list(params)
        (3, True)
    """
    params = draw(trees(min_leaves=1, max_leaves=3, dtype=dtype))
    steps = draw(st.integers(min_steps, max_steps))
    return params, [draw(gradients_for(params, nonfinite=nonfinite)) for _ in range(steps)]


def hyperparameters(ranges: Mapping[str, Any]) -> Any:
    """A strategy of keyword-argument dicts, one value per name, drawn from each name's declared range.

    Args:
        ranges: name -> a kind from `RANGES` (``"positive"``,
            ``"unit_open"``, ``"bool"``, ...), a ``(low, high)`` pair of floats, a list of allowed
            values, or any hypothesis strategy.

    Example:
        >>> from hypothesis import find
        >>> find(hyperparameters({"lr": (0.1, 0.1), "nesterov": [True]}), lambda kw: True)
        {'lr': 0.1, 'nesterov': True}
    """
    if not isinstance(ranges, Mapping):
        raise TypeError(f"ranges must be a dict of name -> range, got {ranges!r}.")
    return st.fixed_dictionaries({name: _range_strategy(name, spec) for name, spec in ranges.items()})


def _range_strategy(name: str, spec: Any) -> Any:
    if isinstance(spec, st.SearchStrategy):
        return spec
    if isinstance(spec, str):
        if spec not in RANGES:
            raise ValueError(f"range of {name!r}: unknown kind {spec!r}; accepted kinds: {sorted(RANGES)}.")
        return RANGES[spec]
    if isinstance(spec, tuple) and len(spec) == 2 and all(isinstance(v, (int, float)) for v in spec):
        low, high = float(spec[0]), float(spec[1])
        if not low <= high:
            raise ValueError(f"range of {name!r}: low {low} is above high {high}.")
        return st.floats(low, high)
    if isinstance(spec, list) and spec:
        return st.sampled_from(spec)
    raise TypeError(
        f"range of {name!r} must be a kind name, a (low, high) pair, a non-empty list of values "
        f"or a hypothesis strategy, got {spec!r}."
    )


def clone_tree(tree: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """A copy of ``tree`` with every tensor cloned (keeps keys, order and layout).

    Example:
        >>> t = {"w": torch.ones(2)}
        >>> clone_tree(t)["w"] is t["w"]
        False
    """
    return {k: v.clone() for k, v in tree.items()}
