"""Exponential moving averages: of the parameters (``ema_params``, for evaluation) and of the updates (``ema``)."""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
from torch import Tensor

from optimtx.core.base import GradientTransformation, Params, State, Updates
from optimtx.core.state_tree import check_state, find_one, zero_counter
from optimtx.core.tree import Tree, leaves, matched_leaves, rebuild, zeros_like
from optimtx.core.validation import check_bool, check_state_dtype, check_unit_interval
from optimtx.transforms.adam import bias_correction
from optimtx.transforms.kernels import lerp, loop_invariant, scalar_list, to_dtype, to_dtypes_of
from optimtx.transforms.weight_decay import require_params

__all__ = ["EmaParamsState", "ema_params", "get_ema_params"]


class EmaParamsState(NamedTuple):
    """State of [`ema_params`][optimtx.ema_params].

    Attributes:
        n_averaged: how many updates were averaged (int64 0-d), as ``AveragedModel.n_averaged``.
        ema: the averaged parameters (what [`get_ema_params`][optimtx.get_ema_params] returns).
    """

    n_averaged: Tensor
    ema: dict[str, Tensor]


def ema_params(decay: float | Tensor) -> GradientTransformation:
    """Keep an exponential moving average of the parameters *after* each update; pass updates through.

    Put it last in a chain, so that ``params + updates`` are the new parameters:
    ``chain(adamw(1e-3), ema_params(0.999))``. After the first update the average is the
    new parameters; after each later one it is ``decay * ema + (1 - decay) * new_params``.
    That is ``torch.optim.swa_utils.AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(decay))``
    with ``update_parameters(model)`` called after every optimizer step. Before any update
    the average is a copy of the initial parameters (as the ``AveragedModel``'s copy).

    Read the average with [`get_ema_params`][optimtx.get_ema_params] (pure path) or evaluate inside
    ``with optimtx.eval_params(optimizer):`` (``TransformOptimizer`` / ``OptimWrapper``).

    Args:
        decay: weight of the old average, in [0, 1].

    References:
        torch: ``torch.optim.swa_utils.AveragedModel`` with ``get_ema_multi_avg_fn``.
        optax has ``optax.ema`` for updates, not parameters.

    Example:
        >>> import optimtx as otx
        >>> tx = otx.chain(otx.sgd(1.0), ema_params(0.5))
        >>> p = {"w": torch.zeros(1)}
        >>> state = tx.init(p)
        >>> for _ in range(2):
        ...     u, state = tx.update({"w": -torch.ones(1)}, state, p)
        ...     p = otx.apply_updates(p, u)
        >>> p, get_ema_params(state)  # params 1 then 2: ema 1, then 0.5 * 1 + 0.5 * 2
        ({'w': tensor([2.])}, {'w': tensor([1.5000])})
    """
    check_unit_interval("decay", decay, closed_right=True)

    def init(params: Params) -> EmaParamsState:
        return EmaParamsState(n_averaged=zero_counter(params), ema={k: v.detach().clone() for k, v in params.items()})

    def update(
        updates: Updates, state: EmaParamsState, params: Params | None = None, **extra: Any
    ) -> tuple[dict[str, Tensor], EmaParamsState]:
        del extra
        check_state(state, EmaParamsState, "ema_params")
        # By name and shape against the average (kept in the parameters' dtypes, as init copied them).
        us = [u.detach() for u in matched_leaves(updates, state.ema)]
        ps = [p.detach() for p in matched_leaves(require_params(params, "ema_params"), state.ema, "params")]
        if not us:
            return {}, state._replace(n_averaged=state.n_averaged + 1)
        # The first update copies (weight 1), like AveragedModel when n_averaged is 0.
        weight = torch.where(state.n_averaged == 0, 1.0, 1 - torch.as_tensor(decay, dtype=torch.float64))
        weights = scalar_list(loop_invariant(weight), ps)
        # lerp(ema, p + u, w) as lerp(ema, p, w) + w * u: no parameter-sized temporary. At w = 1, torch.lerp
        # returns p exactly and p + 1 * u rounds like apply_updates' p + u, so the first copy is exact.
        new_ema = list(torch._foreach_lerp(leaves(state.ema), ps, weights))
        torch._foreach_addcmul_(new_ema, us, weights)
        return dict(updates), EmaParamsState(n_averaged=state.n_averaged + 1, ema=rebuild(updates, new_ema))

    return GradientTransformation(init, update)


def get_ema_params(state: State) -> Tree:
    """The averaged parameters kept by the one `ema_params` inside ``state`` (clone them to keep them).

    Example:
        >>> tx = ema_params(0.9)
        >>> get_ema_params(tx.init({"w": torch.ones(2)}))
        {'w': tensor([1., 1.])}
    """
    return dict(find_one(state, EmaParamsState, "ema_params(...)").ema)


class EmaState(NamedTuple):
    """State of `ema`.

    Attributes:
        count: how many updates were averaged (int64 0-d).
        ema: the running average of the updates (not debiased), in ``accumulator_dtype`` when given.
    """

    count: Tensor  # type: ignore[assignment]  # public field name (a contract); shadows tuple.count on purpose
    ema: dict[str, Tensor]


def ema(
    decay: float | Tensor, debias: bool = True, accumulator_dtype: torch.dtype | str | None = None
) -> GradientTransformation:
    """Replace the updates by their exponential moving average ``decay * ema + (1 - decay) * u``.

    With ``debias`` the output is divided by ``1 - decay ** t`` (``t`` counts updates from 1), so early
    steps are not biased towards 0. Unlike [`trace`][optimtx.trace] (momentum: a sum), this is an average.
    For an average of the *parameters* use [`ema_params`][optimtx.ema_params].

    Args:
        decay: weight of the old average, in [0, 1].
        debias: divide by ``1 - decay ** t``.
        accumulator_dtype: the dtype the average is stored in (``None``: the parameters').

    References:
        optax: ``optax.ema``.

    Example:
        >>> tx = ema(0.5, debias=False)
        >>> s = tx.init({"w": torch.zeros(1)})
        >>> u, s = tx.update({"w": torch.ones(1)}, s)
        >>> u, tx.update({"w": torch.ones(1)}, s)[0]
        ({'w': tensor([0.5000])}, {'w': tensor([0.7500])})
    """
    check_unit_interval("decay", decay, closed_right=True)
    check_bool("debias", debias)
    dtype = check_state_dtype("accumulator_dtype", accumulator_dtype)

    def init(params: Params) -> EmaState:
        return EmaState(count=zero_counter(params), ema=zeros_like(params, dtype=dtype))

    def update(updates: Updates, state: EmaState, params: Params | None = None, **extra: Any) -> tuple[Tree, EmaState]:
        del params, extra
        check_state(state, EmaState, "ema")
        us = matched_leaves(updates, state.ema, keep_dtype=dtype is not None)
        new = lerp(to_dtypes_of(leaves(state.ema), us), us, 1 - decay) if us else []
        count = state.count + 1
        out = new
        if debias and new:
            correction = loop_invariant(bias_correction(decay, count))
            out = list(torch._foreach_div(new, [correction.to(n.device, n.dtype) for n in new]))
        return rebuild(updates, out), EmaState(count=count, ema=rebuild(updates, to_dtype(new, dtype)))

    return GradientTransformation(init, update)
