"""optax's wrappers and combinators (``masked``, ``partition``, ``MultiSteps``, ``inject_hyperparams``, ...)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any

import torch
from torch import Tensor

from optimtx.core.base import GradientTransformation, Params, State, Updates
from optimtx.core.tree import Tree, check_leaves
from optimtx.core.validation import check_bool, check_positive_int
from optimtx.optax._stateful import StatefulSchedule, inject_stateful_hyperparams
from optimtx.transforms import finite, hyperparams, masking
from optimtx.transforms import lookahead as _lookahead
from optimtx.transforms.accumulate import AccumulateState, accumulate
from optimtx.transforms.conditionality import apply_every, conditionally_mask, conditionally_transform
from optimtx.transforms.freezing import as_mask, freeze, selective_transform
from optimtx.transforms.monitoring import measure_with_ema, monitor, snapshot
from optimtx.transforms.wrapping import flatten


def _no_extra_masking(mask_compatible_extra_args: bool) -> None:
    if mask_compatible_extra_args is not False:
        raise ValueError(
            f"mask_compatible_extra_args={mask_compatible_extra_args!r} is not supported: optimtx passes keyword "
            "extras to the inner transform unmasked (only False, optax's default, is accepted)."
        )


def masked(
    inner: GradientTransformation, mask: Any, *, mask_compatible_extra_args: bool = False
) -> GradientTransformation:
    """optax's ``masked``: ``inner`` on the parameters where ``mask`` (bool, dict or callable) is True.

    Example:
        >>> from optimtx.optax import sgd
        >>> tx = masked(sgd(1.0), {"w": True, "b": False})
        >>> g = {"w": torch.ones(1), "b": torch.ones(1)}
        >>> tx.update(g, tx.init(g))[0]
        {'w': tensor([-1.]), 'b': tensor([1.])}
    """
    _no_extra_masking(mask_compatible_extra_args)
    return masking.masked(inner, as_mask(mask))


def partition(
    transforms: Mapping[Hashable, GradientTransformation],
    param_labels: Any,
    *,
    mask_compatible_extra_args: bool = False,
) -> GradientTransformation:
    """optax's ``partition``: one transform per label (see [`multi_transform`][optimtx.multi_transform]).

    Example:
        >>> from optimtx.optax import sgd, set_to_zero
        >>> tx = partition({"a": sgd(1.0), "z": set_to_zero()}, {"w": "a", "b": "z"})
        >>> g = {"w": torch.ones(1), "b": torch.ones(1)}
        >>> tx.update(g, tx.init(g))[0]
        {'w': tensor([-1.]), 'b': tensor([0.])}
    """
    _no_extra_masking(mask_compatible_extra_args)
    return masking.multi_transform(transforms, param_labels)


def multi_transform(
    transforms: Mapping[Hashable, GradientTransformation],
    param_labels: Any,
    *,
    mask_compatible_extra_args: bool = False,
) -> GradientTransformation:
    """optax's ``multi_transform`` (the older name of [`partition`][optimtx.optax.partition]).

    Example:
        >>> from optimtx.optax import sgd
        >>> tx = multi_transform({"a": sgd(1.0), "b": sgd(0.5)}, {"w": "a", "b": "b"})
        >>> g = {"w": torch.ones(1), "b": torch.ones(1)}
        >>> tx.update(g, tx.init(g))[0]
        {'w': tensor([-1.]), 'b': tensor([-0.5000])}
    """
    return partition(transforms, param_labels, mask_compatible_extra_args=mask_compatible_extra_args)


def apply_if_finite(inner: GradientTransformation, max_consecutive_errors: int) -> GradientTransformation:
    """optax's ``apply_if_finite``: skip non-finite steps, until ``max_consecutive_errors`` of them in a row.

    Example:
        >>> from optimtx.optax import sgd
        >>> tx = apply_if_finite(sgd(1.0), max_consecutive_errors=5)
        >>> u, s = tx.update({"w": torch.tensor([float("nan")])}, tx.init({"w": torch.ones(1)}))
        >>> u, s.notfinite_count
        ({'w': tensor([0.])}, tensor(1))
    """
    return finite.apply_if_finite(inner, max_consecutive_errors)


def inject_hyperparams(
    inner_factory: Callable[..., GradientTransformation],
    static_args: str | Sequence[str] = (),
    hyperparam_dtype: torch.dtype | None = None,
) -> Callable[..., GradientTransformation]:
    """optax's ``inject_hyperparams``: hyperparameters in ``state.hyperparams`` as tensors.

    See [`inject_hyperparams`][optimtx.inject_hyperparams]; ``hyperparam_dtype`` is a torch dtype. Given a
    [`StatefulSchedule`][optimtx.optax.StatefulSchedule] as an argument it builds
    [`inject_stateful_hyperparams`][optimtx.optax.inject_stateful_hyperparams]'s transform, as optax does.

    Example:
        >>> from optimtx.optax import sgd
        >>> tx = inject_hyperparams(sgd)(learning_rate=0.1)
        >>> s = tx.init({"w": torch.ones(1)})
        >>> float(s.hyperparams["learning_rate"])
        0.10000000149011612
    """
    names = (static_args,) if isinstance(static_args, str) else tuple(static_args)
    plain = hyperparams.inject_hyperparams(inner_factory, names, hyperparam_dtype)
    stateful = inject_stateful_hyperparams(inner_factory, names, hyperparam_dtype)

    @functools.wraps(plain)
    def make(*args: Any, **kwargs: Any) -> GradientTransformation:
        if any(isinstance(v, StatefulSchedule) for v in (*args, *kwargs.values())):  # optax 0.2.8 takes these too
            return stateful(*args, **kwargs)
        return plain(*args, **kwargs)

    return make


def lookahead(
    fast_optimizer: GradientTransformation, sync_period: int, slow_step_size: float | Tensor, reset_state: bool = False
) -> GradientTransformation:
    """optax's ``lookahead``, with the slow weights kept in the state (read them with ``get_slow_params``).

    The parameters passed around are the fast ones (no ``LookaheadParams``); ``reset_state=True`` is not supported.

    Example:
        >>> from optimtx.optax import sgd
        >>> tx = lookahead(sgd(1.0), sync_period=2, slow_step_size=0.5)
        >>> p = {"w": torch.zeros(1)}
        >>> tx.update({"w": torch.ones(1)}, tx.init(p), p)[0]
        {'w': tensor([-1.])}
    """
    if reset_state is not False:
        raise ValueError(f"reset_state={reset_state!r} is not supported by optimtx.optax.lookahead; pass False.")
    return _lookahead.lookahead(fast_optimizer, sync_period, slow_step_size)


def skip_not_finite(updates: Updates, gradient_step: Tensor, params: Params | None) -> tuple[Tensor, dict[str, Tensor]]:
    """optax's ``skip_not_finite``: skip a step with any inf or NaN; report how many entries were not finite.

    Example:
        >>> skip, info = skip_not_finite({"w": torch.tensor([1.0, float("inf")])}, torch.tensor(0), None)
        >>> skip, info["num_not_finite"]
        (tensor(True), tensor(1))
    """
    del gradient_step, params
    tensors = check_leaves(updates)
    count = sum((~torch.isfinite(t)).sum() for t in tensors) if tensors else torch.zeros((), dtype=torch.int64)
    count = torch.as_tensor(count)
    return count > 0, {"should_skip": count > 0, "num_not_finite": count}


def skip_large_updates(
    updates: Updates, gradient_step: Tensor, params: Params | None, max_squared_norm: float | Tensor
) -> tuple[Tensor, dict[str, Tensor]]:
    """optax's ``skip_large_updates``: skip a step whose squared 2-norm is not below ``max_squared_norm``.

    Example:
        >>> skip, info = skip_large_updates({"w": torch.tensor([3.0, 4.0])}, torch.tensor(0), None, 100.0)
        >>> skip, info["norm_squared"]
        (tensor(False), tensor(25.))
    """
    del gradient_step, params
    tensors = check_leaves(updates)
    norm_sq = torch.as_tensor(sum((t * t).sum() for t in tensors) if tensors else 0.0)
    skip = ~(norm_sq < max_squared_norm)
    return skip, {"should_skip": skip, "norm_squared": norm_sq}


class MultiSteps:
    """optax's ``MultiSteps``: accumulate ``every_k_schedule`` gradients, then run ``opt`` once on their mean (or sum).

    Built on [`accumulate`][optimtx.accumulate]; its state is [`AccumulateState`][optimtx.AccumulateState]
    (``mini_step``, ``gradient_step``, ``acc_grads``, ``inner_state``). The window's sum is kept in
    ``accumulator_dtype`` (float32 by default, as optax; ``None``: the parameters' dtype) and divided by ``k``
    at the end (optax keeps a running mean: the same value up to rounding). ``every_k_schedule`` must be an
    int; ``should_skip_update_fn`` is not supported.

    Example:
        >>> import optimtx.optax as optax
        >>> ms = optax.MultiSteps(optax.sgd(1.0), every_k_schedule=2)
        >>> s = ms.init({"w": torch.zeros(1)})
        >>> u, s = ms.update({"w": torch.ones(1)}, s)
        >>> bool(ms.has_updated(s)), ms.update({"w": torch.full((1,), 3.0)}, s)[0]
        (False, {'w': tensor([-2.])})
    """

    def __init__(
        self,
        opt: GradientTransformation,
        every_k_schedule: int,
        use_grad_mean: bool = True,
        should_skip_update_fn: Callable[..., Any] | None = None,
        accumulator_dtype: torch.dtype | None = torch.float32,
    ) -> None:
        if callable(every_k_schedule):
            raise ValueError("MultiSteps: a schedule for every_k_schedule is not supported; pass an int >= 1.")
        if should_skip_update_fn is not None:
            raise ValueError("MultiSteps: should_skip_update_fn is not supported; wrap opt in apply_if_finite instead.")
        self.inner_opt = opt
        k = check_positive_int("every_k_schedule", every_k_schedule)
        self._tx = accumulate(opt, k, check_bool("use_grad_mean", use_grad_mean), accumulator_dtype=accumulator_dtype)

    def init(self, params: Params) -> State:
        """The accumulation state for ``params``."""
        return self._tx.init(params)

    def update(self, updates: Updates, state: State, params: Params | None = None, **extra: Any) -> tuple[Tree, State]:
        """Accumulate ``updates``; on the k-th call, the inner optimizer's updates for the window."""
        return self._tx.update(updates, state, params, **extra)

    def has_updated(self, state: AccumulateState) -> Tensor:
        """Whether the last ``update`` applied the inner optimizer (a 0-d bool tensor)."""
        return state.mini_step == 0

    def gradient_transformation(self) -> GradientTransformation:
        """The same accumulation as a plain [`GradientTransformation`][optimtx.GradientTransformation]."""
        return self._tx


__all__ = [
    "MultiSteps",
    "apply_every",
    "apply_if_finite",
    "conditionally_mask",
    "conditionally_transform",
    "flatten",
    "freeze",
    "inject_hyperparams",
    "lookahead",
    "masked",
    "measure_with_ema",
    "monitor",
    "multi_transform",
    "partition",
    "selective_transform",
    "skip_large_updates",
    "skip_not_finite",
    "snapshot",
]
