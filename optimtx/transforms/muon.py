"""Muon (orthogonalised momentum) as ``torch.optim.Muon`` runs it, and the Muon + AdamW recipe around it."""

from __future__ import annotations

import math
import re
from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import Any, NamedTuple

import torch
from torch import Tensor

from optimtx.core.base import GradientTransformation, Params, Updates, chain
from optimtx.core.state_tree import check_state
from optimtx.core.tree import check_leaves, check_params, leaves, matched_leaves, rebuild, zeros_like
from optimtx.core.validation import (
    check_bool,
    check_finite,
    check_non_negative,
    check_positive_int,
    prefixed_arguments,
)
from optimtx.transforms._dtensor import on_whole
from optimtx.transforms.kernels import lerp
from optimtx.transforms.masking import multi_transform
from optimtx.transforms.optimizers import Hyper, _decay, adamw
from optimtx.transforms.scaling import scale_by_learning_rate

__all__ = [
    "ADJUST_LR_FNS",
    "DEFAULT_EXCLUDE",
    "ROUTING_HINT",
    "MuonRoute",
    "ScaleByMuonState",
    "as_matrix",
    "muon",
    "muon_labels",
    "muon_routes",
    "muon_with_adamw",
    "orthogonalize",
    "scale_by_muon",
]

ADJUST_LR_FNS = (None, "original", "match_rms_adamw")
ROUTING_HINT = (
    "Muon only takes 2-D matrices (hidden layers); flatten_nd=True also takes conv kernels and other n-D weights "
    "(reshaped to rows x the rest). Route the other tensors to another transform, e.g. "
    "otx.muon_with_adamw(lr=0.02, adamw_lr=3e-4), or "
    "otx.multi_transform({'muon': otx.muon(...), 'adamw': otx.adamw(...)}, otx.muon_labels(params))."
)


class ScaleByMuonState(NamedTuple):
    """State of [`scale_by_muon`][optimtx.scale_by_muon].

    Attributes:
        momentum_buffer: the momentum of each matrix (torch's ``momentum_buffer``).
    """

    momentum_buffer: dict[str, Tensor]


def _check_matrices(tree: Mapping[str, Tensor], flatten_nd: bool = False) -> None:
    bad = {k: tuple(v.shape) for k, v in tree.items() if not (v.ndim == 2 or (flatten_nd and v.ndim > 2))}
    if bad:
        kind = "not 2-D or more" if flatten_nd else "not 2-D"
        raise ValueError(f"muon got tensors that are {kind}: {bad!r}. {ROUTING_HINT}")
    complex_ = [k for k, v in tree.items() if v.is_complex()]
    if complex_:
        raise ValueError(f"muon does not support complex parameters, got {complex_!r}.")


def _addmm(bias: Tensor, a: Tensor, b: Tensor, beta: Hyper, alpha: Hyper) -> Tensor:
    """``beta * bias + alpha * a @ b``: one fused ``addmm`` for numbers (as torch), products for tensors."""
    if isinstance(beta, Tensor) or isinstance(alpha, Tensor):
        return bias * torch.as_tensor(beta, dtype=bias.dtype) + (a @ b) * torch.as_tensor(alpha, dtype=bias.dtype)
    return torch.addmm(bias, a, b, beta=beta, alpha=alpha)


def orthogonalize(grad: Tensor, ns_coefficients: Sequence[Hyper], ns_steps: int, eps: Hyper) -> Tensor:
    """Approximately ``U V^T`` of ``grad = U S V^T`` by ``ns_steps`` quintic Newton-Schulz steps in bfloat16.

    The same iteration as ``torch.optim.Muon`` (Keller Jordan's coefficients by default); the
    result is bfloat16.

    Example:
        >>> q = orthogonalize(torch.eye(2) * 3, (3.4445, -4.775, 2.0315), 5, 1e-7)
        >>> bool(((q.float() - torch.eye(2)).abs() < 0.35).all())
        True
    """
    a, b, c = ns_coefficients
    x = grad.bfloat16()
    tall = grad.size(0) > grad.size(1)
    if tall:
        x = x.T
    norm = x.norm()
    x = x / (norm.clamp(min=eps) if not isinstance(eps, Tensor) else torch.maximum(norm, eps.to(norm.dtype)))
    for _ in range(ns_steps):
        gram = x @ x.T
        x = _addmm(x, _addmm(gram, gram, gram, b, c), x, a, 1)
    return x.T if tall else x


