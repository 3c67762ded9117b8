"""Compile a pure update into a few fused kernels by running it on flat buffers.

``torch.compile`` of a chain over a tree of 161 tensors traces every ``_foreach_*`` op
once per tensor, so the graph, and the compile time, grow with the number of leaves.
Elementwise transforms (Adam moments, decay, learning-rate scaling, value clipping)
and transforms that only reduce over everything at once (clipping by the global
norm) give the same numbers on one long vector as on its pieces. So the helpers here
group the leaves by ``(device, dtype)``, view each group as one flat 1-D buffer, and
compile the update over a tree of a few flat leaves: a graph of constant size.

When the leaves already are consecutive pieces of one buffer (the parameters that
[`compile_step`][optimtx.compile_step] returns are), the flat view costs nothing; otherwise the leaves are
copied into a fresh buffer (one read and one write of each value).

Not for transforms whose result depends on how the values are cut into tensors:
per-name masks or labels (``masked``, ``multi_transform``), per-tensor norms or trust
ratios. Compile those with plain ``torch.compile`` instead.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import torch
import torch.utils._pytree as pytree
from torch import Tensor

from optimtx.core.base import GradientTransformation, Params, Updates, apply_updates
from optimtx.core.inplace import StepFn, inplace_step
from optimtx.core.tree import Tree, check_leaves

__all__ = ["CompiledStep", "FlatLayout", "compile_step", "compile_update"]


State = Any


class FlatLayout(NamedTuple):
    """How a tree's leaves sit in flat per-``(device, dtype)`` buffers.

    Attributes:
        keys: the tree's keys, in order.
        shapes: each leaf's shape.
        groups: flat-buffer name -> the keys it holds, in order (names look like ``"float32@cpu"``).
    """

    keys: tuple[str, ...]
    shapes: tuple[torch.Size, ...]
    groups: dict[str, tuple[str, ...]]

    @classmethod
    def of(cls, tree: Mapping[str, Tensor]) -> FlatLayout:
        """The layout of ``tree``.

        Example:
            >>> FlatLayout.of({"w": torch.ones(2, 2), "b": torch.ones(2)}).groups
            {'float32@cpu': ('w', 'b')}
        """
        groups: dict[str, list[str]] = {}
        for key, leaf in tree.items():
            name = f"{str(leaf.dtype).removeprefix('torch.')}@{leaf.device}"
            groups.setdefault(name, []).append(key)
        shapes = tuple(leaf.shape for leaf in tree.values())
        return cls(tuple(tree.keys()), shapes, {g: tuple(ks) for g, ks in groups.items()})

    def flatten(self, tree: Mapping[str, Tensor], out: dict[str, Tensor] | None = None) -> Tree:
        """One 1-D buffer per group: a view when the leaves are consecutive in memory, else a copy.

        ``out`` (a dict, filled on first use) keeps the buffers copies go into, for reuse.

        Example:
            >>> FlatLayout.of({"w": torch.ones(2)}).flatten({"w": torch.tensor([1.0, 2.0])})
            {'float32@cpu': tensor([1., 2.])}
        """
        check_leaves(tree, "tree")
        if tuple(tree.keys()) != self.keys:
            raise ValueError(
                f"this tree's keys {list(tree.keys())[:5]}... differ from the layout's {list(self.keys)[:5]}...; "
                "pass trees with the keys, in the order, that init() saw."
            )
        for key, leaf, shape in zip(self.keys, tree.values(), self.shapes, strict=True):
            if leaf.shape != shape:
                raise ValueError(
                    f"tree[{key!r}] has shape {tuple(leaf.shape)}, but init() saw shape {tuple(shape)}. "
                    "Pass one tensor of exactly the parameter's shape per name (nothing is broadcast or transposed)."
                )
        return {name: _flat(tree, keys, name, out) for name, keys in self.groups.items()}

    def unflatten(self, flat: Mapping[str, Tensor]) -> Tree:
        """The tree whose leaves are views into the ``flat`` buffers (no copy).

        Example:
            >>> layout = FlatLayout.of({"w": torch.ones(2), "b": torch.ones(1)})
            >>> layout.unflatten({"float32@cpu": torch.arange(3.0)})
            {'w': tensor([0., 1.]), 'b': tensor([2.])}
        """
        shape_of = dict(zip(self.keys, self.shapes, strict=True))
        pieces: dict[str, Tensor] = {}
        for name, keys in self.groups.items():
            sizes = [shape_of[k].numel() for k in keys]
            for key, piece in zip(keys, torch.split(flat[name], sizes), strict=True):
                pieces[key] = piece.view(shape_of[key])
        return {k: pieces[k] for k in self.keys}


def _flat(tree: Mapping[str, Tensor], keys: tuple[str, ...], name: str, out: dict[str, Tensor] | None) -> Tensor:
    leaves = [tree[k] for k in keys]
    view = _consecutive_view(leaves)
    if view is not None:
        return view
    pieces = [leaf.reshape(-1) for leaf in leaves]
    if out is None:
        return torch.cat(pieces)
    if name not in out:
        out[name] = torch.empty(sum(p.numel() for p in pieces), dtype=leaves[0].dtype, device=leaves[0].device)
    return torch.cat(pieces, out=out[name])


def _consecutive_view(leaves: list[Tensor]) -> Tensor | None:
    """A 1-D view covering ``leaves`` when they tile one storage back to back, else ``None``."""
    first = leaves[0]
    offset = first.storage_offset()
    for leaf in leaves:
        if not leaf.is_contiguous() or leaf.untyped_storage().data_ptr() != first.untyped_storage().data_ptr():
            return None
        if leaf.storage_offset() != offset:
            return None
        offset += leaf.numel()
    return first.as_strided((offset - first.storage_offset(),), (1,), first.storage_offset())


class CompiledStep(NamedTuple):
    """A compiled training step for a pure transform (see [`compile_step`][optimtx.compile_step]).

    Attributes:
        init: ``init(params) -> state``, the inner transform's state over the flat buffers.
        step: ``step(params, grads, state) -> (new_params, new_state)``; ``new_params`` are
            views into one new flat buffer per group, so the next step reads them without a copy.
        layout: the [`FlatLayout`][optimtx.FlatLayout] fixed by ``init``.
        flat_step: ``flat_step(flat_params, flat_grads, state) -> (new_flat_params, new_state)``,
            the same step on the flat trees themselves (keys as in ``layout().groups``), for a
            loop that differentiates with respect to the flat buffers so that no gradient
            has to be gathered (see [`compile_step`][optimtx.compile_step]).
    """

    init: Callable[[Params], State]
    step: Callable[[Params, Updates, State], tuple[Tree, State]]
    layout: Callable[[], FlatLayout]
    flat_step: Callable[[Tree, Tree, State], tuple[Tree, State]]


def compile_step(
    tx: GradientTransformation, *, donate: bool = False, in_place: bool = False, **compile_kwargs: Any
) -> CompiledStep:
    """Compile ``update`` followed by ``apply_updates`` over flat buffers, for a fast pure training step.

    ``step(params, grads, state)`` returns what
    ``u, s = tx.update(grads, state, params); apply_updates(params, u), s`` returns, up to float
    rounding (sums over one long vector instead of per-tensor pieces), for transforms that are
    elementwise or reduce over all values at once (see the module notes).

    With ``donate=True`` (as JAX's ``donate_argnums``) the step writes the new parameters and
    state into the buffers of the ones passed in, and gathers gradients into one reused
    buffer, so a step allocates nothing. Fresh large buffers cost a page fault per 4 KiB on
    first touch, which on a CPU can cost more than the update itself. Then the ``params``
    and ``state`` passed to ``step`` are overwritten: use only the returned ones.

    With ``in_place=True`` as well, the step is the transform's in-place step (see
    [`inplace_step`][optimtx.inplace_step]) over the flat buffers instead of a compiled graph:
    for the rules with a torch kernel (``adamw``, ``adam``, ``sgd``, ...) torch's fused or
    foreach kernel runs once per flat buffer, nothing is compiled (no cold-start time), and the
    results are torch's (equal to ``update`` up to float rounding for finite values). A chain
    runs its leading parts' pure ``update`` eagerly. Where the step's kernel does not apply (a
    learning-rate schedule, complex parameters) it falls back to the eager pure update, so
    prefer the compiled step then. It needs ``donate=True`` and a transform that offers a step.

    Gradients that autograd computes for separate parameter tensors are gathered into
    the flat buffer, one read and one write of every value. A loop that takes gradients
    with respect to the flat buffers instead (``torch.func.grad`` of a loss of
    ``layout().unflatten(flat)``) gets flat gradients for free and calls ``flat_step``.

    Args:
        tx: the pure transform, e.g. ``chain(clip_by_global_norm(1.0), adamw(1e-3))``.
        donate: reuse the input buffers for the outputs (see above).
        in_place: run the transform's in-place step eagerly instead of compiling (see above).
        **compile_kwargs: passed to ``torch.compile`` (default ``fullgraph=True``; e.g.
            ``backend="eager"`` to check numerics quickly).

    Example:
        >>> from optimtx import chain, clip_by_global_norm, scale
        >>> fast = compile_step(chain(clip_by_global_norm(1.0), scale(-0.5)), backend="eager")
        >>> params = {"w": torch.zeros(2), "b": torch.zeros(1)}
        >>> state = fast.init(params)
        >>> params, state = fast.step(params, {"w": torch.tensor([3.0, 0.0]), "b": torch.tensor([4.0])}, state)
        >>> params
        {'w': tensor([-0.3000, 0.0000]), 'b': tensor([-0.4000])}

        The same step on flat buffers, with gradients taken with respect to them:

        >>> flat = fast.layout().flatten(params)
        >>> loss = lambda flat: sum(v.square().sum() for v in fast.layout().unflatten(flat).values())
        >>> flat, state = fast.flat_step(flat, torch.func.grad(loss)(flat), state)
        >>> bool(flat["float32@cpu"].abs().max() < 1e-6)  # -0.5 * gradient of |p|^2 lands on the minimum
        True
    """
    holder: dict[str, Any] = {}
    own_step = _in_place_step(tx, donate, in_place)
    if own_step is not None and compile_kwargs:
        raise ValueError(
            f"compile_step(in_place=True) compiles nothing, so torch.compile options {sorted(compile_kwargs)} "
            "would be ignored: drop them, or leave in_place=False."
        )

    def flat_step(flat_params: Tree, flat_grads: Tree, state: State) -> tuple[Tree, State]:
        if own_step is not None:  # torch's kernels write the donated buffers; nothing to compile
            return flat_params, own_step(dict(flat_grads), state, flat_params)
        updates, new_state = tx.update(flat_grads, state, flat_params)
        new_params = apply_updates(flat_params, updates)
        if not donate:
            return new_params, new_state
        # In-place copies of graph inputs: inductor stores the results straight into these buffers.
        for old, new in zip(_tensors(state), _tensors(new_state), strict=True):
            old.copy_(new)
        for key, new in new_params.items():
            flat_params[key].copy_(new)
        return flat_params, state

    compiled = flat_step if own_step is not None else torch.compile(flat_step, **{"fullgraph": True, **compile_kwargs})

    def init(params: Params) -> State:
        holder["layout"] = FlatLayout.of(params)
        holder["staging"] = {}
        return tx.init(holder["layout"].flatten(params))

    def step(params: Params, grads: Updates, state: State) -> tuple[Tree, State]:
        layout = _layout(holder)
        staging = holder["staging"] if donate else None
        new_flat, new_state = compiled(layout.flatten(params), layout.flatten(grads, out=staging), state)
        return layout.unflatten(new_flat), new_state

    def step_flat(flat_params: Tree, flat_grads: Tree, state: State) -> tuple[Tree, State]:
        layout = _layout(holder)
        _check_flat(layout, flat_params, "flat_params")
        _check_flat(layout, flat_grads, "flat_grads")
        return compiled(dict(flat_params), dict(flat_grads), state)

    return CompiledStep(init, step, lambda: _layout(holder), step_flat)


def _in_place_step(tx: GradientTransformation, donate: bool, in_place: bool) -> StepFn | None:
    """The in-place step ``compile_step(in_place=True)`` runs, or ``None``; refuses what cannot be honoured."""
    if not isinstance(in_place, bool):
        raise TypeError(f"compile_step's in_place must be True or False, got {in_place!r}.")
    if not in_place:
        return None
    if donate is not True:
        raise ValueError(
            "compile_step(in_place=True) needs donate=True: the in-place step writes the new parameters and "
            "state into the buffers passed in."
        )
    step = inplace_step(tx)
    if step is None:
        raise ValueError(
            "compile_step(in_place=True): the transform offers no in-place step (see optimtx.inplace_step); "
            "leave in_place=False to compile its update."
        )
    return step


def _check_flat(layout: FlatLayout, flat: Mapping[str, Tensor], what: str) -> None:
    """Raise ``ValueError`` unless ``flat`` holds one 1-D buffer of the right size per layout group."""
    sizes = dict(zip(layout.keys, (shape.numel() for shape in layout.shapes), strict=True))
    expected = {name: sum(sizes[k] for k in keys) for name, keys in layout.groups.items()}
    got = {name: tuple(t.shape) for name, t in flat.items()} if isinstance(flat, Mapping) else flat
    if not isinstance(flat, Mapping) or got != {name: (n,) for name, n in expected.items()}:
        raise ValueError(
            f"{what} must be the flat buffers of the layout, shaped {{name: (numel,)}} = "
            f"{ {name: (n,) for name, n in expected.items()} }, got {got!r}; build them with "
            "layout().flatten(tree)."
        )


def _tensors(state: State) -> list[Tensor]:
    leaves, _ = pytree.tree_flatten(state)
    return [leaf for leaf in leaves if isinstance(leaf, Tensor)]


def compile_update(tx: GradientTransformation, **compile_kwargs: Any) -> GradientTransformation:
    """``tx`` with its ``update`` compiled over flat per-``(device, dtype)`` buffers.

    The result is a [`GradientTransformation`][optimtx.GradientTransformation] like ``tx``: same updates (to float
    rounding, for elementwise or globally reducing transforms), views into flat buffers as
    leaves. Its state is ``tx``'s state over the flat tree (keys such as ``"float32@cpu"``).
    Prefer [`compile_step`][optimtx.compile_step] in a training loop: it also fuses ``apply_updates``.

    Example:
        >>> from optimtx import chain, clip_by_global_norm, scale
        >>> tx = compile_update(chain(clip_by_global_norm(1.0), scale(-1.0)), backend="eager")
        >>> g = {"w": torch.tensor([3.0]), "b": torch.tensor([4.0])}
        >>> tx.update(g, tx.init(g))[0]
        {'w': tensor([-0.6000]), 'b': tensor([-0.8000])}
    """
    holder: dict[str, FlatLayout] = {}
    compiled = torch.compile(tx.update, **{"fullgraph": True, **compile_kwargs})

    def init(params: Params) -> State:
        holder["layout"] = FlatLayout.of(params)
        return tx.init(holder["layout"].flatten(params))

    def update(updates: Updates, state: State, params: Params | None = None, **extra: Any) -> tuple[Tree, State]:
        layout = _layout(holder)
        flat_params = None if params is None else layout.flatten(params)
        flat_updates, new_state = compiled(layout.flatten(updates), state, flat_params, **extra)
        return layout.unflatten(flat_updates), new_state

    return GradientTransformation(init, update)


def _layout(holder: dict[str, FlatLayout]) -> FlatLayout:
    if "layout" not in holder:
        raise ValueError("call init(params) before update/step: the flat layout is fixed by init.")
    return holder["layout"]
