"""optax's factored second-moment scaling (``scale_by_factored_rms``), the core of optax's Adafactor.

Shazeer & Stern's estimator as optax writes it: for a tensor whose second-largest dimension has at
least ``min_dim_size_to_factor`` entries, only the means of ``g * g + epsilon`` over each of its two
largest dimensions are kept; smaller tensors keep the whole moment. [`adafactor`][optimtx.adafactor]
is ``torch.optim.Adafactor``'s variant (last two dimensions, relative step size, ``eps`` as a floor).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
from torch import Tensor

from optimtx.core.base import GradientTransformation, Params, Updates
from optimtx.core.state_tree import check_state, zero_counter
from optimtx.core.tree import Tree, check_leaves, check_params, check_same_keys, rebuild
from optimtx.core.validation import check_bool, check_non_negative, check_non_negative_int, check_unit_interval

__all__ = ["FactoredState", "decay_rate_pow", "factored_dims", "scale_by_factored_rms"]


class FactoredState(NamedTuple):
    """State of `scale_by_factored_rms`.

    Attributes:
        count: how many updates were made (int64 0-d).
        v_row: per tensor, the moment's mean over its largest dimension (factored tensors; else a 1-entry zero).
        v_col: per tensor, the mean over its second-largest dimension (factored tensors; else a 1-entry zero).
        v: per tensor, the whole moment (unfactored tensors); for a factored tensor an empty ``(0, *shape)``
            tensor that records its shape, so a transposed update is refused.
    """

    count: Tensor  # type: ignore[assignment]  # public field name (a contract); shadows tuple.count on purpose
    v_row: dict[str, Tensor]
    v_col: dict[str, Tensor]
    v: dict[str, Tensor]


def factored_dims(shape: tuple[int, ...], factored: bool, min_dim_size_to_factor: int) -> tuple[int, int] | None:
    """``(second_largest, largest)`` dimensions to factor over, or ``None`` to keep the whole moment.

    Example:
        >>> factored_dims((256, 512), True, 128), factored_dims((3, 512), True, 128)
        ((0, 1), None)
    """
    if not factored or len(shape) < 2:
        return None
    order = sorted(range(len(shape)), key=lambda d: shape[d])  # stable, as numpy's argsort
    if shape[order[-2]] < min_dim_size_to_factor:
        return None
    return order[-2], order[-1]


def _init_entry(key: str, p: Tensor, dims: tuple[int, int] | None) -> tuple[Tensor, Tensor, Tensor]:
    if p.is_complex():
        raise TypeError(
            f"params[{key!r}] is complex ({p.dtype}); scale_by_factored_rms does not support complex parameters "
            "(which dimensions are factored would depend on the real view)."
        )
    one = torch.zeros(1, dtype=p.dtype, device=p.device)
    if dims is None:
        return one, one.clone(), torch.zeros_like(p)
    d1, d0 = dims
    return torch.zeros_like(p).mean(dim=d0), torch.zeros_like(p).mean(dim=d1), p.new_zeros((0, *p.shape))


def _check_entry(key: str, g: Tensor, dims: tuple[int, int] | None, state: FactoredState) -> None:
    """``g``'s shape against the state built for it (the whole moment, or its two means)."""
    recorded = tuple(state.v[key].shape)
    want = recorded if dims is None else recorded[1:]
    if want != tuple(g.shape) or (dims is not None and recorded[:1] != (0,)) or not g.is_floating_point():
        raise ValueError(
            f"updates[{key!r}] has shape {tuple(g.shape)} and dtype {g.dtype}, which do not match the state "
            "scale_by_factored_rms built at init; build the state with init(params) for these parameters."
        )


def _factored_step(g: Tensor, rows: Tensor, cols: Tensor, dims: tuple[int, int], rate: Tensor, eps: Any) -> tuple:
    d1, d0 = dims
    square = g * g + eps
    rows = rate * rows + (1 - rate) * square.mean(dim=d0)
    cols = rate * cols + (1 - rate) * square.mean(dim=d1)
    reduced = d1 - 1 if d1 > d0 else d1
    row_factor = (rows / rows.mean(dim=reduced, keepdim=True)) ** -0.5
    return g * row_factor.unsqueeze(d0) * (cols**-0.5).unsqueeze(d1), rows, cols