def as_matrix(t: Tensor) -> Tensor:
    """``t`` as the matrix Muon orthogonalises: rows are the first dimension, columns all the others.

    A conv kernel ``(out, in, kh, kw)`` becomes ``(out, in * kh * kw)``: each output channel's
    filter is one row, as in Keller Jordan's reference for convolutional networks.

    Example:
        >>> as_matrix(torch.zeros(8, 3, 3, 3)).shape
        torch.Size([8, 27])
    """
    return t if t.ndim == 2 else t.reshape(t.size(0), -1)


def _orthogonal_step(d: Tensor, coefficients: Sequence[Hyper], ns_steps: int, eps: Hyper, adjust: str | None) -> Tensor:
    """Muon's update for one tensor: the orthogonalised matrix of ``d`` (whole, even when sharded), scaled."""

    def whole(full: Tensor) -> Tensor:
        matrix = as_matrix(full)
        out = orthogonalize(matrix, coefficients, ns_steps, eps).to(full.dtype) * _adjust_ratio(matrix.shape, adjust)
        return out.reshape(full.shape)

    return on_whole(whole, d)


def _adjust_ratio(shape: torch.Size, adjust_lr_fn: str | None) -> float:
    rows, cols = shape[:2]
    if adjust_lr_fn in (None, "original"):
        return math.sqrt(max(1, rows / cols))
    return 0.2 * math.sqrt(max(rows, cols))


def _check_muon(
    momentum: Any, nesterov: Any, ns_coefficients: Any, eps: Any, ns_steps: Any, adjust_lr_fn: Any
) -> tuple[Hyper, Hyper, Hyper]:
    check_non_negative("momentum", momentum)
    check_bool("nesterov", nesterov)
    check_non_negative("eps", eps)
    check_positive_int("ns_steps", ns_steps)
    if ns_steps >= 100:
        raise ValueError(f"Invalid ns_steps: {ns_steps!r}. It must be below 100 (torch's limit).")
    if not isinstance(ns_coefficients, Sequence) or isinstance(ns_coefficients, str) or len(ns_coefficients) != 3:
        raise ValueError(f"Invalid ns_coefficients: {ns_coefficients!r}. It must be a tuple of exactly 3 numbers.")
    for i, c in enumerate(ns_coefficients):
        check_finite(f"ns_coefficients[{i}]", c)
    if adjust_lr_fn not in ADJUST_LR_FNS:
        raise ValueError(f"Invalid adjust_lr_fn: {adjust_lr_fn!r}. It must be one of {ADJUST_LR_FNS!r}.")
    return ns_coefficients[0], ns_coefficients[1], ns_coefficients[2]


