"""Hyperparameters held in the state as tensors, so they can be read, set and scheduled between steps."""

from __future__ import annotations

import contextvars
import functools
import inspect
from collections.abc import Callable, Iterator, Sequence
from typing import Any, NamedTuple

import torch
from torch import Tensor

from optimtx.core.base import GradientTransformation, Params, State, Updates
from optimtx.core.hyperparameter_rules import HYPERPARAMETER_CHECKS, check_hyperparameter
from optimtx.core.inplace import inplace_step, pure_step_, with_step_
from optimtx.core.state_tree import check_state, find_one, replace_node, zero_counter
from optimtx.core.tree import Tree
from optimtx.transforms.kernels import loop_invariant

__all__ = ["Factory", "InjectHyperparamsState", "Value", "get_hyperparams", "inject_hyperparams", "set_hyperparams"]

Factory = Callable[..., GradientTransformation]
Value = Tensor | tuple[Tensor, ...]

# Values init_with_hyperparams asks every injected transform's init to start from (None: the construction values).
_START_VALUES: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar("_START_VALUES", default=None)


class InjectHyperparamsState(NamedTuple):
    """State of a transform built by [`inject_hyperparams`][optimtx.inject_hyperparams].

    Attributes:
        count: updates applied so far (int64 0-d); schedules are evaluated at it.
        hyperparams: dict name -> 0-d float tensor (or tuple of them, e.g. ``betas``):
            the values used by the last update (before any update: the first values).
        inner_state: the state of the transform the factory builds.
    """

    count: Tensor  # type: ignore[assignment]  # public field name (a contract); shadows tuple.count on purpose
    hyperparams: dict[str, Value]
    inner_state: State


def _is_scalar(value: Any) -> bool:
    if isinstance(value, Tensor):
        return value.ndim == 0 and value.is_floating_point()
    return isinstance(value, float)


def _is_numeric(value: Any) -> bool:
    if isinstance(value, (tuple, list)):
        return bool(value) and all(_is_scalar(v) for v in value)
    return _is_scalar(value)


def _keyword_arguments(factory: Factory, args: tuple, kwargs: dict) -> dict[str, Any]:
    try:
        bound = inspect.signature(factory).bind(*args, **kwargs)
    except TypeError as err:
        raise TypeError(f"inject_hyperparams({getattr(factory, '__name__', factory)}): {err}") from None
    out: dict[str, Any] = {}
    for name, value in bound.arguments.items():
        kind = bound.signature.parameters[name].kind
        if kind is inspect.Parameter.VAR_POSITIONAL:
            raise TypeError("inject_hyperparams() cannot inject *args; pass the arguments by name.")
        out.update(value if kind is inspect.Parameter.VAR_KEYWORD else {name: value})
    return out


def _to_tensor(value: Any, like: Tensor) -> Tensor:
    if isinstance(value, Tensor):
        return value.to(like.device, like.dtype)
    # Python numbers go straight to the stored dtype: a float32 detour would round them.
    return torch.tensor(value, dtype=like.dtype, device=like.device)


def _to_value(value: Any, like: Value) -> Value:
    """``value`` (a schedule's output) as tensors like the stored ``like`` (a tensor or a tuple of them)."""
    if isinstance(like, tuple):
        return tuple(_to_tensor(v, o) for v, o in zip(value, like, strict=True))
    return _to_tensor(value, like)


def _invariant(value: Value) -> Value:
    return tuple(loop_invariant(v) for v in value) if isinstance(value, tuple) else loop_invariant(value)


def _materialise(value: Any, dtype: torch.dtype, device: torch.device | None) -> Value:
    like = torch.zeros((), dtype=dtype, device=device)
    if isinstance(value, (tuple, list)):
        return tuple(_to_tensor(v, like) for v in value)
    return _to_tensor(value, like)


def _float_dtype(params: Params) -> torch.dtype:
    dtypes = [p.dtype for p in params.values() if p.is_floating_point()]
    widest = torch.float32
    for d in dtypes:
        widest = torch.promote_types(widest, d)
    return widest


