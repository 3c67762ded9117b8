"""Shampoo, blocked and grafted, as the distributed (scalable) Shampoo reference runs it.

A tensor is first reshaped by merging neighbouring small dimensions (``shape_interpretation``, the reference's
``merge_small_dims`` rule: dimensions are multiplied together while the product stays within ``block_size``),
then cut into blocks of at most ``block_size`` along every dimension. Each block keeps one statistics matrix
per preconditioned dimension (``L = b2 * L + (1 - b2) * G G^T``); its inverse ``2 * rank``-th root (or
``inverse_exponent_override``) preconditions the block. The result takes the norm of a simpler "graft" rule
(SGD, AdaGrad, RMSProp or sign), then heavy-ball or Nesterov momentum. See ``docs/preconditioners.md``.
"""

from __future__ import annotations

import itertools
from typing import Any, NamedTuple

import torch
from torch import Tensor

from optimtx.core.base import GradientTransformation, Params, Updates, chain
from optimtx.core.state_tree import check_state, zero_counter
from optimtx.core.tree import Tree, check_params, matched_leaves, rebuild, zeros_like
from optimtx.core.validation import (
    check_betas,
    check_bool,
    check_choice,
    check_non_negative,
    check_non_negative_int,
    check_positive_int,
    check_unit_interval,
)
from optimtx.transforms._linalg import finite_or_identity, refuse_complex
from optimtx.transforms._whole import _whole_tensors
from optimtx.transforms.optimizers import Hyper, _decay
from optimtx.transforms.scaling import scale_by_learning_rate
from optimtx.transforms.weight_decay import require_params

__all__ = [
    "GRAFT_TYPES",
    "PRECONDITIONER_TYPES",
    "ScaleByShampooState",
    "inverse_root",
    "merge_small_dims",
    "scale_by_shampoo",
    "shampoo",
]

GRAFT_TYPES = ("none", "sgd", "adagrad", "rmsprop", "sqrtn")
PRECONDITIONER_TYPES = ("all", "input", "output")


class ScaleByShampooState(NamedTuple):
    """State of [`scale_by_shampoo`][optimtx.scale_by_shampoo].

    Attributes:
        count: how many updates were made (int64 0-d tensor).
        momentum: Shampoo's momentum of each tensor.
        graft_momentum: the graft rule's momentum (used before ``start_preconditioning_step``).
        graft_stats: the AdaGrad/RMSProp graft's second moments (``{}`` for the other grafts).
        stats: per tensor, its blocks' statistics matrices (a tuple, block-major).
        roots: per tensor, their inverse roots (the preconditioners).
    """

    count: Tensor  # type: ignore[assignment]  # the counter every optimtx state calls count
    momentum: dict[str, Tensor]
    graft_momentum: dict[str, Tensor]
    graft_stats: dict[str, Tensor]
    stats: dict[str, tuple[Tensor, ...]]
    roots: dict[str, tuple[Tensor, ...]]