def scale_by_muon(
    momentum: Hyper = 0.95,
    nesterov: bool = True,
    ns_coefficients: tuple[Hyper, Hyper, Hyper] = (3.4445, -4.775, 2.0315),
    eps: Hyper = 1e-7,
    ns_steps: int = 5,
    adjust_lr_fn: str | None = None,
    flatten_nd: bool = False,
) -> GradientTransformation:
    """Muon's direction: momentum, Newton-Schulz orthogonalisation, and torch's shape-dependent lr ratio.

    ``buf = lerp(buf, g, 1 - momentum)``; the orthogonalised matrix is that of
    ``lerp(g, buf, momentum)`` (``nesterov``) or ``buf``, times ``sqrt(max(1, rows / cols))``
    (``adjust_lr_fn=None`` or ``'original'``) or ``0.2 * sqrt(max(rows, cols))``
    (``'match_rms_adamw'``). Only 2-D tensors are accepted, unless ``flatten_nd``: then a tensor
    of more dimensions (a conv kernel) is orthogonalised as the matrix `as_matrix`
    makes of it (first dimension by the rest) and reshaped back. The momentum is batched; the
    Newton-Schulz iteration runs per matrix (each has its own shape), in bfloat16 as in torch.
    Under FSDP2 (DTensor gradients) each matrix is gathered whole for the iteration and every
    rank keeps its own shard of the result (see ``optimtx/transforms/_dtensor.py``), so the
    update equals the single-process one.

    Example:
        >>> tx = scale_by_muon()
        >>> g = {"w": torch.diag(torch.tensor([4.0, 1.0]))}
        >>> u, _ = tx.update(g, tx.init(g))
        >>> [round(x, 1) for x in torch.diagonal(u["w"]).tolist()]  # both directions get similar sizes
        [0.7, 0.7]

    References:
        Jordan et al., 2024, "Muon: An optimizer for hidden layers in neural networks"; ``torch.optim.Muon``;
        ``optax.contrib.muon``.
    """
    coefficients = _check_muon(momentum, nesterov, ns_coefficients, eps, ns_steps, adjust_lr_fn)
    check_bool("flatten_nd", flatten_nd)

    def init(params: Params) -> ScaleByMuonState:
        check_params(params)
        _check_matrices(params, flatten_nd)
        return ScaleByMuonState(momentum_buffer=zeros_like(params))

    def update(
        updates: Updates, state: ScaleByMuonState, params: Params | None = None, **extra: Any
    ) -> tuple[dict[str, Tensor], ScaleByMuonState]:
        del params, extra
        check_state(state, ScaleByMuonState, "scale_by_muon")
        _check_matrices(dict(zip(updates, check_leaves(updates), strict=True)), flatten_nd)  # routing hint first
        grads = matched_leaves(updates, state.momentum_buffer)  # then by name and shape
        if not grads:
            return {}, state
        bufs = lerp(leaves(state.momentum_buffer), grads, 1 - momentum)
        directions = lerp(grads, bufs, momentum) if nesterov else bufs
        out = [_orthogonal_step(d, coefficients, ns_steps, eps, adjust_lr_fn) for d in directions]
        return rebuild(updates, out), ScaleByMuonState(momentum_buffer=rebuild(updates, bufs))

    return GradientTransformation(init, update)


def muon(
    lr: Hyper = 1e-3,
    weight_decay: Hyper = 0.1,
    momentum: Hyper = 0.95,
    nesterov: bool = True,
    ns_coefficients: tuple[Hyper, Hyper, Hyper] = (3.4445, -4.775, 2.0315),
    eps: Hyper = 1e-7,
    ns_steps: int = 5,
    adjust_lr_fn: str | None = None,
) -> GradientTransformation:
    """``torch.optim.Muon``: ``p -= lr * (ratio * orthogonalize(momentum(g)) + weight_decay * p)``, 2-D only.

    Any other tensor (biases, norms, scalars) is refused with an error showing how to route it
    elsewhere; for the usual recipe (Muon for hidden matrices, AdamW for embeddings, the head,
    norms and biases) use [`muon_with_adamw`][optimtx.muon_with_adamw] or [`muon_labels`][optimtx.muon_labels] with
    ``multi_transform``.
    Conv kernels: ``muon_with_adamw(flatten_nd=True)`` or ``scale_by_muon(flatten_nd=True)``.

    Example:
        >>> tx = muon(lr=0.02, weight_decay=0.0)
        >>> p = {"w": torch.zeros(2, 2)}
        >>> u, _ = tx.update({"w": torch.eye(2)}, tx.init(p), p)
        >>> u["w"].diagonal().abs().max() <= 0.02 * 1.5
        tensor(True)

    References:
        Jordan et al., 2024, "Muon: An optimizer for hidden layers in neural networks"; Liu et al., 2025,
        "Muon is Scalable for LLM Training"; ``torch.optim.Muon``.
    """
    return _muon(lr, weight_decay, scale_by_muon(momentum, nesterov, ns_coefficients, eps, ns_steps, adjust_lr_fn))