def inject_hyperparams(
    factory: Factory, static_args: Sequence[str] = (), hyperparam_dtype: torch.dtype | None = None
) -> Callable[..., GradientTransformation]:
    """Wrap ``factory`` so its numeric hyperparameters live in the state as tensors.

    ``inject_hyperparams(adam)(lr=1e-3, betas=(0.9, 0.999))`` behaves like
    ``adam(lr=1e-3, betas=(0.9, 0.999))``, but the values sit in
    ``state.hyperparams`` (see [`get_hyperparams`][optimtx.get_hyperparams] /
    [`set_hyperparams`][optimtx.set_hyperparams]) and the
    inner transform is rebuilt from them at every update. Arguments are sorted as:

    * names in ``static_args`` (and in the factory's own ``static_args`` attribute, if any), ints,
      bools, strings, ``None`` and the like: passed as given;
    * floats, 0-d float tensors, and tuples of them: injected, as 0-d tensors in
      ``hyperparam_dtype`` if given, else the params' widest float dtype (at least float32);
    * other callables: schedules, evaluated at the count of applied updates; their value
      is stored too (a value set by hand is replaced at the next update).

    Pass a float (``lr=1.0``, not ``lr=1``) to make a value injectable. Wrapped in
    ``apply_if_finite``, ``scale_by_amp`` or ``accumulate``, the count only advances on
    updates that are applied, since skipped steps leave this state untouched.

    References:
        optax: ``optax.inject_hyperparams``.

    Example:
        >>> from optimtx.transforms.scaling import scale
        >>> tx = inject_hyperparams(scale)(factor=-0.5)
        >>> state = tx.init({"w": torch.ones(1)})
        >>> tx.update({"w": torch.ones(1)}, set_hyperparams(state, factor=-2.0))[0]
        {'w': tensor([-2.])}
    """
    if not callable(factory):
        raise TypeError(f"inject_hyperparams() needs a transform factory, got {factory!r}.")
    if isinstance(static_args, str) or not all(isinstance(n, str) for n in static_args):
        raise TypeError(f"static_args must be a sequence of argument names, got {static_args!r}.")
    if hyperparam_dtype is not None and not (
        isinstance(hyperparam_dtype, torch.dtype) and hyperparam_dtype.is_floating_point
    ):
        raise TypeError(f"hyperparam_dtype must be a floating torch dtype or None, got {hyperparam_dtype!r}.")
    # A factory may name arguments that must stay Python numbers (e.g. muon's ns_coefficients, fused into addmm).
    static_args = (*static_args, *getattr(factory, "static_args", ()))

    @functools.wraps(factory)
    def make(*args: Any, **kwargs: Any) -> GradientTransformation:
        values = _keyword_arguments(factory, args, kwargs)
        static = {k: v for k, v in values.items() if k in static_args or not (callable(v) or _is_numeric(v))}
        schedules = {k: v for k, v in values.items() if k not in static and callable(v)}
        numeric = {k: v for k, v in values.items() if k not in static and k not in schedules}
        first_values = {k: _plain(s(torch.zeros((), dtype=torch.int64))) for k, s in schedules.items()}
        probe = factory(**static, **numeric, **first_values)  # validates the Python values eagerly
        return _injected(factory, static, numeric, schedules, hyperparam_dtype, inplace_step(probe) is not None)

    return make


def _plain(value: Any) -> Any:
    """A schedule's first value with the entries of a tuple as Python numbers, for the factory's checks.

    A schedule may mix numbers and tensors in a tuple (``(0.9 - 0.1 * count, 0.999)``); the values it
    returns are stored as tensors either way, so only a user's own mixed ``betas`` are refused.
    """
    if isinstance(value, (tuple, list)):
        return tuple(v.item() if isinstance(v, Tensor) and v.numel() == 1 else v for v in value)
    return value


