"""PSGD with a Kronecker-factored preconditioner (PSGD-Kron), as Evan Walters' ``kron`` runs it.

Each tensor of shape ``(d_1, ..., d_n)`` gets one factor per dimension: an upper-triangular ``d_i x d_i``
matrix, or a diagonal (a vector) for 1-D tensors, sizes of 1, sizes above ``max_size_triangular`` and the
dimensions ``memory_save_mode`` picks. A 0-d tensor gets one scalar factor. The preconditioner is
``P = Q^T Q`` applied along every dimension; ``Q`` is fitted by one step of Lie-group gradient descent on a
random probe per update. See ``docs/preconditioners.md``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import torch
from torch import Tensor

from optimtx.core.base import GradientTransformation, Params, Updates, chain
from optimtx.core.state_tree import check_state, zero_counter
from optimtx.core.tree import Tree, check_params, leaves, matched_leaves, rebuild
from optimtx.core.validation import (
    check_bool,
    check_choice,
    check_non_negative,
    check_non_negative_int,
    check_positive_int,
    check_state_dtype,
    check_unit_interval,
)
from optimtx.transforms._linalg import refuse_complex
from optimtx.transforms._probes import gaussian_probe, name_salt
from optimtx.transforms._whole import _whole_tensors
from optimtx.transforms.adam import bias_correction
from optimtx.transforms.optimizers import Hyper, is_present
from optimtx.transforms.scaling import scale_by_learning_rate
from optimtx.transforms.weight_decay import add_decayed_weights

__all__ = ["MEMORY_SAVE_MODES", "ScaleByPsgdKronState", "default_update_probability", "psgd_kron", "scale_by_psgd_kron"]

MEMORY_SAVE_MODES = (None, "one_diag", "smart_one_diag", "all_diag")
_TINY = torch.finfo(torch.bfloat16).tiny  # the reference's eps in the factor updates


class ScaleByPsgdKronState(NamedTuple):
    """State of [`scale_by_psgd_kron`][optimtx.scale_by_psgd_kron].

    Attributes:
        count: how many updates were made (int64 0-d tensor); also the probes' step counter.
        mu: the momentum buffer of each tensor.
        q: the Kronecker factors of each tensor (a tuple: matrices or vectors; one 0-d entry for a 0-d tensor).
        update_counter: steps since the factors were last updated (int64 0-d tensor).
    """

    count: Tensor  # type: ignore[assignment]  # the counter every optimtx state calls count
    mu: dict[str, Tensor]
    q: dict[str, tuple[Tensor, ...]]
    update_counter: Tensor


def default_update_probability(step: Tensor) -> Tensor:
    """The reference's schedule: 1 for 500 steps, then ``exp(-0.001 * (step - 500))``, floored at 0.03 (float32).

    Example:
        >>> default_update_probability(torch.tensor(1500))
        tensor(0.3679)
    """
    prob = torch.exp(-0.001 * (step.to(torch.float32) - 500))
    return prob.clamp(min=0.03, max=1.0)


def _diagonal_dims(shape: torch.Size, mode: str | None) -> list[bool]:
    if mode is None or not shape:
        return [False] * len(shape)
    if mode == "all_diag":
        return [True] * len(shape)
    largest = max(i for i, d in enumerate(shape) if d == max(shape))  # the reference's argsort()[::-1][0]
    top_two = sorted(shape)[-2:]
    if mode == "one_diag" or (len(shape) >= 2 and top_two[1] > top_two[0]):
        return [i == largest for i in range(len(shape))]
    return [False] * len(shape)


class _Plan(NamedTuple):
    """Which factors are triangular matrices (the others are diagonals), from the shape alone."""

    triangular: tuple[bool, ...]


def _plan(shape: torch.Size, max_size: int, min_ndim: int, mode: str | None) -> _Plan:
    if len(shape) > 13:  # the reference's einsum letters run out there; kept as its documented limit
        raise ValueError(f"psgd_kron supports tensors of up to 13 dimensions, got shape {tuple(shape)}.")
    diag = _diagonal_dims(shape, mode)
    return _Plan(tuple(not (d == 1 or d > max_size or len(shape) < min_ndim or diag[i]) for i, d in enumerate(shape)))


def _along(x: Tensor, q: Tensor, axis: int, transpose: bool = False) -> Tensor:
    """``q`` (or its transpose) applied along ``axis`` of ``x``: a matrix product, or a product with a diagonal.

    One dimension at a time, so that no intermediate is larger than ``x`` (a single einsum over all factors
    needs a good contraction order, which torch only finds with ``opt_einsum`` installed).
    """
    if q.ndim < 2:
        return x * (q.reshape([-1] + [1] * (x.ndim - axis - 1)) if x.ndim else q)
    return torch.movedim(torch.tensordot(q, x, dims=([0 if transpose else 1], [axis])), 0, axis)


def _apply_q(qs: tuple[Tensor, ...], x: Tensor, transpose: bool = False) -> Tensor:
    if x.ndim == 0:
        return x * qs[0]
    for axis, q in enumerate(qs):
        x = _along(x, q, axis, transpose)
    return x


def _gram(x: Tensor, axis: int, triangular: bool) -> Tensor:
    """``x x^T`` along ``axis`` (its diagonal for a diagonal factor; ``x * x`` for a 0-d tensor)."""
    if x.ndim == 0:
        return x * x
    others = [a for a in range(x.ndim) if a != axis]
    if triangular:
        return torch.tensordot(x, x, dims=(others, others))
    return (x * x).sum(dim=others) if others else x * x


def _init_q(p: Tensor, plan: _Plan, init_scale: float, dtype: torch.dtype) -> tuple[Tensor, ...]:
    if p.ndim == 0:
        return (torch.full((), init_scale, dtype=dtype, device=p.device),)
    scale = init_scale ** (1 / p.ndim)
    return tuple(
        scale * (torch.eye(d, dtype=dtype, device=p.device) if t else torch.ones(d, dtype=dtype, device=p.device))
        for d, t in zip(p.shape, plan.triangular, strict=True)
    )


def _solve_right(x: Tensor, q: Tensor) -> Tensor:
    """``x @ inv(q)`` along the last dimension, in float32 as the reference (which also serves bfloat16)."""
    flat = x.to(torch.float32).reshape(-1, x.size(-1))
    return torch.linalg.solve_triangular(q.to(torch.float32), flat, upper=True, left=False).reshape_as(x).to(x.dtype)


def _norm_lower_bound(a: Tensor) -> Tensor:
    """A cheap lower bound of the spectral norm of the symmetric ``a`` (its vector norm for a vector)."""
    if a.ndim < 2:
        return torch.linalg.vector_norm(a)
    max_abs = a.abs().max()
    a = a / torch.where(max_abs > 0, max_abs, torch.ones_like(max_abs))
    aa = a * a
    value0, i = aa.sum(dim=0).max(dim=0)
    value1, j = aa.sum(dim=1).max(dim=0)
    tiny = torch.finfo(a.dtype).tiny
    x0 = a.index_select(1, i.reshape(1)).flatten() @ a
    bound0 = torch.linalg.vector_norm((x0 / torch.linalg.vector_norm(x0).clamp(min=tiny)) @ a.T)
    x1 = a @ a.index_select(0, j.reshape(1)).flatten()
    bound1 = torch.linalg.vector_norm(a.T @ (x1 / torch.linalg.vector_norm(x1).clamp(min=tiny)))
    return max_abs * torch.where(value0 > value1, bound0, bound1)


def _fitted_q(qs: tuple[Tensor, ...], plan: _Plan, probe: Tensor, g: Tensor, lr: float) -> tuple[Tensor, ...]:
    """One Lie-group step of every factor towards ``E[P g g^T P] = E[v v^T]`` (the probe ``v``)."""
    a = _apply_q(qs, g)
    order = g.ndim
    dims = list(range(order))
    conj_b = probe.permute(dims[1:] + dims[:1])
    for i, q in enumerate(qs):
        conj_b = conj_b / q if q.ndim < 2 else _solve_right(conj_b, q)
        if i < order - 1:
            conj_b = conj_b.transpose(i, order - 1)
    out = []
    for axis, (q, tri) in enumerate(zip(qs, plan.triangular or (False,), strict=True)):
        term1, term2 = _gram(a, axis, tri), _gram(conj_b, axis, tri)
        step = (term1 - term2) * lr
        if q.ndim < 2:
            step = step * q / ((term1 + term2).abs().max() + _TINY)
        else:
            step = torch.triu(step) / (_norm_lower_bound(term1 + term2) + _TINY) @ q
        out.append(q - step)
    return tuple(out)


def _balanced(qs: tuple[Tensor, ...]) -> tuple[Tensor, ...]:
    """The factors rescaled to equal infinity norms; their Kronecker product (the preconditioner) is unchanged."""
    norms = torch.stack([q.abs().max() for q in qs])
    factors = norms.prod() ** (1 / len(qs)) / norms
    return tuple(q * factors[i] for i, q in enumerate(qs))


def _check_psgd(
    b1: Any, max_size: Any, min_ndim: Any, mode: Any, precond_lr: Any, init_scale: Any, balance_every: Any, seed: Any
) -> None:
    check_unit_interval("b1", b1)
    check_positive_int("max_size_triangular", max_size)
    check_non_negative_int("min_ndim_triangular", min_ndim)
    check_choice("memory_save_mode", mode, MEMORY_SAVE_MODES)
    check_non_negative("precond_lr", precond_lr)
    check_non_negative("precond_init_scale", init_scale)
    check_non_negative_int("balance_every", balance_every)
    check_non_negative_int("seed", seed)


def scale_by_psgd_kron(
    b1: Hyper = 0.9,
    preconditioner_update_probability: float | Callable[[Tensor], Tensor] | None = None,
    max_size_triangular: int = 8192,
    min_ndim_triangular: int = 2,
    memory_save_mode: str | None = None,
    momentum_into_precond_update: bool = True,
    precond_lr: float = 0.1,
    precond_init_scale: float = 1.0,
    mu_dtype: torch.dtype | str | None = None,
    precond_dtype: torch.dtype | str | None = torch.float32,
    balance_every: int = 100,
    seed: int = 0,
) -> GradientTransformation:
    """PSGD-Kron's direction: momentum, preconditioned by a fitted Kronecker product ``Q^T Q``, RMS-capped at 1.1.

    Per step: ``m = b1 * m + (1 - b1) * g`` and ``m_hat = m / (1 - b1**t)`` (in ``precond_dtype``); when
    the update schedule fires, every factor takes one step towards whitening a Gaussian probe (``m_hat``,
    or ``g`` without ``momentum_into_precond_update``, paired with the probe); the output is
    ``P m_hat`` scaled by ``min(1, 1.1 / (rms + 1e-6))``.

    The schedule is the reference's: a counter fires once ``counter >= 1 / prob``, with ``prob`` a number,
    a function of the step tensor, or ``None`` for
    `optimtx.transforms.psgd.default_update_probability`.
    Refreshing is a device-side choice (``torch.where``), so the factor update is computed every step.

    Randomness is deterministic: the probes are a hash of ``(seed, step, leaf name, index)`` (see
    ``optimtx.transforms._probes``), the same on every device and under ``torch.compile``. The reference
    rebalances the factors with probability 0.01 per update; here they are rebalanced every
    ``balance_every`` steps (0: never), which changes nothing but rounding (the product is kept).

    Args:
        b1: momentum, in [0, 1).
        preconditioner_update_probability: how often the factors are fitted (see above).
        max_size_triangular: dimensions above this get a diagonal factor.
        min_ndim_triangular: tensors with fewer dimensions get diagonal factors only (1-D by default).
        memory_save_mode: ``None``, ``'one_diag'`` (the largest dimension diagonal), ``'smart_one_diag'``
            (only when it is strictly the largest) or ``'all_diag'``.
        momentum_into_precond_update: fit the factors to the debiased momentum instead of the gradient.
        precond_lr: the factors' step size.
        precond_init_scale: the initial preconditioner's scale (``Q = s**(1/n) I`` per dimension).
        mu_dtype: dtype of the momentum buffer (``None``: the parameter's).
        precond_dtype: dtype of the factors (``None``: the parameter's). Triangular solves run in float32,
            as in the reference.
        balance_every: rebalance the factors' norms every this many steps (0: never).
        seed: seed of the probes.

    References:
        Li, 2018, *Preconditioner on Matrix Lie Group for SGD* (arXiv:1809.10232); Evan Walters' ``kron_torch``
        (``pytorch_optimizer.Kron`` is a port); heavyball's ``PSGDKron`` family.

    Example:
        >>> tx = scale_by_psgd_kron()
        >>> g = {"w": torch.ones(2, 3)}
        >>> u, state = tx.update(g, tx.init(g))
        >>> u["w"].shape, [q.shape for q in state.q["w"]]
        (torch.Size([2, 3]), [torch.Size([2, 2]), torch.Size([3, 3])])
    """
    _check_psgd(
        b1, max_size_triangular, min_ndim_triangular, memory_save_mode, precond_lr, precond_init_scale,
        balance_every, seed,
    )  # fmt: skip
    check_bool("momentum_into_precond_update", momentum_into_precond_update)
    mu_dtype = check_state_dtype("mu_dtype", mu_dtype)
    precond_dtype = check_state_dtype("precond_dtype", precond_dtype)
    prob = preconditioner_update_probability
    if not (prob is None or callable(prob)):
        check_unit_interval("preconditioner_update_probability", prob, closed_right=True)

    def plan(p: Tensor) -> _Plan:
        return _plan(p.shape, max_size_triangular, min_ndim_triangular, memory_save_mode)

    def init(params: Params) -> ScaleByPsgdKronState:
        check_params(params)
        refuse_complex(params, "scale_by_psgd_kron")
        return ScaleByPsgdKronState(
            count=zero_counter(params),
            mu={k: torch.zeros_like(p, dtype=mu_dtype or p.dtype) for k, p in params.items()},
            q={k: _init_q(p, plan(p), precond_init_scale, precond_dtype or p.dtype) for k, p in params.items()},
            update_counter=zero_counter(params),
        )

    def fire(state: ScaleByPsgdKronState) -> tuple[Tensor, Tensor]:
        counter = state.update_counter + 1
        if prob is None or callable(prob):
            p = (prob or default_update_probability)(state.count).to(torch.float32)
            do = (p > 0) & (counter.to(torch.float32) >= 1 / p)
        elif prob > 0:
            do = counter.to(torch.float64) >= 1 / prob
        else:
            do = torch.zeros_like(counter, dtype=torch.bool)
        return do, torch.where(do, torch.zeros_like(counter), counter)

    def update(
        updates: Updates, state: ScaleByPsgdKronState, params: Params | None = None, **extra: Any
    ) -> tuple[Tree, ScaleByPsgdKronState]:
        del params, extra
        check_state(state, ScaleByPsgdKronState, "scale_by_psgd_kron")
        grads = matched_leaves(updates, state.mu)
        do_update, counter = fire(state)
        count = state.count + 1
        if not grads:
            return {}, state._replace(count=count, update_counter=counter)
        mu = [m * b1 + g.to(m.dtype) * (1 - b1) for m, g in zip(leaves(state.mu), grads, strict=True)]
        bc1 = bias_correction(b1, count)
        balance = do_update & (count % balance_every == 0) if balance_every else None
        out, qs = [], []
        for name, g, m in zip(updates, grads, mu, strict=True):
            q, pl = state.q[name], plan(g)
            m_hat = (m / bc1.to(m.dtype)).to(q[0].dtype)
            if balance is not None and len(q) > 1:
                q = tuple(torch.where(balance, b, a) for a, b in zip(q, _balanced(q), strict=True))
            probe = gaussian_probe(g.shape, seed, count, name_salt(name), q[0].dtype)
            target = m_hat if momentum_into_precond_update else g
            fitted = _fitted_q(q, pl, probe, target, precond_lr)
            q = tuple(torch.where(do_update, b, a) for a, b in zip(q, fitted, strict=True))
            direction = _apply_q(q, _apply_q(q, m_hat), transpose=True).to(g.dtype)
            rms = direction.square().mean().sqrt()
            out.append(direction * torch.clamp(1.1 / (rms + 1e-6), max=1.0))
            qs.append(q)
        new_state = ScaleByPsgdKronState(
            count=count, mu=rebuild(updates, mu), q=dict(zip(updates, qs, strict=True)), update_counter=counter
        )
        return rebuild(updates, out), new_state

    return _whole_tensors(GradientTransformation(init, update))


def psgd_kron(
    lr: Hyper = 1e-3,
    b1: Hyper = 0.9,
    weight_decay: Hyper = 0.0,
    weight_decouple: bool = True,
    **kwargs: Any,
) -> GradientTransformation:
    """PSGD-Kron as an optimizer: [`scale_by_psgd_kron`][optimtx.scale_by_psgd_kron], weight decay, ``-lr``.

    Weight decay applies to tensors with two or more dimensions only, as in the reference: decoupled
    (``p -= lr * (direction + weight_decay * p)``) by default, or added to the gradient first with
    ``weight_decouple=False``. Other keyword arguments go to the ``scale_by`` block.

    Example:
        >>> tx = psgd_kron(lr=0.01)
        >>> p = {"w": torch.zeros(2, 2)}
        >>> u, _ = tx.update({"w": torch.eye(2)}, tx.init(p), p)
        >>> u["w"].shape
        torch.Size([2, 2])

    References:
        Li, 2018 (arXiv:1809.10232); Evan Walters' ``kron_torch``; ``pytorch_optimizer.Kron``.
    """
    check_non_negative("lr", lr, schedule=True)
    check_non_negative("weight_decay", weight_decay)
    check_bool("weight_decouple", weight_decouple)
    core = scale_by_psgd_kron(b1, **kwargs)
    if not is_present(weight_decay):
        return chain(core, scale_by_learning_rate(lr))
    decay = add_decayed_weights(weight_decay, mask=_matrices)
    if weight_decouple:
        return chain(core, decay, scale_by_learning_rate(lr))
    return chain(decay, core, scale_by_learning_rate(lr))


def _matrices(params: Params) -> dict[str, bool]:
    return {k: v.ndim >= 2 for k, v in params.items()}