def _muon(lr: Hyper, weight_decay: Hyper, core: GradientTransformation) -> GradientTransformation:
    check_non_negative("lr", lr, schedule=True)
    return chain(core, *_decay(weight_decay), scale_by_learning_rate(lr))


# Kept as Python numbers under inject_hyperparams: torch fuses them into addmm (bfloat16 rounds otherwise).
muon.static_args = ("ns_coefficients",)  # type: ignore[attr-defined]
scale_by_muon.static_args = ("ns_coefficients",)  # type: ignore[attr-defined]

DEFAULT_EXCLUDE = ("embed", "head")


class MuonRoute(NamedTuple):
    """Where `muon_labels` sends one parameter, and why.

    Attributes:
        label: ``'muon'`` or ``'adamw'``.
        reason: the rule that decided, e.g. ``'hidden matrix 4x4'`` or ``"name matches 'head'"``.
    """

    label: str
    reason: str


def muon_routes(
    params: Mapping[str, Tensor] | torch.nn.Module | Iterable[tuple[str, Tensor]],
    exclude: Sequence[str] = DEFAULT_EXCLUDE,
    flatten_nd: bool = False,
) -> dict[str, MuonRoute]:
    """Each parameter's `MuonRoute`: Muon for hidden matrices (and kernels), AdamW for the rest.

    The rules, in order: a name matching an ``exclude`` pattern goes to AdamW (embeddings and the
    output head by default); a 2-D tensor goes to Muon; a tensor of more dimensions (a conv kernel)
    goes to Muon as the matrix ``(shape[0], rest)`` when ``flatten_nd``, else to AdamW; 1-D tensors
    (biases, norm scales) and scalars go to AdamW. ``explain`` shows these reasons.

    Example:
        >>> model = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.Flatten(), torch.nn.Linear(4, 2))
        >>> for name, route in muon_routes(model, exclude=("^2",), flatten_nd=True).items():
        ...     print(name, route.label, route.reason)
        0.weight muon 4-D kernel as matrix 4x9
        0.bias adamw 1-D (bias or norm)
        2.weight adamw name matches '^2'
        2.bias adamw 1-D (bias or norm)
    """
    patterns = _patterns(exclude)
    check_bool("flatten_nd", flatten_nd)
    return {name: _route(name, p, patterns, flatten_nd) for name, p in _named_tensors(params)}


def _route(name: str, p: Tensor, patterns: list[re.Pattern[str]], flatten_nd: bool) -> MuonRoute:
    if p.ndim < 2:
        return MuonRoute("adamw", "1-D (bias or norm)" if p.ndim == 1 else "scalar")
    hit = next((pattern.pattern for pattern in patterns if pattern.search(name)), None)
    if hit is not None:
        return MuonRoute("adamw", f"name matches {hit!r}")
    if p.ndim == 2:
        return MuonRoute("muon", f"hidden matrix {p.shape[0]}x{p.shape[1]}")
    rows, cols = p.shape[0], math.prod(p.shape[1:])
    if flatten_nd:
        return MuonRoute("muon", f"{p.ndim}-D kernel as matrix {rows}x{cols}")
    return MuonRoute("adamw", f"{p.ndim}-D (flatten_nd=False)")