def _injected(
    factory: Factory,
    static: dict,
    numeric: dict,
    schedules: dict,
    hyperparam_dtype: torch.dtype | None = None,
    steps_in_place: bool = False,
) -> GradientTransformation:
    def build(hyperparams: dict[str, Value]) -> GradientTransformation:
        return factory(**static, **hyperparams)

    def init(params: Params) -> InjectHyperparamsState:
        count = zero_counter(params)
        dtype, device = hyperparam_dtype or _float_dtype(params), count.device
        firsts = {**numeric, **{k: s(count) for k, s in schedules.items()}}
        start = {k: v for k, v in (_START_VALUES.get() or {}).items() if k in firsts}
        if start:  # the factory itself checks the values, as at construction
            firsts.update(start)
            factory(**static, **firsts)
        hyperparams = {k: _materialise(v, dtype, device) for k, v in firsts.items()}
        return InjectHyperparamsState(count, hyperparams, build(hyperparams).init(params))

    def update(
        updates: Updates, state: InjectHyperparamsState, params: Params | None = None, **extra: Any
    ) -> tuple[Tree, InjectHyperparamsState]:
        current, inner = current_transform(state)
        new_updates, inner_state = inner.update(updates, state.inner_state, params, **extra)
        return new_updates, InjectHyperparamsState(state.count + 1, current, inner_state)

    def current_transform(state: InjectHyperparamsState) -> tuple[dict[str, Value], GradientTransformation]:
        """This step's hyperparameter values and the inner transform built from them."""
        check_state(state, InjectHyperparamsState, f"inject_hyperparams({getattr(factory, '__name__', 'factory')})")
        current = dict(state.hyperparams)
        for name, schedule in schedules.items():
            current[name] = _to_value(schedule(state.count), state.hyperparams[name])
        used = {k: _invariant(v) if k in schedules else v for k, v in current.items()}
        return current, build(used)

    def step_(updates: Updates, state: InjectHyperparamsState, params: Params, _: Any) -> InjectHyperparamsState:
        current, inner = current_transform(state)
        inner_step = inplace_step(inner) or functools.partial(pure_step_, update=inner.update)
        inner_state = inner_step(updates, state.inner_state, params)
        return InjectHyperparamsState(state.count + 1, current, inner_state)

    tx = GradientTransformation(init, update)
    return with_step_(tx, step_) if steps_in_place else tx


def init_with_hyperparams(transform: GradientTransformation, params: Params, **values: Any) -> State:
    """``transform.init(params)`` with its injected hyperparameters starting at ``values``.

    Unlike ``set_hyperparams(transform.init(params), **values)``, whatever ``init`` derives
    from a hyperparameter (Rprop's step sizes, ASGD's first step size, Adagrad's starting
    accumulator) derives from ``values``, as a torch optimizer builds a param group's state from
    that group's settings. The values are checked by the factory itself, as at construction.

    Args:
        transform: a transform holding one or more [`inject_hyperparams`][optimtx.inject_hyperparams] parts.
        params: the parameters to build the state for.
        **values: starting values by name; each must be injected somewhere in ``transform``.

    Example:
        >>> from optimtx.transforms.rprop import rprop
        >>> tx = inject_hyperparams(rprop)(lr=0.1)
        >>> state = init_with_hyperparams(tx, {"w": torch.zeros(2)}, lr=0.01)
        >>> state.inner_state[-1].step_size
        {'w': tensor([0.0100, 0.0100])}
    """
    token = _START_VALUES.set(dict(values))
    try:
        state = transform.init(params)
    finally:
        _START_VALUES.reset(token)
    known = {k for node in inject_nodes(state) for k in node.hyperparams}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ValueError(f"Unknown hyperparameters {unknown}; the injected ones are {sorted(known)}.")
    return state


def inject_nodes(state: Any) -> Iterator[InjectHyperparamsState]:
    """The ``InjectHyperparamsState`` nodes of ``state``, without walking per-parameter buffers.

    Example:
        >>> from optimtx.transforms.scaling import scale
        >>> [sorted(n.hyperparams) for n in inject_nodes(inject_hyperparams(scale)(factor=0.5).init({}))]
        [['factor']]
    """
    for node in _state_nodes(state):
        if isinstance(node, InjectHyperparamsState):
            yield node


