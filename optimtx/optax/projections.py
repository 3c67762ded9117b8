"""optax's projections (``optax.projections``) onto convex sets, on a dict of tensors or a single tensor.

Every function computes on the device with tensor ops only (no host read), like the transforms.

Example:
    >>> import torch
    >>> from optimtx.optax import projections
    >>> projections.projection_l2_ball({"w": torch.tensor([3.0, 4.0])}, scale=1.0)
    {'w': tensor([0.6000, 0.8000])}
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from optimtx.optax.tree_utils import (
    Tree,
    _leaves,
    _map,
    tree_add_scale,
    tree_norm,
    tree_scale,
    tree_vdot,
    tree_where,
)


def projection_non_negative(tree: Tree) -> Tree:
    """``max(x, 0)`` entry by entry.

    Example:
        >>> projection_non_negative({"w": torch.tensor([-1.0, 2.0])})
        {'w': tensor([0., 2.])}
    """
    return _map(torch.relu, tree)


def projection_box(tree: Tree, lower: Any, upper: Any) -> Tree:
    """Clamp to ``[lower, upper]`` (numbers, or trees like ``tree``).

    Example:
        >>> projection_box({"w": torch.tensor([-2.0, 2.0])}, -1.0, 1.0)
        {'w': tensor([-1.,  1.])}
    """
    return _map(lambda x, lo, hi: torch.clamp(x, lo, hi), tree, lower, upper)


def projection_hypercube(tree: Tree, scale: float | Tensor = 1) -> Tree:
    """Clamp to ``[0, scale]``.

    Example:
        >>> projection_hypercube(torch.tensor([-2.0, 0.5, 2.0]))
        tensor([0.0000, 0.5000, 1.0000])
    """
    return projection_box(tree, 0, scale)


def _unit_simplex(values: Tensor) -> Tensor:
    """The Euclidean projection of a vector onto ``{x >= 0, sum(x) = 1}`` (sort-based, no host read)."""
    u = torch.sort(values, descending=True).values
    cumsum = torch.cumsum(u, 0)
    ind = torch.arange(1, values.numel() + 1, device=values.device, dtype=values.dtype)
    idx = torch.count_nonzero(1 / ind + (u - cumsum / ind) > 0)
    tau = (cumsum.gather(0, (idx - 1).reshape(1)) - 1) / idx.to(values.dtype)
    return torch.relu(values - tau)


def _ravel(tree: Tree) -> tuple[Tensor, Any]:
    leaves = _leaves(tree)
    flat = torch.cat([x.reshape(-1) for x in leaves])

    def unravel(v: Tensor) -> Tree:
        pieces = [p.reshape(x.shape) for p, x in zip(torch.split(v, [x.numel() for x in leaves]), leaves, strict=True)]
        return pieces[0] if isinstance(tree, Tensor) else dict(zip(tree, pieces, strict=True))

    return flat, unravel


def projection_simplex(tree: Tree, scale: float | Tensor = 1) -> Tree:
    """Project all entries together onto ``{x >= 0, sum(x) = scale}``.

    Example:
        >>> projection_simplex({"w": torch.tensor([2.0, 0.0])})
        {'w': tensor([1., 0.])}
    """
    flat, unravel = _ravel(tree)
    return unravel(scale * _unit_simplex(flat / scale))


def projection_l1_sphere(tree: Tree, scale: float | Tensor = 1) -> Tree:
    """Project onto ``{||x||_1 = scale}``.

    Example:
        >>> projection_l1_sphere({"w": torch.tensor([2.0, -2.0])})
        {'w': tensor([ 0.5000, -0.5000])}
    """
    magnitudes = projection_simplex(_map(torch.abs, tree), scale)
    return _map(torch.mul, _map(torch.sign, tree), magnitudes)


def projection_l1_ball(tree: Tree, scale: float | Tensor = 1) -> Tree:
    """Project onto ``{||x||_1 <= scale}``.

    Example:
        >>> projection_l1_ball({"w": torch.tensor([0.25, -0.25])})
        {'w': tensor([ 0.2500, -0.2500])}
    """
    inside = tree_norm(tree, ord=1) <= scale
    return tree_where(inside, tree, projection_l1_sphere(tree, scale))


def projection_l2_sphere(tree: Tree, scale: float | Tensor = 1) -> Tree:
    """Project onto ``{||x||_2 = scale}``.

    Example:
        >>> projection_l2_sphere({"w": torch.tensor([0.3, 0.4])})
        {'w': tensor([0.6000, 0.8000])}
    """
    return tree_scale(scale / tree_norm(tree), tree)


def projection_l2_ball(tree: Tree, scale: float | Tensor = 1) -> Tree:
    """Project onto ``{||x||_2 <= scale}``.

    Example:
        >>> projection_l2_ball({"w": torch.tensor([0.3, 0.4])})
        {'w': tensor([0.3000, 0.4000])}
    """
    squared = tree_norm(tree, squared=True)
    return tree_scale(scale / torch.sqrt(torch.clamp(squared, min=scale**2)), tree)


def projection_linf_ball(tree: Tree, scale: float | Tensor = 1) -> Tree:
    """Project onto ``{max |x| <= scale}``.

    Example:
        >>> projection_linf_ball({"w": torch.tensor([-2.0, 0.5])})
        {'w': tensor([-1.0000,  0.5000])}
    """
    return projection_box(tree, -scale, scale)


def projection_vector(x: Tree, a: Tree) -> Tree:
    """Project ``x`` onto the line spanned by ``a``.

    Example:
        >>> projection_vector(torch.tensor([1.0, 2.0]), torch.tensor([1.0, 0.0]))
        tensor([1., 0.])
    """
    return tree_scale(tree_vdot(x, a) / tree_vdot(a, a), a)


def projection_hyperplane(x: Tree, a: Tree, b: float | Tensor) -> Tree:
    """Project ``x`` onto ``{y : <a, y> = b}``.

    Example:
        >>> projection_hyperplane(torch.tensor([1.0, 2.0]), torch.tensor([1.0, 0.0]), 3.0)
        tensor([3., 2.])
    """
    return tree_add_scale(x, (b - tree_vdot(x, a)) / tree_vdot(a, a), a)


def projection_halfspace(x: Tree, a: Tree, b: float | Tensor) -> Tree:
    """Project ``x`` onto ``{y : <a, y> <= b}``.

    Example:
        >>> projection_halfspace(torch.tensor([1.0, 2.0]), torch.tensor([1.0, 0.0]), 0.5)
        tensor([0.5000, 2.0000])
    """
    return tree_add_scale(x, torch.clamp((b - tree_vdot(x, a)) / tree_vdot(a, a), max=0), a)


__all__ = [
    "projection_box",
    "projection_halfspace",
    "projection_hypercube",
    "projection_hyperplane",
    "projection_l1_ball",
    "projection_l1_sphere",
    "projection_l2_ball",
    "projection_l2_sphere",
    "projection_linf_ball",
    "projection_non_negative",
    "projection_simplex",
    "projection_vector",
]