def decay_rate_pow(step: Tensor, exponent: float | Tensor = 0.8) -> Tensor:
    """The moment's decay at ``step`` (from 0): ``1 - (step + 1) ** -exponent`` (optax's ``_decay_rate_pow``).

    Example:
        >>> decay_rate_pow(torch.tensor(0.0)), decay_rate_pow(torch.tensor(3.0), 0.5)
        (tensor(0.), tensor(0.5000))
    """
    return 1.0 - (step + 1.0) ** (-exponent)


def scale_by_factored_rms(
    factored: bool = True,
    decay_rate: float | Tensor = 0.8,
    step_offset: int = 0,
    min_dim_size_to_factor: int = 128,
    epsilon: float | Tensor = 1e-30,
    decay_rate_fn: Any = decay_rate_pow,
) -> GradientTransformation:
    """Divide updates by the root of a (factored) moving mean of ``g * g + epsilon``, as optax's Adafactor.

    At step ``t`` (from 0, minus ``step_offset``) the mean decays by ``1 - (t + 1) ** -decay_rate``.

    Args:
        factored: factor the moment of tensors with two or more large dimensions.
        decay_rate: the exponent of the decay schedule, in [0, 1].
        step_offset: subtracted from the step count in the schedule (>= 0).
        min_dim_size_to_factor: the smallest second-largest dimension that is factored (>= 0).
        epsilon: added to ``g * g`` (>= 0).
        decay_rate_fn: ``(step, decay_rate) -> decay`` (a float64 0-d step tensor), `decay_rate_pow` by default.

    References:
        Shazeer & Stern, 2018, *Adafactor: Adaptive Learning Rates with Sublinear Memory Cost*.
        optax: ``optax.scale_by_factored_rms``.

    Example:
        >>> tx = scale_by_factored_rms(min_dim_size_to_factor=2)
        >>> g = {"w": torch.full((2, 3), 2.0)}
        >>> tx.update(g, tx.init(g))[0]["w"][0]
        tensor([1., 1., 1.])
    """
    check_bool("factored", factored)
    check_unit_interval("decay_rate", decay_rate, closed_right=True)
    check_non_negative_int("step_offset", step_offset)
    check_non_negative_int("min_dim_size_to_factor", min_dim_size_to_factor)
    check_non_negative("epsilon", epsilon)
    if not callable(decay_rate_fn):
        raise TypeError(f"decay_rate_fn must be a callable (step, decay_rate) -> decay, got {decay_rate_fn!r}.")

    def dims_of(p: Tensor) -> tuple[int, int] | None:
        return factored_dims(tuple(p.shape), factored, min_dim_size_to_factor)

    def init(params: Params) -> FactoredState:
        check_params(params)
        entries = {k: _init_entry(k, p, dims_of(p)) for k, p in params.items()}
        rows, cols, whole = ({k: e[i] for k, e in entries.items()} for i in range(3))
        return FactoredState(zero_counter(params), rows, cols, whole)

    def update(
        updates: Updates, state: FactoredState, params: Params | None = None, **extra: Any
    ) -> tuple[Tree, FactoredState]:
        check_state(state, FactoredState, "scale_by_factored_rms")
        check_leaves(updates)
        check_same_keys(state.v, updates, "updates")
        rate = torch.as_tensor(decay_rate_fn((state.count - step_offset).to(torch.float64), decay_rate))
        out, rows, cols, whole = [], dict(state.v_row), dict(state.v_col), dict(state.v)
        for k, g in updates.items():
            dims = dims_of(g)
            _check_entry(k, g, dims, state)
            g = g.to(state.v_row[k].dtype)
            step_rate = rate.to(g.device, g.dtype)
            if dims is None:
                whole[k] = step_rate * state.v[k] + (1 - step_rate) * (g * g + epsilon)
                out.append(g * whole[k] ** -0.5)
            else:
                y, rows[k], cols[k] = _factored_step(g, state.v_row[k], state.v_col[k], dims, step_rate, epsilon)
                out.append(y)
        return rebuild(updates, out), FactoredState(state.count + 1, rows, cols, whole)

    return GradientTransformation(init, update)