def muon_labels(
    params: Mapping[str, Tensor] | torch.nn.Module | Iterable[tuple[str, Tensor]],
    exclude: Sequence[str] = DEFAULT_EXCLUDE,
    keys: str = "name",
    flatten_nd: bool = False,
) -> dict[str, str]:
    """``'muon'`` for hidden matrices, ``'adamw'`` for everything else: labels for ``multi_transform``.

    A parameter is a hidden matrix when it is 2-D (or, with ``flatten_nd``, of more dimensions:
    a conv kernel) and its name matches none of the ``exclude`` regular expressions (searched
    anywhere in the name; by default ``embed`` and ``head``, which catch ``embed_tokens``,
    ``embedding``, ``lm_head``, ``head.fc``...). Embeddings and the output head are matrices too,
    but the recipe trains them with AdamW. `muon_routes` gives the reason for each label.

    Args:
        params: a module, a ``{name: tensor}`` dict, or ``named_parameters()`` pairs.
        exclude: name patterns of matrices to give to AdamW.
        keys: ``'name'`` (for pure trees keyed by parameter name) or ``'index'`` (``'0'``, ``'1'``...
            in parameter order, the keys ``TransformOptimizer`` gives a param group when its transform
            is built with ``inject_hyperparams``, e.g. ``inject_hyperparams(muon_with_adamw)(labels=...)``).
        flatten_nd: send tensors of more than 2 dimensions to Muon too.

    Example:
        >>> model = torch.nn.Sequential(torch.nn.Embedding(10, 4), torch.nn.Linear(4, 4), torch.nn.LayerNorm(4))
        >>> muon_labels(model, exclude=("^0\\\\.",))
        {'0.weight': 'adamw', '1.weight': 'muon', '1.bias': 'adamw', '2.weight': 'adamw', '2.bias': 'adamw'}
    """
    if keys not in ("name", "index"):
        raise ValueError(f"Invalid keys: {keys!r}. It must be 'name' or 'index'.")
    routes = muon_routes(params, exclude, flatten_nd)
    return {name if keys == "name" else str(i): route.label for i, (name, route) in enumerate(routes.items())}


def _named_tensors(params: Any) -> list[tuple[str, Tensor]]:
    """``(name, tensor)`` pairs of a module, a dict or ``named_parameters()``; anything else is refused by name."""
    named = params.named_parameters() if isinstance(params, torch.nn.Module) else params
    try:
        items = list(named.items() if isinstance(named, Mapping) else named)
    except TypeError:
        items = None
    bad = (
        items is None
        or not all(isinstance(i, tuple) and len(i) == 2 for i in items)
        or not all(isinstance(k, str) and isinstance(v, Tensor) for k, v in items)
    )
    if bad:
        raise TypeError(
            f"muon_labels() needs a module, a {{name: tensor}} dict or named_parameters() pairs, got {params!r}."
        )
    return items  # type: ignore[return-value]


def _patterns(exclude: Any) -> list[re.Pattern[str]]:
    if isinstance(exclude, str) or not isinstance(exclude, Sequence) or not all(isinstance(e, str) for e in exclude):
        raise TypeError(f"exclude must be a sequence of name patterns (strings), got {exclude!r}.")
    return [re.compile(e) for e in exclude]


