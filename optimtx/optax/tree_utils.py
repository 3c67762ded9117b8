"""optax's tree helpers (``optax.tree_utils``) on a dict of tensors, or on a single tensor.

A "tree" here is what optimtx transforms take: a dict of tensors keyed by parameter name (a
single tensor also works). Results are new dicts (or a tensor); nothing is modified in place.
The state helpers ``tree_get``/``tree_set`` walk optimtx states (NamedTuples, tuples, dicts).

Example:
    >>> import torch
    >>> from optimtx.optax import tree_utils as otu
    >>> otu.tree_norm({"a": torch.tensor([3.0]), "b": torch.tensor([4.0])})
    tensor(5.)
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import torch
from torch import Tensor

from optimtx.core.state_tree import is_namedtuple

Tree = Mapping[str, Tensor] | Tensor


def _leaves(tree: Tree) -> list[Tensor]:
    if isinstance(tree, Tensor):
        return [tree]
    if isinstance(tree, Mapping):
        return list(tree.values())
    raise TypeError(f"Expected a dict of tensors or a tensor, got {type(tree).__name__}: {tree!r}.")


def _map(fn: Callable[..., Any], tree: Tree, *others: Any) -> Any:
    """``fn`` leaf by leaf; each of ``others`` is a tree like ``tree`` or a value used for every leaf."""
    if isinstance(tree, Tensor):
        return fn(tree, *others)
    _leaves(tree)
    for other in others:
        if isinstance(other, Mapping) and list(other) != list(tree):
            raise ValueError(f"Trees do not match: keys {list(tree)} and {list(other)}.")
    return {k: fn(v, *(o[k] if isinstance(o, Mapping) else o for o in others)) for k, v in tree.items()}


def tree_add(tree_x: Tree, tree_y: Tree, *other_trees: Tree) -> Tree:
    """``x + y (+ ...)`` leaf by leaf.

    Example:
        >>> tree_add({"w": torch.ones(1)}, {"w": torch.ones(1)}, {"w": torch.ones(1)})
        {'w': tensor([3.])}
    """
    return _map(lambda *xs: functools.reduce(torch.add, xs), tree_x, tree_y, *other_trees)


def tree_sub(tree_x: Tree, tree_y: Tree) -> Tree:
    """``x - y`` leaf by leaf.

    Example:
        >>> tree_sub({"w": torch.ones(1)}, {"w": torch.full((1,), 3.0)})
        {'w': tensor([-2.])}
    """
    return _map(torch.sub, tree_x, tree_y)


def tree_mul(tree_x: Tree, tree_y: Tree) -> Tree:
    """``x * y`` leaf by leaf.

    Example:
        >>> tree_mul({"w": torch.full((1,), 2.0)}, {"w": torch.full((1,), 3.0)})
        {'w': tensor([6.])}
    """
    return _map(torch.mul, tree_x, tree_y)


def tree_div(tree_x: Tree, tree_y: Tree) -> Tree:
    """``x / y`` leaf by leaf.

    Example:
        >>> tree_div({"w": torch.full((1,), 3.0)}, {"w": torch.full((1,), 2.0)})
        {'w': tensor([1.5000])}
    """
    return _map(torch.div, tree_x, tree_y)


def tree_scale(scalar: float | Tensor, tree: Tree) -> Tree:
    """``scalar * x`` for each leaf.

    Example:
        >>> tree_scale(2.0, {"w": torch.ones(2)})
        {'w': tensor([2., 2.])}
    """
    return _map(lambda x: scalar * x, tree)


def tree_add_scale(tree_x: Tree, scalar: float | Tensor, tree_y: Tree) -> Tree:
    """``x + scalar * y`` leaf by leaf.

    Example:
        >>> tree_add_scale({"w": torch.ones(1)}, 0.5, {"w": torch.full((1,), 4.0)})
        {'w': tensor([3.])}
    """
    return _map(lambda x, y: x + scalar * y, tree_x, tree_y)


def tree_vdot(tree_x: Tree, tree_y: Tree) -> Tensor:
    """The inner product of two trees (sum over leaves of ``vdot``; conjugates ``x`` for complex values).

    Example:
        >>> x = {"a": torch.tensor([1.0, 2.0]), "b": torch.tensor(3.0)}
        >>> tree_vdot(x, {"a": torch.ones(2), "b": torch.tensor(2.0)})
        tensor(9.)
    """
    pairs = _map(lambda x, y: torch.vdot(x.reshape(-1), y.reshape(-1)), tree_x, tree_y)
    return functools.reduce(torch.add, _leaves(pairs))


def tree_sum(tree: Tree, associative_reduction: bool = False) -> Tensor:
    """The sum of every entry of every leaf.

    Example:
        >>> tree_sum({"a": torch.ones(2), "b": torch.tensor(3.0)})
        tensor(5.)
    """
    del associative_reduction
    return functools.reduce(torch.add, [x.sum() for x in _leaves(tree)])


def tree_max(tree: Tree) -> Tensor:
    """The largest entry of the tree.

    Example:
        >>> tree_max({"a": torch.tensor([1.0, 5.0]), "b": torch.tensor(3.0)})
        tensor(5.)
    """
    return functools.reduce(torch.maximum, [x.max() for x in _leaves(tree)])


def tree_min(tree: Tree) -> Tensor:
    """The smallest entry of the tree.

    Example:
        >>> tree_min({"a": torch.tensor([1.0, 5.0]), "b": torch.tensor(-3.0)})
        tensor(-3.)
    """
    return functools.reduce(torch.minimum, [x.min() for x in _leaves(tree)])


def tree_size(tree: Tree) -> int:
    """The number of entries in the tree.

    Example:
        >>> tree_size({"a": torch.ones(2, 3), "b": torch.tensor(3.0)})
        7
    """
    return sum(x.numel() for x in _leaves(tree))


def tree_norm(tree: Tree, ord: int | float | str | None = None, squared: bool = False) -> Tensor:
    """The norm of all entries together: ``ord`` None/2 (2-norm), 1, or ``inf``/``'inf'``; ``squared`` for 2.

    Example:
        >>> tree_norm({"a": torch.tensor([3.0]), "b": torch.tensor([-4.0])}, ord=1)
        tensor(7.)
    """
    flat = torch.cat([x.reshape(-1) for x in _leaves(tree)])
    if ord in (None, 2, "fro"):
        value = torch.linalg.vector_norm(flat)
        return value * value if squared else value
    if ord in (float("inf"), "inf", torch.inf):
        return flat.abs().max()
    if ord == 1:
        return flat.abs().sum()
    raise ValueError(f"Unsupported ord={ord!r}: tree_norm takes None, 2, 1 or inf.")


def tree_conj(tree: Tree) -> Tree:
    """The complex conjugate of each leaf.

    Example:
        >>> tree_conj({"z": torch.tensor([1 + 2j])})
        {'z': tensor([1.-2.j])}
    """
    return _map(torch.conj, tree)


def tree_real(tree: Tree) -> Tree:
    """The real part of each leaf.

    Example:
        >>> tree_real({"z": torch.tensor([1 + 2j])})
        {'z': tensor([1.])}
    """
    return _map(torch.real, tree)


def tree_where(condition: Tree, tree_x: Tree, tree_y: Tree) -> Tree:
    """``where(condition, x, y)`` leaf by leaf (``condition`` a tree or one 0-d bool tensor).

    Example:
        >>> tree_where(torch.tensor(False), {"w": torch.ones(1)}, {"w": torch.zeros(1)})
        {'w': tensor([0.])}
    """
    if isinstance(condition, Mapping):
        return _map(lambda c, x, y: torch.where(c, x, y), condition, tree_x, tree_y)
    return _map(lambda x, y: torch.where(condition, x, y), tree_x, tree_y)


def tree_clip(tree: Tree, min_value: float | Tensor | None = None, max_value: float | Tensor | None = None) -> Tree:
    """Clamp every entry to ``[min_value, max_value]`` (a bound of None is open).

    Example:
        >>> tree_clip({"w": torch.tensor([-2.0, 0.5, 2.0])}, -1.0, 1.0)
        {'w': tensor([-1.0000,  0.5000,  1.0000])}
    """
    return _map(lambda x: x.clamp(min=min_value, max=max_value), tree)


def tree_zeros_like(tree: Tree, dtype: torch.dtype | None = None) -> Tree:
    """Zeros shaped like each leaf (in ``dtype`` if given).

    Example:
        >>> tree_zeros_like({"w": torch.ones(2)})
        {'w': tensor([0., 0.])}
    """
    return _map(lambda x: torch.zeros_like(x, dtype=dtype), tree)


def tree_ones_like(tree: Tree, dtype: torch.dtype | None = None) -> Tree:
    """Ones shaped like each leaf (in ``dtype`` if given).

    Example:
        >>> tree_ones_like({"w": torch.zeros(2)}, dtype=torch.float64)
        {'w': tensor([1., 1.], dtype=torch.float64)}
    """
    return _map(lambda x: torch.ones_like(x, dtype=dtype), tree)


def tree_full_like(tree: Tree, fill_value: float | Tensor, dtype: torch.dtype | None = None) -> Tree:
    """``fill_value`` shaped like each leaf (in ``dtype`` if given).

    Example:
        >>> tree_full_like({"w": torch.zeros(2)}, 7.0)
        {'w': tensor([7., 7.])}
    """
    return _map(lambda x: torch.zeros_like(x, dtype=dtype).add_(fill_value), tree)


def tree_cast(tree: Tree, dtype: torch.dtype | None) -> Tree:
    """Each leaf in ``dtype`` (``None``: unchanged).

    Example:
        >>> tree_cast({"w": torch.ones(1)}, torch.bfloat16)
        {'w': tensor([1.], dtype=torch.bfloat16)}
    """
    return tree if dtype is None else _map(lambda x: x.to(dtype), tree)


def tree_cast_like(tree: Tree, other_tree: Tree) -> Tree:
    """Each leaf in the dtype of the matching leaf of ``other_tree``.

    Example:
        >>> tree_cast_like({"w": torch.ones(1)}, {"w": torch.zeros(1, dtype=torch.float64)})
        {'w': tensor([1.], dtype=torch.float64)}
    """
    return _map(lambda x, o: x.to(o.dtype), tree, other_tree)


def tree_dtype(tree: Tree, mixed_dtype_handler: str | None = None) -> torch.dtype:
    """The dtype all leaves share; with mixed dtypes, ``'promote'`` gives their promotion, else it is an error.

    Example:
        >>> tree_dtype({"a": torch.ones(1), "b": torch.ones(1, dtype=torch.float64)}, "promote")
        torch.float64
    """
    dtypes = {x.dtype for x in _leaves(tree)}
    if len(dtypes) == 1:
        return dtypes.pop()
    if mixed_dtype_handler == "promote":
        return functools.reduce(torch.promote_types, dtypes)
    raise ValueError(f"The tree has several dtypes {sorted(map(str, dtypes))}; pass mixed_dtype_handler='promote'.")


def tree_allclose(a: Tree, b: Tree, rtol: float = 1e-5, atol: float = 1e-8, equal_nan: bool = False) -> bool:
    """Whether every pair of leaves is close (reads the result on the host).

    Example:
        >>> tree_allclose({"w": torch.ones(1)}, {"w": torch.ones(1) + 1e-9})
        True
    """
    close = _map(lambda x, y: torch.allclose(x, y, rtol=rtol, atol=atol, equal_nan=equal_nan), a, b)
    return all(close.values()) if isinstance(close, dict) else bool(close)


def tree_bias_correction(moment: Tree, decay: float | Tensor, count: int | Tensor) -> Tree:
    """``moment / (1 - decay ** count)`` for each leaf.

    Example:
        >>> tree_bias_correction({"m": torch.tensor([0.1])}, 0.9, 1)
        {'m': tensor([1.])}
    """
    correction = 1 - decay ** torch.as_tensor(count, dtype=torch.float64)
    return _map(lambda m: m / correction.to(m.dtype), moment)


def tree_update_moment(updates: Tree, moments: Tree, decay: float | Tensor, order: int) -> Tree:
    """``(1 - decay) * g ** order + decay * m`` for each leaf.

    Example:
        >>> tree_update_moment({"g": torch.tensor([2.0])}, {"g": torch.tensor([1.0])}, 0.5, 2)
        {'g': tensor([2.5000])}
    """
    return _map(lambda g, m: (1 - decay) * g**order + decay * m, updates, moments)


def tree_update_moment_per_elem_norm(updates: Tree, moments: Tree, decay: float | Tensor, order: int) -> Tree:
    """``(1 - decay) * g ** order + decay * m`` for each leaf (``|g| ** order`` for complex ``g``).

    Example:
        >>> tree_update_moment_per_elem_norm({"g": torch.tensor([-2.0])}, {"g": torch.tensor([0.0])}, 0.5, 2)
        {'g': tensor([2.])}
    """
    return _map(lambda g, m: (1 - decay) * (g.abs() if g.is_complex() else g) ** order + decay * m, updates, moments)


def tree_update_infinity_moment(updates: Tree, moments: Tree, decay: float | Tensor, eps: float | Tensor) -> Tree:
    """``max(|g| + eps, decay * m)`` for each leaf.

    Example:
        >>> tree_update_infinity_moment({"g": torch.tensor([-2.0])}, {"g": torch.tensor([3.0])}, 0.5, 0.0)
        {'g': tensor([2.])}
    """
    return _map(lambda g, m: torch.maximum(g.abs() + eps, decay * m), updates, moments)


def tree_random_like(
    rng_key: int | torch.Generator,
    target_tree: Tree,
    sampler: Callable[..., Tensor] = torch.randn,
    dtype: torch.dtype | None = None,
) -> Tree:
    """Random values shaped like each leaf, from an int seed or a CPU ``torch.Generator``.

    ``sampler`` is called like ``torch.randn(shape, generator=..., dtype=...)``.

    Example:
        >>> tree_random_like(0, {"w": torch.zeros(3)})["w"].shape
        torch.Size([3])
    """
    generator = rng_key if isinstance(rng_key, torch.Generator) else torch.Generator().manual_seed(rng_key)
    return _map(lambda x: sampler(x.shape, generator=generator, dtype=dtype or x.dtype).to(x.device), target_tree)


def _walk(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any, Any]]:
    """(path, name, value) for every NamedTuple field and dict entry under ``node``."""
    if is_namedtuple(node):
        for name, value in zip(node._fields, node, strict=True):
            yield (*path, name), name, value
            yield from _walk(value, (*path, name))
    elif isinstance(node, Mapping):
        for name, value in node.items():
            yield (*path, name), name, value
            yield from _walk(value, (*path, name))
    elif isinstance(node, (tuple, list)):
        for i, value in enumerate(node):
            yield from _walk(value, (*path, i))


def tree_get_all_with_path(tree: Any, key: Any, filtering: Callable[[tuple, Any], bool] | None = None) -> list[tuple]:
    """Every ``(path, value)`` whose field or dict key is ``key`` (and passes ``filtering(path, value)``).

    Example:
        >>> from optimtx.optax import inject_hyperparams, sgd
        >>> state = inject_hyperparams(sgd)(learning_rate=0.1).init({"w": torch.ones(1)})
        >>> [path for path, _ in tree_get_all_with_path(state, "learning_rate")]
        [('hyperparams', 'learning_rate')]
    """
    return [(p, v) for p, name, v in _walk(tree) if name == key and (filtering is None or filtering(p, v))]


def tree_get(tree: Any, key: Any, default: Any = None, filtering: Callable[[tuple, Any], bool] | None = None) -> Any:
    """The one value named ``key`` in a state (``default`` if none; ``KeyError`` if several).

    Example:
        >>> from optimtx.optax import inject_hyperparams, sgd
        >>> state = inject_hyperparams(sgd)(learning_rate=0.5).init({"w": torch.ones(1)})
        >>> tree_get(state, "learning_rate")
        tensor(0.5000)
    """
    found = tree_get_all_with_path(tree, key, filtering)
    if len(found) > 1:
        raise KeyError(f"Found {len(found)} values named {key!r} (at {[p for p, _ in found]}); pass filtering.")
    return found[0][1] if found else default


def _replace(node: Any, path: tuple, values: Mapping[Any, Any], filtering: Callable | None) -> Any:
    def new(name: Any, value: Any) -> Any:
        here = (*path, name)
        if name in values and (filtering is None or filtering(here, value)):
            return values[name]
        return _replace(value, here, values, filtering)

    if is_namedtuple(node):
        return type(node)(*(new(n, v) for n, v in zip(node._fields, node, strict=True)))
    if isinstance(node, Mapping):
        return {n: new(n, v) for n, v in node.items()}
    if isinstance(node, (tuple, list)):
        return type(node)(_replace(v, (*path, i), values, filtering) for i, v in enumerate(node))
    return node


def tree_set(tree: Any, filtering: Callable[[tuple, Any], bool] | None = None, /, **kwargs: Any) -> Any:
    """A copy of a state with every field or dict entry named in ``kwargs`` replaced by its value.

    Example:
        >>> from optimtx.optax import inject_hyperparams, sgd
        >>> state = inject_hyperparams(sgd)(learning_rate=0.5).init({"w": torch.ones(1)})
        >>> tree_set(state, learning_rate=torch.tensor(0.25)).hyperparams
        {'learning_rate': tensor(0.2500)}
    """
    missing = [k for k in kwargs if not tree_get_all_with_path(tree, k, filtering)]
    if missing:
        raise KeyError(f"tree_set: no field or key named {missing} in the state.")
    return _replace(tree, (), kwargs, filtering)


__all__ = [
    "tree_add",
    "tree_add_scale",
    "tree_allclose",
    "tree_bias_correction",
    "tree_cast",
    "tree_cast_like",
    "tree_clip",
    "tree_conj",
    "tree_div",
    "tree_dtype",
    "tree_full_like",
    "tree_get",
    "tree_get_all_with_path",
    "tree_max",
    "tree_min",
    "tree_mul",
    "tree_norm",
    "tree_ones_like",
    "tree_random_like",
    "tree_real",
    "tree_scale",
    "tree_set",
    "tree_size",
    "tree_sub",
    "tree_sum",
    "tree_update_infinity_moment",
    "tree_update_moment",
    "tree_update_moment_per_elem_norm",
    "tree_vdot",
    "tree_where",
    "tree_zeros_like",
]
