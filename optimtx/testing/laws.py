"""``check_transform``: assert the laws every optimtx update rule promises, with a message per broken law."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import torch
from torch import Tensor

from optimtx.core.base import GradientTransformation, apply_updates
from optimtx.core.state_io import load_state_dict, state_dict
from optimtx.testing.host_reads import HostReadError, no_host_reads
from optimtx.testing.samples import sample_gradients, sample_params

__all__ = ["TransformLawError", "check_transform"]

Tree = dict[str, Tensor]


class TransformLawError(AssertionError):
    """A transform broke one of the laws [`check_transform`][optimtx.testing.check_transform] checks.

    Attributes:
        law: the law's name (``"purity"``, ``"determinism"``, ``"device"``, ...).
    """

    def __init__(self, law: str, message: str) -> None:
        super().__init__(f"law {law!r} broken: {message}")
        self.law = law


def check_transform(
    tx_factory: Callable[..., GradientTransformation] | GradientTransformation,
    *,
    kwargs: Mapping[str, Any] | None = None,
    params: Mapping[str, Tensor] | None = None,
    grads: Sequence[Mapping[str, Tensor]] | None = None,
    steps: int = 3,
    nonfinite: bool = True,
    compile: bool = False,
    state_dtype: torch.dtype | None = None,
    reference: Callable[[Tree, list[Tree]], Mapping[str, Tensor]] | None = None,
    torch_optimizer: Callable[[list[Tensor]], torch.optim.Optimizer] | None = None,
    rtol: float | None = None,
    atol: float | None = None,
) -> None:
    """Run a transform through optimtx's laws; raise on the first broken one.

    The laws, checked on every step of a short run:

    * **keys**: the updates have the gradients' keys in the same order, with their shapes and dtypes;
    * **purity**: ``update`` leaves its gradients, state and params exactly as they were;
    * **determinism**: the same inputs give bitwise-equal updates and states (NaN equal to NaN);
    * **no host reads**: ``update`` runs under [`no_host_reads`][optimtx.testing.no_host_reads];
    * **device**: every tensor of the state sits on the parameters' device;
    * **dtype policy**: per-parameter state keeps its parameter's dtype (or ``state_dtype``);
    * **state_dict**: the state survives [`state_dict`][optimtx.state_dict] + ``torch.save`` +
      ``torch.load(weights_only=True)`` + [`load_state_dict`][optimtx.load_state_dict] bitwise;
    * **compile** (when ``compile=True``): ``torch.compile(update, fullgraph=True)`` runs without a
      graph break and equals eager bitwise;
    * **reference** (when given): the parameters after the run equal ``reference(params, grads)``, or
      those of ``torch_optimizer`` stepped on the same gradients (to ``rtol``/``atol``).

    Args:
        tx_factory: a factory such as ``otx.adam`` (called with ``kwargs``), or a built transform.
        kwargs: the factory's keyword arguments.
        params: the parameter tree; by default a mixed tree of 2-d, 1-d and 0-d tensors in float32,
            bfloat16 and float16, some non-contiguous (see [`sample_params`][optimtx.testing.sample_params]).
        grads: one gradient tree per step; by default ``steps`` random trees, the second with inf/NaN
            entries when ``nonfinite``.
        steps: the run's length when ``grads`` is not given.
        nonfinite: put inf/NaN into the default gradients (the laws must hold on them too).
        compile: also check the compile law (declare it for rules that promise ``fullgraph``).
        state_dtype: a dtype per-parameter state may have besides its parameter's (e.g. ``mu_dtype``).
        reference: a function ``(params, grads) -> final params`` the run must equal.
        torch_optimizer: a function ``[tensors] -> torch.optim.Optimizer`` the run must equal.
        rtol: relative tolerance of the reference comparisons (torch's default for the dtype if None).
        atol: absolute tolerance of the reference comparisons.

    Raises:
        TransformLawError: naming the broken law, the step and the leaf
            ([`TransformLawError`][optimtx.testing.TransformLawError]).

    Example:
        >>> import optimtx as otx
        >>> check_transform(otx.sgd, kwargs=dict(lr=0.1, momentum=0.9), compile=True)
        >>> check_transform(otx.adam, kwargs=dict(lr=1e-3), nonfinite=False,
        ...                 torch_optimizer=lambda ps: torch.optim.Adam(ps, lr=1e-3))
    """
    tx = tx_factory if isinstance(tx_factory, GradientTransformation) else tx_factory(**dict(kwargs or {}))
    if not isinstance(tx, GradientTransformation):
        raise TypeError(f"tx_factory must return a GradientTransformation, got {type(tx).__name__}: {tx!r}.")
    params = dict(params) if params is not None else sample_params()
    runs = [dict(g) for g in grads] if grads is not None else sample_gradients(params, steps, nonfinite=nonfinite)
    final = _check_run(tx, params, runs, state_dtype)
    if compile:
        _check_compile(tx, params, runs)
    if reference is not None:
        _check_close("reference", final, dict(reference(_clone(params), [_clone(g) for g in runs])), rtol, atol)
    if torch_optimizer is not None:
        _check_close("torch_optimizer", final, _run_torch(torch_optimizer, params, runs), rtol, atol)


def _check_run(tx: GradientTransformation, params: Tree, runs: list[Tree], state_dtype: torch.dtype | None) -> Tree:
    """The per-step laws over the whole run; returns the parameters at its end."""
    state = tx.init(_clone(params))
    _check_placement(state, params, state_dtype, "after init")
    for step, grads in enumerate(runs, start=1):
        where = f"step {step}"
        before = (_clone(grads), _snapshot(state), _clone(params))
        try:
            with no_host_reads():
                updates, new_state = tx.update(grads, state, params)
        except HostReadError as error:
            raise TransformLawError("no host reads", f"{where}: update {error}") from None
        _check_unchanged(before, (grads, state, params), where)
        _check_keys(updates, grads, where)
        again, again_state = tx.update(grads, state, params)
        _check_equal("determinism", updates, again, f"{where}: a second call with the same inputs gave other updates")
        _check_same_state("determinism", new_state, again_state, f"{where}: a second call gave another state")
        _check_placement(new_state, params, state_dtype, where)
        _check_state_dict(tx, params, new_state, where)
        state, params = new_state, apply_updates(params, updates)
    return params


def _check_unchanged(before: tuple[Tree, Any, Tree], after: tuple[Tree, Any, Tree], where: str) -> None:
    for name, old, new in zip(("grads", "state", "params"), before, after, strict=True):
        now = _snapshot(new) if name == "state" else new
        for path, a, b in _paired_leaves(old, now, name):
            if not _bitwise_equal(a, b):
                raise TransformLawError("purity", f"{where}: update modified its input {path} in place.")


def _check_keys(updates: Mapping[str, Tensor], grads: Tree, where: str) -> None:
    if not isinstance(updates, Mapping) or list(updates) != list(grads):
        got = list(updates) if isinstance(updates, Mapping) else type(updates).__name__
        raise TransformLawError("keys", f"{where}: updates have keys {got}, the gradients {list(grads)}.")
    for k, g in grads.items():
        u = updates[k]
        if not isinstance(u, Tensor) or u.shape != g.shape or u.dtype != g.dtype:
            found = f"{tuple(u.shape)} {u.dtype}" if isinstance(u, Tensor) else type(u).__name__
            raise TransformLawError(
                "keys", f"{where}: updates[{k!r}] is {found}, its gradient {tuple(g.shape)} {g.dtype}."
            )


def _check_placement(state: Any, params: Tree, state_dtype: torch.dtype | None, where: str) -> None:
    device = next(iter(params.values())).device if params else torch.device("cpu")
    for path, t in _leaves(state, "state"):
        if t.device != device:
            raise TransformLawError(
                "device", f"{where}: {path} is on {t.device}, the parameters on {device} (the state must follow them)."
            )
        name = path.rsplit("[", 1)[-1].strip("]'\"")
        p = params.get(name)
        if p is not None and t.shape == p.shape and t.is_floating_point() and t.dtype not in (p.dtype, state_dtype):
            raise TransformLawError(
                "dtype policy",
                f"{where}: {path} is {t.dtype}, its parameter {p.dtype} "
                f"(declare state_dtype= if the rule keeps its state in another dtype on purpose).",
            )


def _check_state_dict(tx: GradientTransformation, params: Tree, state: Any, where: str) -> None:
    try:
        buffer = io.BytesIO()
        torch.save(state_dict(state), buffer)
        buffer.seek(0)
        loaded = load_state_dict(tx.init(_clone(params)), torch.load(buffer, weights_only=True))
    except Exception as error:
        raise TransformLawError("state_dict", f"{where}: the round trip failed: {error}") from error
    _check_same_state("state_dict", loaded, state, f"{where}: the loaded state differs")


def _check_compile(tx: GradientTransformation, params: Tree, runs: list[Tree]) -> None:
    torch._dynamo.reset()  # each check compiles afresh: a recompile limit reached by earlier checks cannot fall back
    compiled = torch.compile(tx.update, fullgraph=True, backend="eager")
    eager_state = compiled_state = tx.init(_clone(params))
    for step, grads in enumerate(runs, start=1):
        want, eager_state = tx.update(grads, eager_state, params)
        try:
            got, compiled_state = compiled(grads, compiled_state, params)
        except Exception as error:
            summary = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise TransformLawError("compile", f"step {step}: fullgraph compile failed: {summary}") from error
        _check_equal("compile", got, want, f"step {step}: compiled updates differ from eager")
        _check_same_state("compile", compiled_state, eager_state, f"step {step}: compiled state differs from eager")


def _run_torch(make: Callable[[list[Tensor]], torch.optim.Optimizer], params: Tree, runs: list[Tree]) -> Tree:
    leaves = {k: torch.nn.Parameter(v.detach().clone()) for k, v in params.items()}
    optimizer = make(list(leaves.values()))
    for grads in runs:
        for k, p in leaves.items():
            p.grad = grads[k].clone()
        optimizer.step()
    return {k: p.detach() for k, p in leaves.items()}


def _check_close(law: str, got: Tree, want: Mapping[str, Tensor], rtol: float | None, atol: float | None) -> None:
    if list(want) != list(got):
        raise TransformLawError(law, f"the reference returned keys {list(want)}, the run has {list(got)}.")
    for k in got:
        try:
            torch.testing.assert_close(got[k], want[k].to(got[k].dtype), rtol=rtol, atol=atol, equal_nan=True)
        except AssertionError as error:
            raise TransformLawError(law, f"params[{k!r}] after the run differs from the reference:\n{error}") from None


def _check_equal(law: str, got: Mapping[str, Tensor], want: Mapping[str, Tensor], what: str) -> None:
    for k in want:
        if not _bitwise_equal(got[k], want[k]):
            raise TransformLawError(law, f"{what} at [{k!r}].")


def _check_same_state(law: str, got: Any, want: Any, what: str) -> None:
    for path, a, b in _paired_leaves(_snapshot(want), _snapshot(got), "state"):
        if not _bitwise_equal(a, b):
            raise TransformLawError(law, f"{what} at {path}.")


def _bitwise_equal(a: Any, b: Any) -> bool:
    if isinstance(a, Tensor) and isinstance(b, Tensor):
        same_kind = a.shape == b.shape and a.dtype == b.dtype and a.device == b.device
        return same_kind and bool(torch.equal(a, b) or (torch.equal(a.isnan(), b.isnan()) and _equal_nan(a, b)))
    return type(a) is type(b) and bool(a == b)


def _equal_nan(a: Tensor, b: Tensor) -> bool:
    fill = torch.zeros((), dtype=a.dtype, device=a.device)
    return torch.equal(torch.where(a.isnan(), fill, a), torch.where(b.isnan(), fill, b))


def _snapshot(state: Any) -> list[tuple[str, Any]]:
    """A detached copy of every leaf of a state (tensors cloned, constants kept), with its path."""
    return [(path, t.detach().clone() if isinstance(t, Tensor) else t) for path, t in _leaves(state, "state", True)]


def _paired_leaves(old: Any, new: Any, name: str) -> Iterator[tuple[str, Any, Any]]:
    a = old if isinstance(old, list) else list(_leaves(old, name, True))
    b = new if isinstance(new, list) else list(_leaves(new, name, True))
    if [p for p, _ in a] != [p for p, _ in b]:
        raise TransformLawError("structure", f"{name} changed structure: {[p for p, _ in a]} -> {[p for p, _ in b]}.")
    for (path, x), (_, y) in zip(a, b, strict=True):
        yield path, x, y


def _leaves(obj: Any, path: str, constants: bool = False) -> Iterator[tuple[str, Any]]:
    """``(path, leaf)`` for every tensor in a nest of NamedTuples, tuples, lists and dicts (and constants if asked)."""
    if isinstance(obj, Tensor):
        yield path, obj
    elif isinstance(obj, tuple) and hasattr(obj, "_fields"):
        for field in obj._fields:
            yield from _leaves(getattr(obj, field), f"{path}.{field}", constants)
    elif isinstance(obj, (tuple, list)):
        for i, item in enumerate(obj):
            yield from _leaves(item, f"{path}[{i}]", constants)
    elif isinstance(obj, Mapping):
        for key, item in obj.items():
            yield from _leaves(item, f"{path}[{key!r}]", constants)
    elif constants and (obj is None or isinstance(obj, (bool, int, float, str))):
        yield path, obj


def _clone(tree: Mapping[str, Tensor]) -> Tree:
    return {k: v.detach().clone() for k, v in tree.items()}
