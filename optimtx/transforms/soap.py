"""SOAP: Adam run in the eigenbasis of Shampoo's preconditioner, as the original authors' code runs it.

Per tensor and per dimension ``i`` (of size at most ``max_precondition_dim``), ``L_i`` is an exponential moving
average of the gradient's Gram matrix along that dimension (``g`` unfolded along ``i`` times its transpose) and
``Q_i`` its eigenvectors. The gradient is rotated into that basis, Adam's second moment is kept there, and the
Adam direction is rotated back. 1-D tensors are left unrotated unless ``precondition_1d``; 0-d tensors get
plain Adam; a conv kernel ``(out, in, kh, kw)`` gets one factor per dimension. See ``docs/preconditioners.md``.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import chain as iter_chain
from typing import Any, NamedTuple

import torch
from torch import Tensor

from optimtx.core.base import GradientTransformation, Params, Updates, chain
from optimtx.core.state_tree import check_state, zero_counter
from optimtx.core.tree import Tree, check_params, leaves, matched_leaves, rebuild, zeros_like
from optimtx.core.validation import check_betas, check_bool, check_non_negative, check_positive_int, check_unit_interval
from optimtx.transforms._linalg import finite_or_identity, refuse_complex
from optimtx.transforms._whole import _whole_tensors
from optimtx.transforms.adam import bias_correction
from optimtx.transforms.kernels import lerp
from optimtx.transforms.optimizers import Hyper, is_present
from optimtx.transforms.scaling import scale_by_learning_rate
from optimtx.transforms.weight_decay import require_params

__all__ = ["ScaleBySoapState", "preconditioned_dims", "scale_by_soap", "soap"]


class ScaleBySoapState(NamedTuple):
    """State of [`scale_by_soap`][optimtx.scale_by_soap].

    Attributes:
        count: how many updates were made (int64 0-d tensor). The first one only fills the statistics.
        mu: Adam's first moment, in the parameter's own basis (``exp_avg``).
        nu: Adam's second moment, in the rotated basis (``exp_avg_sq``).
        gg: per tensor, the Gram statistics of its preconditioned dimensions (a tuple of square matrices).
        q: per tensor, their eigenbases (same shapes as ``gg``).
    """

    count: Tensor  # type: ignore[assignment]  # the counter every optimtx state calls count
    mu: dict[str, Tensor]
    nu: dict[str, Tensor]
    gg: dict[str, tuple[Tensor, ...]]
    q: dict[str, tuple[Tensor, ...]]


def preconditioned_dims(shape: torch.Size, max_precondition_dim: int, precondition_1d: bool) -> tuple[bool, ...]:
    """Which dimensions of a tensor of ``shape`` SOAP rotates (the reference's rule).

    Example:
        >>> preconditioned_dims(torch.Size([64, 3, 3, 3]), 32, False), preconditioned_dims(torch.Size([8]), 32, False)
        ((False, True, True, True), (False,))
    """
    if len(shape) == 1:
        return (precondition_1d and shape[0] <= max_precondition_dim,)
    return tuple(d <= max_precondition_dim for d in shape)


def _factor_dtype(dtype: torch.dtype) -> torch.dtype:
    """Statistics and bases in the parameter's dtype, at least float32 (eigh and QR have no bfloat16)."""
    return torch.promote_types(dtype, torch.float32)


def _project(x: Tensor, qs: tuple[Tensor, ...], dims: tuple[bool, ...], back: bool = False) -> Tensor:
    """Rotate ``x`` into (``back``: out of) the bases ``qs``, one dimension at a time, as the reference."""
    it = iter(qs)
    for rotated in dims:
        if rotated:
            x = torch.tensordot(x, next(it).to(x.dtype), dims=[[0], [1 if back else 0]])
        else:
            x = x.permute([*range(1, x.ndim), 0])
    return x


def _gram(g: Tensor, dims: tuple[bool, ...]) -> list[Tensor]:
    """``g`` unfolded along each rotated dimension times its transpose."""
    if g.ndim == 1:
        return [torch.outer(g, g)] if dims[0] else []
    out = []
    for i, rotated in enumerate(dims):
        if rotated:
            others = [*iter_chain(range(i), range(i + 1, g.ndim))]
            out.append(torch.tensordot(g, g, dims=[others, others]))
    return out


def _eigenbasis(gg: Tensor) -> Tensor:
    """Eigenvectors of ``gg``, largest eigenvalue first (the first step's basis)."""
    eye = torch.eye(gg.shape[0], dtype=gg.dtype, device=gg.device)
    return torch.linalg.eigh(gg + 1e-30 * eye)[1].flip(1)


def _refreshed(gg: tuple[Tensor, ...], qs: tuple[Tensor, ...], nu: Tensor, dims: tuple[bool, ...]) -> Any:
    """One power iteration and a QR per basis (QR in float32, as the reference); ``nu`` re-sorted to match."""
    new_qs, it = [], iter(zip(gg, qs, strict=True))
    for axis, rotated in enumerate(dims):
        if not rotated:
            continue
        m, q = next(it)
        product = m @ q
        order = torch.argsort((q * product).sum(dim=0), descending=True)
        nu = nu.index_select(axis, order)
        new_qs.append(torch.linalg.qr(product.index_select(1, order).to(torch.float32))[0].to(q.dtype))
    return tuple(new_qs), nu


class _Leaf(NamedTuple):
    dims: tuple[bool, ...]
    gg: tuple[Tensor, ...]
    q: tuple[Tensor, ...]


def _leaf_step(
    leaf: _Leaf, g: Tensor, m: Tensor, v: Tensor, hp: tuple[Hyper, Hyper, Hyper], first: Tensor, refresh: Tensor
) -> tuple[Tensor, Tensor, tuple[Tensor, ...], tuple[Tensor, ...]]:
    """One tensor's direction, second moment, statistics and bases (both refreshes chosen on the device)."""
    b2, sb, eps = hp
    dims, q = leaf.dims, leaf.q
    gp = _project(g, q, dims)
    v_new = torch.lerp(v, gp * gp, 1 - b2)
    direction = _project(_project(m, q, dims) / (v_new.sqrt() + eps), q, dims, back=True)
    gg = tuple(torch.lerp(a, b.to(a.dtype), 1 - sb) for a, b in zip(leaf.gg, _gram(g, dims), strict=True))
    # The bases are constants for autograd: eigenvectors have no derivative where eigenvalues repeat
    # (a rank-one first statistic), and differentiating through them would make every gradient nan.
    stats = tuple(finite_or_identity(a.detach()) for a in gg)
    refreshed, v_sorted = _refreshed(stats, tuple(a.detach() for a in q), v_new, dims)
    eig = tuple(_eigenbasis(a) for a in stats)
    new_q = tuple(torch.where(first, e, torch.where(refresh, r, o)) for e, r, o in zip(eig, refreshed, q, strict=True))
    return direction, torch.where(first, v, torch.where(refresh, v_sorted, v_new)), gg, new_q


def _check_soap(b1: Any, b2: Any, shampoo_beta: Any, eps: Any, freq: Any, max_dim: Any, flags: dict) -> None:
    check_unit_interval("b1", b1)
    check_unit_interval("b2", b2)
    if shampoo_beta is not None:
        check_unit_interval("shampoo_beta", shampoo_beta)
    check_non_negative("eps", eps)
    check_positive_int("precondition_frequency", freq)
    check_positive_int("max_precondition_dim", max_dim)
    for name, value in flags.items():
        check_bool(name, value)


def scale_by_soap(
    b1: Hyper = 0.95,
    b2: Hyper = 0.95,
    shampoo_beta: Hyper | None = None,
    eps: Hyper = 1e-8,
    precondition_frequency: int = 10,
    max_precondition_dim: int = 10000,
    precondition_1d: bool = False,
    correct_bias: bool = True,
    normalize_gradient: bool = False,
) -> GradientTransformation:
    """SOAP's direction: Adam in the eigenbasis of Shampoo's statistics (the update is ``-lr`` times it).

    The first call only fills the statistics ``L_i = lerp(L_i, G_i G_i^T, 1 - shampoo_beta)`` and takes
    their eigenvectors (``torch.linalg.eigh``); its output is zero (as in the reference, which skips the
    step). From the second call on, with ``s = t - 1``: ``m = lerp(m, g, 1 - b1)`` in the parameter's basis,
    ``v = lerp(v, (Q^T g)^2, 1 - b2)`` in the rotated one, and the output is
    ``Q (Q^T m / (sqrt(v) + eps)) * sqrt(1 - b2**s) / (1 - b1**s)``; then the statistics take ``g`` and, every
    ``precondition_frequency`` steps, each basis is refreshed by one power iteration and a QR decomposition
    (``v`` re-sorted along). Both refreshes are device-side choices (``torch.where``): the eigendecomposition
    and the QR run every step, the price of no host sync (measured in ``benchmarks/bench_frontier.py``).

    Args:
        b1: Adam's first-moment decay, in [0, 1).
        b2: Adam's second-moment decay, in [0, 1).
        shampoo_beta: decay of the Gram statistics (``None``: ``b2``).
        eps: added to the denominator (>= 0).
        precondition_frequency: steps between basis refreshes.
        max_precondition_dim: larger dimensions are not rotated.
        precondition_1d: rotate 1-D tensors too (one ``n x n`` factor).
        correct_bias: Adam's bias correction.
        normalize_gradient: divide the output by its RMS (plus ``eps``).

    References:
        Vyas et al., 2024, *SOAP: Improving and Stabilizing Shampoo using Adam* (arXiv:2409.11321); the authors'
        ``soap.py`` (``pytorch_optimizer.SOAP`` follows it).

    Example:
        >>> tx = scale_by_soap()
        >>> g = {"w": torch.tensor([[1.0, 0.0], [0.0, 2.0]])}
        >>> u, state = tx.update(g, tx.init(g))  # the first step only gathers statistics
        >>> u["w"].abs().sum(), tx.update(g, state)[0]["w"].abs().max().round(decimals=3)
        (tensor(0.), tensor(1.))
    """
    _check_soap(b1, b2, shampoo_beta, eps, precondition_frequency, max_precondition_dim,
                dict(precondition_1d=precondition_1d, correct_bias=correct_bias,
                     normalize_gradient=normalize_gradient))  # fmt: skip
    sb = b2 if shampoo_beta is None else shampoo_beta

    def dims_of(t: Tensor) -> tuple[bool, ...]:
        return preconditioned_dims(t.shape, max_precondition_dim, precondition_1d)

    def factors(p: Tensor) -> tuple[Tensor, ...]:
        dt = _factor_dtype(p.dtype)
        return tuple(torch.eye(d, dtype=dt, device=p.device) for d, r in zip(p.shape, dims_of(p), strict=True) if r)

    def init(params: Params) -> ScaleBySoapState:
        check_params(params)
        refuse_complex(params, "scale_by_soap")
        return ScaleBySoapState(
            count=zero_counter(params),
            mu=zeros_like(params),
            nu=zeros_like(params),
            gg={k: tuple(torch.zeros_like(f) for f in factors(p)) for k, p in params.items()},
            q={k: factors(p) for k, p in params.items()},
        )

    def update(
        updates: Updates, state: ScaleBySoapState, params: Params | None = None, **extra: Any
    ) -> tuple[Tree, ScaleBySoapState]:
        del params, extra
        check_state(state, ScaleBySoapState, "scale_by_soap")
        grads = matched_leaves(updates, state.mu)
        count = state.count + 1
        if not grads:
            return {}, state._replace(count=count)
        first, s = count == 1, count - 1
        refresh = (s > 0) & (s % precondition_frequency == 0)
        mu = lerp(leaves(state.mu), grads, 1 - b1)
        outs, nus, ggs, qs = [], [], [], []
        for name, g, m, v in zip(updates, grads, mu, leaves(state.nu), strict=True):
            leaf = _Leaf(dims_of(g), state.gg[name], state.q[name])
            direction, v_new, gg, q = _leaf_step(leaf, g, m, v, (b2, sb, eps), first, refresh)
            if normalize_gradient:
                direction = direction / (direction.square().mean().sqrt() + eps)
            outs.append(direction)
            nus.append(v_new)
            ggs.append(gg)
            qs.append(q)
        if correct_bias:
            outs = list(torch._foreach_mul(outs, _step_scale(b1, b2, s, outs)))
        outs = [torch.where(first, torch.zeros_like(o), o) for o in outs]
        new_state = ScaleBySoapState(
            count=count,
            mu=rebuild(updates, [torch.where(first, a, b) for a, b in zip(leaves(state.mu), mu, strict=True)]),
            nu=rebuild(updates, nus),
            gg=dict(zip(updates, ggs, strict=True)),
            q=dict(zip(updates, qs, strict=True)),
        )
        return rebuild(updates, outs), new_state

    return _whole_tensors(GradientTransformation(init, update))


def _step_scale(b1: Hyper, b2: Hyper, s: Tensor, like: list[Tensor]) -> list[Tensor]:
    """``sqrt(1 - b2**s) / (1 - b1**s)`` per tensor (1 at ``s = 0``, where the output is discarded)."""
    s = s.clamp(min=1)
    value = bias_correction(b2, s).sqrt() / bias_correction(b1, s)
    return [value.to(t.dtype) for t in like]


class _SoapDecayState(NamedTuple):
    """State of the learning-rate-and-decay block of [`soap`][optimtx.soap].

    Attributes:
        count: how many updates were made (int64 0-d tensor); the first one is skipped.
    """

    count: Tensor  # type: ignore[assignment]  # the counter every optimtx state calls count


def _scale_and_decay_after(lr: Hyper | Callable[[Tensor], Any], weight_decay: Hyper) -> GradientTransformation:
    """``-lr * d``, then the weights shrunk by ``1 - lr * weight_decay`` *after* that step (the reference's order).

    ``p_new = (p - lr * d) * (1 - lr * wd)``, so the update is ``-lr * d - lr * wd * (p - lr * d)``. The first
    step is SOAP's statistics-only step: its update stays zero, as the reference does not decay there either.
    """

    def init(params: Params) -> _SoapDecayState:
        check_params(params)
        return _SoapDecayState(count=zero_counter(params))

    def update(
        updates: Updates, state: _SoapDecayState, params: Params | None = None, **extra: Any
    ) -> tuple[Tree, _SoapDecayState]:
        del extra
        check_state(state, _SoapDecayState, "soap")
        params = require_params(params, "soap")
        us, ps = matched_leaves(updates, params), leaves(params)
        rate = lr(state.count) if callable(lr) else lr
        out = []
        for u, p in zip(us, ps, strict=True):
            step = -rate * u
            decayed = step - (rate * weight_decay) * (p + step)
            out.append(torch.where(state.count == 0, torch.zeros_like(u), decayed.to(u.dtype)))
        return rebuild(updates, out), _SoapDecayState(count=state.count + 1)

    return _whole_tensors(GradientTransformation(init, update))


def soap(
    lr: Hyper = 3e-3,
    betas: tuple[Hyper, Hyper] = (0.95, 0.95),
    shampoo_beta: Hyper | None = None,
    weight_decay: Hyper = 1e-2,
    precondition_frequency: int = 10,
    max_precondition_dim: int = 10000,
    precondition_1d: bool = False,
    correct_bias: bool = True,
    normalize_gradient: bool = False,
    eps: Hyper = 1e-8,
) -> GradientTransformation:
    """SOAP with the original authors' arguments and defaults (``pytorch_optimizer.SOAP`` too).

    [`scale_by_soap`][optimtx.scale_by_soap], times ``-lr``, and decoupled weight decay applied after the
    step (``p = (p - lr * d) * (1 - lr * weight_decay)``, the reference's order). The first step changes
    nothing (it only gathers statistics).

    Example:
        >>> tx = soap(lr=0.1, weight_decay=0.0)
        >>> p = {"w": torch.zeros(2, 2)}
        >>> state = tx.init(p)
        >>> for _ in range(3):
        ...     u, state = tx.update({"w": torch.eye(2)}, state, p)
        >>> u["w"].diagonal()
        tensor([-0.1000, -0.1000])

    References:
        Vyas et al., 2024, *SOAP* (arXiv:2409.11321).
    """
    b1, b2 = check_betas(betas)
    check_non_negative("lr", lr, schedule=True)
    check_non_negative("weight_decay", weight_decay)
    core = scale_by_soap(
        b1, b2, shampoo_beta, eps, precondition_frequency, max_precondition_dim, precondition_1d, correct_bias,
        normalize_gradient,
    )  # fmt: skip
    if not is_present(weight_decay):
        return chain(core, scale_by_learning_rate(lr))
    return chain(core, _scale_and_decay_after(lr, weight_decay))