def merge_small_dims(shape: tuple[int, ...], max_dim: int) -> list[int]:
    """The reference's reshape: neighbours multiplied while the product stays ``<= max_dim``; ``[1]`` if one is left.

    A dimension larger than ``max_dim`` at the front leaves a size-1 dimension before it, which counts in the
    rank (and so in the root's exponent), as in the reference.

    Example:
        >>> merge_small_dims((64, 3, 3, 3), 128), merge_small_dims((16, 8), 512), merge_small_dims((2048, 10), 512)
        ([64, 27], [1], [1, 2048, 10])
    """
    merged, product = [], 1
    for d in shape:
        product *= d
        if product > max_dim:
            merged.append(product // d)
            product = d
    merged.append(product)
    return merged if len(merged) > 1 else [1]


class _Plan(NamedTuple):
    """How one tensor is reshaped, cut and preconditioned (from its shape alone)."""

    shape: tuple[int, ...]  # after merging small dimensions
    dims: tuple[bool, ...]  # which of its dimensions are preconditioned
    splits: tuple[tuple[int, ...], ...]  # block sizes along each dimension
    exponent: int  # the root: statistics ** (-1 / exponent)
    active: bool  # False: graft only (1-D, 0-d, small or skipped tensors)


def _blocks(d: int, block_size: int) -> tuple[int, ...]:
    if block_size <= 0 or block_size >= d:
        return (d,)
    n = (d - 1) // block_size
    return (block_size,) * n + (d - n * block_size,)


def _make_plan(shape: torch.Size, cfg: dict[str, Any]) -> _Plan:
    merged = tuple(merge_small_dims(tuple(shape), cfg["block_size"]) if cfg["shape_interpretation"] else shape)
    kind = cfg["preconditioner_type"]
    if kind == "all" or len(merged) <= 1:
        dims = (True,) * len(merged)
    elif kind == "input":
        dims = (True,) * (len(merged) - 1) + (False,)
    else:
        dims = (False,) * (len(merged) - 1) + (True,)
    rank = sum(dims)
    skipped = len(shape) < cfg["skip_preconditioning_rank_lt"] or any(
        d > cfg["no_preconditioning_for_layers_with_dim_gt"] for d in shape
    )
    exponent = cfg["inverse_exponent_override"] if cfg["inverse_exponent_override"] > 0 else 2 * rank
    splits = tuple(_blocks(d, cfg["block_size"]) for d in merged)
    return _Plan(merged, dims, splits, exponent, len(merged) > 1 and not skipped)


def _factor_sizes(plan: _Plan) -> list[int]:
    """The side of every statistics matrix, block-major (the reference's order)."""
    return [d for block in itertools.product(*plan.splits) for d, on in zip(block, plan.dims, strict=True) if on]


def _partition(x: Tensor, plan: _Plan) -> list[Tensor]:
    parts = [x]
    for axis, sizes in enumerate(plan.splits):
        if len(sizes) > 1:
            parts = [piece for t in parts for piece in torch.split(t, list(sizes), dim=axis)]
    return parts


def _merge(parts: list[Tensor], plan: _Plan) -> Tensor:
    for axis in reversed(range(len(plan.splits))):
        n = len(plan.splits[axis])
        if n > 1:
            parts = [torch.cat(parts[i : i + n], dim=axis) for i in range(0, len(parts), n)]
    return parts[0]


def _factor_dtype(dtype: torch.dtype) -> torch.dtype:
    return torch.float64 if dtype == torch.float64 else torch.float32


def _gram_stats(g: Tensor, plan: _Plan) -> list[Tensor]:
    """``G G^T`` of every block along every preconditioned dimension, block-major."""
    out = []
    for block in _partition(g.reshape(plan.shape), plan):
        for axis, on in enumerate(plan.dims):
            if on:
                others = [a for a in range(block.ndim) if a != axis]
                out.append(torch.tensordot(block, block, dims=[others, others]))
    return out


def inverse_root(matrix: Tensor, exponent: int) -> Tensor:
    """``matrix ** (-1 / exponent)`` of a symmetric matrix, from its eigendecomposition (float32/float64).

    ``V diag(sign(l) |l| ** (-1 / exponent)) V^T``: the same matrix as the reference's SVD form
    ``U S ** (-1 / exponent) V^T`` (for a symmetric matrix ``S = |l|`` and ``U = V sign(l)``), at half its cost.

    Example:
        >>> inverse_root(torch.diag(torch.tensor([16.0, 1.0])), 4)
        tensor([[0.5000, 0.0000],
                [0.0000, 1.0000]])
    """
    values, vectors = torch.linalg.eigh(matrix)
    scaled = values.sign() * values.abs().pow(-1.0 / exponent)
    return (vectors * scaled.unsqueeze(-2)) @ vectors.mT


def _precondition(g: Tensor, roots: tuple[Tensor, ...], plan: _Plan) -> Tensor:
    """Each block times its roots along every preconditioned dimension (dimensions kept in cyclic order)."""
    rank = sum(plan.dims)
    roll = (*range(1, len(plan.shape)), 0)
    out = []
    for j, block in enumerate(_partition(g.to(roots[0].dtype).reshape(plan.shape), plan)):
        mine = iter(roots[j * rank : (j + 1) * rank])
        for on in plan.dims:
            block = torch.tensordot(block, next(mine), dims=[[0], [0]]) if on else block.permute(roll)
        out.append(block)
    return _merge(out, plan).reshape(g.shape).to(g.dtype)


def _graft(graft_type: str, g: Tensor, stat: Tensor | None, b2: Hyper, eps: float) -> tuple[Tensor, Tensor | None]:
    """The graft rule's direction and its new second moment (``None`` when it keeps none)."""
    if graft_type == "adagrad" and stat is not None:
        stat = stat + g * g
    elif graft_type == "rmsprop" and stat is not None:
        stat = stat * b2 + g * g * (1 - b2)
    if stat is not None:
        return g / (stat.sqrt() + eps), stat
    return (g.sign() if graft_type == "sqrtn" else g), None


class _Steps(NamedTuple):
    """This step's device-side choices."""

    statistics: Tensor
    roots: Tensor
    preconditioning: Tensor


def _leaf_stats_and_roots(
    g: Tensor, stats: tuple[Tensor, ...], roots: tuple[Tensor, ...], plan: _Plan, b2: Hyper, steps: _Steps
) -> tuple[tuple[Tensor, ...], tuple[Tensor, ...]]:
    if not stats:
        return stats, roots
    w2 = 1.0 if isinstance(b2, float) and b2 == 1.0 else 1 - b2
    fresh = _gram_stats(g.to(stats[0].dtype), plan)
    stats = tuple(torch.where(steps.statistics, s * b2 + f * w2, s) for s, f in zip(stats, fresh, strict=True))
    # Roots are constants for autograd: an eigendecomposition has no derivative where eigenvalues repeat.
    new = tuple(inverse_root(finite_or_identity(s.detach()), plan.exponent) for s in stats)
    return stats, tuple(torch.where(steps.roots, n, r) for n, r in zip(new, roots, strict=True))


def _momentum(m: Tensor, x: Tensor, b1: Hyper, moving_average: bool) -> Tensor:
    return torch.lerp(m, x, 1 - b1) if moving_average else m * b1 + x


def _config(**cfg: Any) -> dict[str, Any]:
    check_non_negative_int("inverse_exponent_override", cfg["inverse_exponent_override"])
    check_positive_int("start_preconditioning_step", cfg["start_preconditioning_step"])
    check_positive_int("preconditioning_compute_steps", cfg["preconditioning_compute_steps"])
    check_positive_int("statistics_compute_steps", cfg["statistics_compute_steps"])
    check_positive_int("block_size", cfg["block_size"])
    check_non_negative_int("skip_preconditioning_rank_lt", cfg["skip_preconditioning_rank_lt"])
    check_positive_int("no_preconditioning_for_layers_with_dim_gt", cfg["no_preconditioning_for_layers_with_dim_gt"])
    check_choice("graft_type", cfg["graft_type"], GRAFT_TYPES)
    check_choice("preconditioner_type", cfg["preconditioner_type"], PRECONDITIONER_TYPES)
    for name in ("shape_interpretation", "nesterov", "moving_average_for_momentum"):
        check_bool(name, cfg[name])
    check_non_negative("diagonal_eps", cfg["diagonal_eps"])
    check_non_negative("matrix_eps", cfg["matrix_eps"])
    check_non_negative("weight_decay", cfg["weight_decay"])
    return cfg


def scale_by_shampoo(
    b1: Hyper = 0.9,
    b2: Hyper = 0.999,
    moving_average_for_momentum: bool = False,
    weight_decay: Hyper = 0.0,
    inverse_exponent_override: int = 0,
    start_preconditioning_step: int = 25,
    preconditioning_compute_steps: int = 1000,
    statistics_compute_steps: int = 1,
    block_size: int = 512,
    skip_preconditioning_rank_lt: int = 1,
    no_preconditioning_for_layers_with_dim_gt: int = 8192,
    shape_interpretation: bool = True,
    graft_type: str = "sgd",
    preconditioner_type: str = "all",
    nesterov: bool = True,
    diagonal_eps: float = 1e-10,
    matrix_eps: float = 1e-6,
) -> GradientTransformation:
    """Shampoo's direction (blocked, grafted, with momentum); the update is ``-lr`` times it.

    Per step ``t``: the graft rule's statistics take ``g``; every ``statistics_compute_steps`` steps each
    block's statistics ``L = b2 * L + (1 - b2) * G G^T`` (starting from ``matrix_eps * I``); every
    ``preconditioning_compute_steps`` steps the roots ``L ** (-1 / exponent)`` are recomputed (by eigendecomposition,
    in float32, or float64 for float64 tensors). The preconditioned gradient is scaled to the graft direction's
    norm (unless ``graft_type='none'``), ``weight_decay * p`` is added to both (coupled decay; needs params),
    and both enter their momentum (``m = b1 * m + x``, or ``lerp`` with ``moving_average_for_momentum``).
    Before ``start_preconditioning_step`` the graft's momentum is the output; Nesterov adds ``b1 * m + x``.
    Every refresh is a ``torch.where`` choice: the roots are computed every step (see the docs for the cost).

    Shapes: 0-d and 1-D tensors, and tensors whose merged shape has one dimension, use the graft rule alone;
    a conv kernel ``(out, in, kh, kw)`` is merged by `optimtx.transforms.shampoo.merge_small_dims`
    (e.g. ``(64, 3, 3, 3)`` with ``block_size=128`` becomes ``(64, 27)``).

    Args:
        b1: momentum.
        b2: decay of the statistics and of the RMSProp graft (1: sums, as AdaGrad).
        moving_average_for_momentum: ``m = lerp(m, x, 1 - b1)`` instead of ``b1 * m + x``.
        weight_decay: coupled decay added to the preconditioned and graft directions (>= 0).
        inverse_exponent_override: use ``L ** (-1 / k)`` for this ``k`` instead of ``2 * rank`` (0: off).
        start_preconditioning_step: the first step (1-based) whose output is Shampoo's rather than the graft's.
        preconditioning_compute_steps: steps between root computations.
        statistics_compute_steps: steps between statistics updates.
        block_size: largest block side, and the bound of the dimension merging.
        skip_preconditioning_rank_lt: tensors with fewer dimensions use the graft alone.
        no_preconditioning_for_layers_with_dim_gt: tensors with a larger dimension use the graft alone.
        shape_interpretation: merge small dimensions first.
        graft_type: ``'sgd'``, ``'adagrad'``, ``'rmsprop'``, ``'sqrtn'`` (sign) or ``'none'``.
        preconditioner_type: ``'all'`` dimensions, ``'input'`` (all but the last) or ``'output'`` (the last).
        nesterov: Nesterov momentum.
        diagonal_eps: the AdaGrad/RMSProp graft's epsilon.
        matrix_eps: the statistics' initial ridge ``matrix_eps * I``.

    References:
        Gupta et al., 2018, *Shampoo* (arXiv:1802.09568); Anil et al., 2020, *Scalable Second Order
        Optimization for Deep Learning* (arXiv:2002.09018) and Google's ``distributed_shampoo``;
        ``pytorch_optimizer.ScalableShampoo`` with ``use_svd=True``.

    Example:
        >>> tx = scale_by_shampoo(
        ...     b2=0.5, start_preconditioning_step=1, preconditioning_compute_steps=1, block_size=2, nesterov=False
        ... )
        >>> g = {"w": torch.tensor([[3.0, 0.0], [0.0, 1.0]])}
        >>> u, _ = tx.update(g, tx.init(g))
        >>> u["w"].diagonal()  # whitened: both directions equal, with the SGD graft's norm sqrt(10)
        tensor([2.2361, 2.2361])
    """
    cfg = _config(
        inverse_exponent_override=inverse_exponent_override, start_preconditioning_step=start_preconditioning_step,
        preconditioning_compute_steps=preconditioning_compute_steps, statistics_compute_steps=statistics_compute_steps,
        block_size=block_size, skip_preconditioning_rank_lt=skip_preconditioning_rank_lt,
        no_preconditioning_for_layers_with_dim_gt=no_preconditioning_for_layers_with_dim_gt,
        shape_interpretation=shape_interpretation, graft_type=graft_type, preconditioner_type=preconditioner_type,
        nesterov=nesterov, moving_average_for_momentum=moving_average_for_momentum, diagonal_eps=diagonal_eps,
        matrix_eps=matrix_eps, weight_decay=weight_decay,
    )  # fmt: skip
    check_unit_interval("b1", b1)
    check_unit_interval("b2", b2, closed_right=True)  # 1: plain sums (AdaGrad statistics), as the reference

    def factors(p: Tensor, scale: float) -> tuple[Tensor, ...]:
        plan = _make_plan(p.shape, cfg)
        if not plan.active:
            return ()
        dt = _factor_dtype(p.dtype)
        return tuple(scale * torch.eye(d, dtype=dt, device=p.device) for d in _factor_sizes(plan))

    def init(params: Params) -> ScaleByShampooState:
        check_params(params)
        refuse_complex(params, "scale_by_shampoo")
        return ScaleByShampooState(
            count=zero_counter(params),
            momentum=zeros_like(params),
            graft_momentum=zeros_like(params),
            graft_stats=zeros_like(params) if graft_type in ("adagrad", "rmsprop") else {},
            stats={k: factors(p, matrix_eps) for k, p in params.items()},
            roots={k: factors(p, 1.0) for k, p in params.items()},
        )

    def direction(g: Tensor, roots: tuple[Tensor, ...], graft_dir: Tensor, plan: _Plan) -> Tensor:
        sg = _precondition(g, roots, plan) if roots else graft_dir.clone()
        if graft_type == "none":
            return sg
        return sg * (torch.linalg.vector_norm(graft_dir) / (torch.linalg.vector_norm(sg) + 1e-16))

    def update(
        updates: Updates, state: ScaleByShampooState, params: Params | None = None, **extra: Any
    ) -> tuple[Tree, ScaleByShampooState]:
        del extra
        check_state(state, ScaleByShampooState, "scale_by_shampoo")
        grads = matched_leaves(updates, state.momentum)
        count = state.count + 1
        if not grads:
            return {}, state._replace(count=count)
        if _coupled(weight_decay):
            ps: list[Tensor | None] = list(
                matched_leaves(require_params(params, "scale_by_shampoo"), state.momentum, "params")
            )
        else:
            ps = [None] * len(grads)
        steps = _Steps(
            count % statistics_compute_steps == 0,
            count % preconditioning_compute_steps == 0,
            count >= start_preconditioning_step,
        )
        w = 1 - b1 if moving_average_for_momentum else 1.0
        new: dict[str, list[Any]] = {k: [] for k in ("out", "m", "gm", "gs", "stats", "roots")}
        for name, g, p in zip(updates, grads, ps, strict=True):
            plan = _make_plan(g.shape, cfg)
            graft_dir, gstat = _graft(graft_type, g, state.graft_stats.get(name), b2, diagonal_eps)
            stats, roots = _leaf_stats_and_roots(g, state.stats[name], state.roots[name], plan, b2, steps)
            sg = direction(g, roots, graft_dir, plan)
            if p is not None:
                graft_dir, sg = graft_dir + p * weight_decay, sg + p * weight_decay
            m = _momentum(state.momentum[name], sg, b1, moving_average_for_momentum)
            gm = state.graft_momentum[name] * b1 + graft_dir * w
            out = torch.where(steps.preconditioning, m, gm)
            if nesterov:
                out = _momentum(out, torch.where(steps.preconditioning, sg, graft_dir), b1, moving_average_for_momentum)
            for key, value in zip(new, (out, m, gm, gstat, stats, roots), strict=True):
                new[key].append(value)
        new_state = ScaleByShampooState(
            count=count,
            momentum=rebuild(updates, new["m"]),
            graft_momentum=rebuild(updates, new["gm"]),
            graft_stats=rebuild(updates, new["gs"]) if state.graft_stats else {},
            stats=dict(zip(updates, new["stats"], strict=True)),
            roots=dict(zip(updates, new["roots"], strict=True)),
        )
        return rebuild(updates, new["out"]), new_state

    return _whole_tensors(GradientTransformation(init, update))


def _coupled(weight_decay: Hyper) -> bool:
    return isinstance(weight_decay, Tensor) or weight_decay > 0


def shampoo(
    lr: Hyper = 1e-3,
    betas: tuple[Hyper, Hyper] = (0.9, 0.999),
    moving_average_for_momentum: bool = False,
    weight_decay: Hyper = 0.0,
    decoupled_weight_decay: bool = False,
    **kwargs: Any,
) -> GradientTransformation:
    """Distributed Shampoo as an optimizer, with ``pytorch_optimizer.ScalableShampoo``'s arguments and defaults.

    [`scale_by_shampoo`][optimtx.scale_by_shampoo] (every keyword in ``kwargs`` goes there), then ``-lr``.
    Weight decay is coupled (added to the directions before momentum) by default; with
    ``decoupled_weight_decay`` it is AdamW's ``p -= lr * weight_decay * p``. The learning rate is always
    decoupled from the preconditioner (the reference's ``decoupled_learning_rate=True``).

    Example:
        >>> tx = shampoo(lr=0.1)
        >>> p = {"w": torch.zeros(2, 2)}
        >>> u, _ = tx.update({"w": torch.eye(2)}, tx.init(p), p)
        >>> u["w"].diagonal()  # before start_preconditioning_step: SGD with Nesterov momentum
        tensor([-0.1900, -0.1900])

    References:
        Anil et al., 2020 (arXiv:2002.09018); ``pytorch_optimizer.ScalableShampoo``.
    """
    b1, b2 = check_betas(betas)
    check_non_negative("lr", lr, schedule=True)
    check_bool("decoupled_weight_decay", decoupled_weight_decay)
    check_non_negative("weight_decay", weight_decay)
    coupled = 0.0 if decoupled_weight_decay else weight_decay
    core = scale_by_shampoo(b1, b2, moving_average_for_momentum, coupled, **kwargs)
    decay = _decay(weight_decay) if decoupled_weight_decay else []
    return chain(core, *decay, scale_by_learning_rate(lr))