def _state_nodes(state: Any) -> Iterator[Any]:
    """Every tuple/NamedTuple node of a state nest (dicts of tensors, i.e. per-parameter buffers, are not entered)."""
    if isinstance(state, tuple):
        yield state
        for child in state:
            yield from _state_nodes(child)
    elif isinstance(state, dict) and not all(isinstance(v, Tensor) for v in state.values()):
        for child in state.values():
            yield from _state_nodes(child)


def _rules(inner_state: State) -> dict[str, Callable[[str, Any], Any]]:
    """The hyperparameter rules for an injected transform: by name, with its states' own rules on top.

    A state class may say how its factory checks a name that means something else elsewhere
    (``hyperparameter_rules``, e.g. ASGD's ``alpha`` is any number >= 0, RMSprop's is in [0, 1]).
    """
    rules = dict(HYPERPARAMETER_CHECKS)
    for node in _state_nodes(inner_state):
        own = getattr(type(node), "hyperparameter_rules", None)
        rules.update(own() if callable(own) else {})
    return rules


def get_hyperparams(state: State) -> dict[str, Value]:
    """The injected hyperparameters (name -> tensor) of the one `InjectHyperparamsState` in ``state``.

    ``state`` may be a chain's or combinator's state; with several injected transforms
    inside, pass the sub-state you mean (``ValueError`` otherwise).

    Example:
        >>> from optimtx.transforms.scaling import scale
        >>> tx = inject_hyperparams(scale)(factor=0.5)
        >>> get_hyperparams(tx.init({"w": torch.ones(1)}))
        {'factor': tensor(0.5000)}
    """
    return dict(find_one(state, InjectHyperparamsState, "inject_hyperparams(...)").hyperparams)


def set_hyperparams(state: State, **values: Any) -> State:
    """A copy of ``state`` with new values for injected hyperparameters (the input is not changed).

    Values may be numbers or 0-d tensors (tuples of them for tuple hyperparameters);
    they are converted to the stored dtype and device (tensors stay differentiable).
    Numbers are checked by the rules the built-in factories apply at construction
    (``lr >= 0``, ``betas`` in [0, 1), no NaN, ...; see
    `optimtx.core.hyperparameter_rules.check_hyperparameter`); tensor values are checked for shape
    only (reading them would sync). All values are checked before any is set.

    Example:
        >>> from optimtx.transforms.scaling import scale
        >>> tx = inject_hyperparams(scale)(factor=0.5)
        >>> state = set_hyperparams(tx.init({"w": torch.ones(1)}), factor=0.25)
        >>> get_hyperparams(state)["factor"]
        tensor(0.2500)
    """
    node = find_one(state, InjectHyperparamsState, "inject_hyperparams(...)")
    unknown = [k for k in values if k not in node.hyperparams]
    if unknown:
        raise ValueError(f"Unknown hyperparameters {unknown}; the injected ones are {sorted(node.hyperparams)}.")
    hyperparams = dict(node.hyperparams)
    rules = _rules(node.inner_state)
    for name, value in values.items():
        check_hyperparameter(name, value, rules)  # the construction rules, before anything is converted
        hyperparams[name] = _converted(name, value, hyperparams[name])
    return replace_node(state, node, node._replace(hyperparams=hyperparams))


def _converted(name: str, value: Any, old: Value) -> Value:
    if isinstance(old, tuple):
        if not isinstance(value, (tuple, list)) or len(value) != len(old):
            raise ValueError(f"Invalid {name}: {value!r}. It must be a sequence of {len(old)} numbers.")
        return tuple(_to_tensor(v, o) for v, o in zip(value, old, strict=True))  # numbers checked already
    return _to_tensor(value, old)  # checked by check_hyperparameter already