def muon_with_adamw(
    lr: Hyper = 0.02,
    weight_decay: Hyper = 0.1,
    momentum: Hyper = 0.95,
    nesterov: bool = True,
    adamw_lr: Hyper = 3e-4,
    adamw_betas: tuple[Hyper, Hyper] = (0.9, 0.95),
    adamw_eps: Hyper = 1e-8,
    adamw_weight_decay: Hyper = 0.0,
    exclude: Sequence[str] = DEFAULT_EXCLUDE,
    labels: Mapping[str, str] | None = None,
    adjust_lr_fn: str | None = None,
    flatten_nd: bool = False,
) -> GradientTransformation:
    """The usual Muon recipe: [`muon`][optimtx.muon] for hidden matrices, [`adamw`][optimtx.adamw] for the rest.

    Labels come from [`muon_labels`][optimtx.muon_labels] (``exclude`` names the matrices that go to AdamW:
    embeddings and the output head by default), computed from the tree each step, or are given
    as ``labels`` (name -> ``'muon'`` / ``'adamw'``), e.g. ``muon_labels(model, keys='index')``
    for a ``TransformOptimizer``. The defaults follow Keller Jordan's recipe (Muon lr 0.02,
    AdamW lr 3e-4, betas (0.9, 0.95)); ``weight_decay`` is Muon's, ``adamw_weight_decay`` AdamW's.
    ``flatten_nd=True`` trains a whole convolutional network: conv kernels go to Muon as
    ``(out_channels, in_channels * kh * kw)`` matrices. Inside ``TransformOptimizer`` the tree's
    keys are positions, not names, so ``exclude`` patterns could match nothing there: a tree keyed
    only by positions is refused unless ``labels`` are given or ``exclude=()`` asks for routing by
    shape alone (``explain`` shows the routing either way).

    Example:
        >>> tx = muon_with_adamw(lr=0.02, adamw_lr=1e-3)
        >>> p = {"layer.weight": torch.zeros(3, 3), "layer.bias": torch.zeros(3)}
        >>> u, _ = tx.update({k: torch.ones_like(v) for k, v in p.items()}, tx.init(p), p)
        >>> u["layer.bias"]  # AdamW's first step is -lr * sign(g)
        tensor([-0.0010, -0.0010, -0.0010])
    """
    _patterns(exclude)
    with prefixed_arguments("adamw_"):  # errors name adamw_lr, not AdamW's own lr
        adamw_part = adamw(adamw_lr, adamw_betas, adamw_eps, adamw_weight_decay)
    transforms: dict[Hashable, GradientTransformation] = {
        "muon": _muon(
            lr, weight_decay, scale_by_muon(momentum, nesterov, adjust_lr_fn=adjust_lr_fn, flatten_nd=flatten_nd)
        ),
        "adamw": adamw_part,
    }
    if labels is not None:
        return multi_transform(transforms, _given_labels(dict(labels)))
    return multi_transform(transforms, lambda tree: _labels_by_name(tree, exclude, flatten_nd))


_POSITION = re.compile(r"\d+(\.\d+)?")


def refuse_names_at_positions(exclude: Sequence[str], keys: Sequence[str]) -> None:
    """Refuse name patterns over a tree keyed by position, where no name could ever match.

    ``TransformOptimizer`` keys its trees by position (``'0'``, ``'0.1'``): ``exclude`` patterns would
    match nothing there and the embeddings and the head would go to Muon without a word.
    ``muon_with_adamw`` and ``explain`` both call this check.

    Example:
        >>> refuse_names_at_positions((), ["0", "1"])  # routing by shape alone is a choice
        >>> refuse_names_at_positions(("head",), ["0", "1"])
        Traceback (most recent call last):
        ...
        ValueError: muon_with_adamw routes by parameter name (exclude=('head',)), ...
    """
    if exclude and keys and all(_POSITION.fullmatch(k) for k in keys):
        raise ValueError(
            f"muon_with_adamw routes by parameter name (exclude={tuple(exclude)!r}), but its tree is keyed by "
            f"position ({', '.join(list(keys)[:3])}...), as inside TransformOptimizer, where no name can match. "
            "Pass labels=otx.muon_labels(model, keys='index', flatten_nd=...) to route by name, "
            "or exclude=() to route by shape only."
        )


def _labels_by_name(tree: Mapping[str, Tensor], exclude: Sequence[str], flatten_nd: bool) -> dict[str, str]:
    """[`muon_labels`][optimtx.muon_labels] of a tree, refusing a tree keyed only by positions."""
    refuse_names_at_positions(exclude, list(tree))
    return muon_labels(tree, exclude, flatten_nd=flatten_nd)


def _given_labels(labels: dict[str, str]) -> Any:
    """Labels from a dict; a ``'muon'`` label on a 0-d stand-in (``TransformOptimizer`` probes with them) is AdamW's."""
    bad = sorted({repr(v) for v in labels.values() if v not in ("muon", "adamw")})
    if bad:
        raise ValueError(f"labels must be 'muon' or 'adamw', got {', '.join(bad)}.")

    def resolve(tree: Mapping[str, Tensor]) -> dict[str, str]:
        missing = [k for k in tree if k not in labels]
        if missing:
            raise ValueError(f"labels have no entry for {missing}; give one label per parameter (muon_labels does).")
        return {k: "adamw" if labels[k] == "muon" and v.ndim == 0 else labels[k] for k, v in tree.items()}

    return resolve
