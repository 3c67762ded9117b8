"""optax.contrib's ``muon`` / ``scale_by_muon``: optax's option layer over muon.py's Newton-Schulz step.

The quintic step ``c0 X + (c1 A + c2 A A) X`` with ``A = X X^T`` is muon.py's (its ``_addmm``,
called with tensor coefficients so that it runs on a batch of matrices); this module adds optax's
options: a table of per-step coefficients, the four preconditionings, n-D tensors through
[`MuonDimensionNumbers`][optimtx.optax.contrib.MuonDimensionNumbers] (batch axes orthogonalised
independently), the dual-norm (``adaptive``) scaling, consistent-RMS scaling and optax's
Nesterov bias correction. The iteration runs in the update's dtype (float64 in, float64 out),
where muon.py's torch-style [`scale_by_muon`][optimtx.scale_by_muon] runs it in bfloat16.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

import torch
from torch import Tensor

from optimtx.core.base import GradientTransformation, Params, Updates, chain
from optimtx.core.state_tree import zero_counter
from optimtx.optax._aliases import adamw
from optimtx.optax._blocks import add_decayed_weights, scale_by_learning_rate
from optimtx.optax._wrappers import partition
from optimtx.transforms.muon import _addmm

Scalar = float | Tensor

_PRECONDITIONINGS = ("frobenius", "spectral", "aol", "schatten")
_DEFAULT_NS_COEFFS = (3.4445, -4.7750, 2.0315)
_NS_COEFFS_PRESETS: dict[str, Any] = {
    "standard": _DEFAULT_NS_COEFFS,
    "dion": (
        (4.0848, -6.8946, 2.9270),
        (3.9505, -6.3029, 2.6377),
        (3.7418, -5.5913, 2.3037),
        (2.8769, -3.1427, 1.2046),
        (2.8366, -3.0525, 1.2012),
    ),
}

NOT_TRAJECTORIES: tuple[str, ...] = ("MuonDimensionNumbers", "MuonState")

__all__ = ["MuonDimensionNumbers", "MuonState", "muon", "scale_by_muon"]


class MuonDimensionNumbers(NamedTuple):
    """Which axes of a tensor form Muon's matrix: rows (``reduction_axis``) and columns (``output_axis``).

    All other axes are batch axes, orthogonalised independently. optax's layout is JAX's
    ``x @ W``: the defaults ``(0, 1)`` read a torch ``nn.Linear`` weight ``(out, in)`` transposed.
    The orthogonalisation does not mind (it commutes with transposition), but ``muon``'s width
    scaling reads ``fan_in`` from the reduction axes: for torch's ``(out, in)`` layout pass
    ``MuonDimensionNumbers(reduction_axis=1, output_axis=0)``.

    Example:
        >>> MuonDimensionNumbers(reduction_axis=(1, 2), output_axis=0)
        MuonDimensionNumbers(reduction_axis=(1, 2), output_axis=0)
    """

    reduction_axis: Sequence[int] | int = 0
    output_axis: Sequence[int] | int = 1


class MuonState(NamedTuple):
    """optax's ``MuonState``: the step ``count``, the momentum ``mu`` and the coefficient table ``ns_coeffs``.

    Example:
        >>> MuonState._fields
        ('count', 'mu', 'ns_coeffs')
    """

    # optax names the step counter `count`, which shadows tuple.count.
    count: Tensor  # type: ignore[assignment]
    mu: dict[str, Tensor]
    ns_coeffs: Tensor


DimNums = MuonDimensionNumbers | Mapping[str, MuonDimensionNumbers | None] | Callable[[Any], Any] | None


def _axes(x: Tensor, dims: MuonDimensionNumbers) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
    """(batch, reduction, output) axes of ``x``; refuses ranks below 2 and overlapping axes."""
    if x.ndim < 2:
        raise ValueError(f"Muon needs tensors of rank >= 2, got shape {tuple(x.shape)}.")

    def norm(axes: Sequence[int] | int) -> tuple[int, ...]:
        return tuple(a % x.ndim for a in ((axes,) if isinstance(axes, int) else axes))

    red, out = norm(dims.reduction_axis), norm(dims.output_axis)
    if set(red) & set(out):
        raise ValueError(f"Muon's reduction and output axes must be disjoint, got {red} and {out} for {dims}.")
    batch = tuple(a for a in range(x.ndim) if a not in red + out)
    return batch, red, out


def _fans(x: Tensor, dims: MuonDimensionNumbers) -> tuple[int, int]:
    _, red, out = _axes(x, dims)
    return math.prod([x.shape[a] for a in red]), math.prod([x.shape[a] for a in out])


def _first_step_scale(x: Tensor, preconditioning: str, eps: Scalar) -> tuple[Tensor, Tensor | None]:
    """Scale ``x`` (a batch of wide matrices) before the iteration; AOL and Schatten also rescale ``A``."""
    if preconditioning == "frobenius":
        return x / (torch.linalg.matrix_norm(x)[:, None, None] + eps), None
    if preconditioning == "spectral":
        return x / (torch.linalg.matrix_norm(x, ord=2)[:, None, None] + eps), None
    a = x @ x.transpose(-1, -2)
    if preconditioning == "aol":
        s = torch.rsqrt(a.abs().sum(-1).clamp(min=eps))[..., None]
        return x * s, a * s * s.transpose(-1, -2)
    s = torch.rsqrt(torch.linalg.matrix_norm(a).clamp(min=eps))[:, None, None]
    return x * s, a * s * s


def _orthogonalize(x: Tensor, coeffs: Tensor, ns_steps: int, preconditioning: str, eps: Scalar) -> Tensor:
    """optax's ``orthogonalize_via_newton_schulz`` on a ``(batch, rows, cols)`` tensor."""
    tall = x.size(1) > x.size(2)
    if tall:
        x = x.transpose(-1, -2)
    x, gram = _first_step_scale(x, preconditioning, eps)
    rows = coeffs.to(x.dtype) if coeffs.ndim == 2 else coeffs.to(x.dtype).expand(ns_steps, 3)
    one = torch.ones((), dtype=x.dtype, device=x.device)
    for c in rows.unbind(0):
        a = x @ x.transpose(-1, -2) if gram is None else gram
        gram = None
        x = _addmm(x, _addmm(a, a, a, c[1], c[2]), x, c[0], one)
    return x.transpose(-1, -2) if tall else x


def _orthogonalize_nd(
    x: Tensor, dims: MuonDimensionNumbers, coeffs: Tensor, ns_steps: int, pre: str, eps: Scalar
) -> Tensor:
    batch, red, out = _axes(x, dims)
    order = batch + red + out
    moved = x.permute(order)
    shape = moved.shape
    flat = moved.reshape(math.prod(shape[: len(batch)]), math.prod(shape[len(batch) : len(batch) + len(red)]), -1)
    done = _orthogonalize(flat, coeffs, ns_steps, pre, eps).reshape(shape)
    return done.permute(sorted(range(x.ndim), key=lambda i: order[i]))


def _resolve(dims: DimNums, updates: Mapping[str, Tensor]) -> dict[str, MuonDimensionNumbers | None]:
    """Dimension numbers per name: ``None`` means the default 2-D rule; a callable is called with ``updates``."""
    if callable(dims) and not isinstance(dims, MuonDimensionNumbers):
        dims = dims(updates)
    if dims is None or isinstance(dims, MuonDimensionNumbers):
        return dict.fromkeys(updates, dims)
    if not isinstance(dims, Mapping) or set(dims) != set(updates):
        raise ValueError(
            "weight_dimension_numbers must be None, a MuonDimensionNumbers, a dict with the updates' keys "
            f"{sorted(updates)} or a callable returning one; got {dims!r}."
        )
    return dict(dims)


def _coeff_table(ns_coeffs: Any, ns_steps: int) -> Tensor:
    table = torch.as_tensor(ns_coeffs, dtype=torch.float64)
    if table.ndim > 2 or table.shape[-1] != 3:
        raise ValueError(f"ns_coeffs must have shape (3,) or (n, 3), got {tuple(table.shape)}.")
    if table.ndim == 2 and table.shape[0] > ns_steps:
        raise ValueError(f"ns_coeffs has {table.shape[0]} rows: not enough ns_steps ({ns_steps}) to use them.")
    return table[-ns_steps:] if table.ndim == 2 else table


def scale_by_muon(
    ns_coeffs: Any = _DEFAULT_NS_COEFFS,
    ns_steps: int = 5,
    beta: Scalar = 0.95,
    eps: Scalar = 1e-8,
    mu_dtype: torch.dtype | None = None,
    *,
    nesterov: bool = True,
    adaptive: bool = False,
    preconditioning: str = "frobenius",
    weight_dimension_numbers: DimNums = None,
) -> GradientTransformation:
    """optax.contrib's ``scale_by_muon``: momentum, optax's bias correction, then Newton-Schulz orthogonalisation.

    Args:
        ns_coeffs: ``(c0, c1, c2)`` for every step, or a table of rows, one per step.
        ns_steps: iterations (the table's rows when a table is given; it may not have more).
        beta: momentum decay.
        eps: added to the preconditioning norm.
        mu_dtype: dtype of the momentum; ``None``: the updates'.
        nesterov: optax's Nesterov momentum (each part bias-corrected).
        adaptive: scale each orthogonalised update by ``<mu_hat, O>`` (the dual norm).
        preconditioning: ``"frobenius"``, ``"spectral"``, ``"aol"`` or ``"schatten"``.
        weight_dimension_numbers: ``None`` (every tensor 2-D), one ``MuonDimensionNumbers``, a
            dict of them by name, or a callable of the updates returning one of these.

    Example:
        >>> tx = scale_by_muon(ns_steps=0, nesterov=False)
        >>> g = {"w": torch.tensor([[3.0, 0.0], [0.0, 4.0]], dtype=torch.float64)}
        >>> tx.update(g, tx.init(g))[0]["w"]
        tensor([[0.6000, 0.0000],
                [0.0000, 0.8000]], dtype=torch.float64)
    """
    if preconditioning not in _PRECONDITIONINGS:
        raise ValueError(f"Unknown preconditioning {preconditioning!r}: use one of {_PRECONDITIONINGS}.")
    table = _coeff_table(ns_coeffs, ns_steps)

    def init(params: Params) -> MuonState:
        mu = {k: torch.zeros_like(v, dtype=mu_dtype or v.dtype) for k, v in params.items()}
        count = zero_counter(params)
        return MuonState(count, mu, table.to(count.device, copy=True))

    def update(updates: Updates, state: MuonState, params: Params | None = None, **extra: Any) -> Any:
        del params, extra
        dims = _resolve(weight_dimension_numbers, updates)
        count = state.count + 1
        fix = 1 - beta ** count.to(torch.float64)
        out, mu = {}, {}
        for k, g in updates.items():
            m = (beta * state.mu[k] + (1 - beta) * g).to(g.dtype)
            if nesterov:
                hat = beta * (m / (1 - beta ** (count + 1).to(torch.float64))) + (1 - beta) * (g / fix)
            else:
                hat = m / fix
            hat = hat.to(g.dtype)
            o = _orthogonalize_nd(
                hat, dims[k] or MuonDimensionNumbers(), state.ns_coeffs, ns_steps, preconditioning, eps
            )
            out[k] = (hat * o).sum() * o if adaptive else o
            mu[k] = m.to(mu_dtype or g.dtype)
        return out, MuonState(count, mu, state.ns_coeffs)

    return GradientTransformation(init, update)


def _scale_by_shape(dims: DimNums, consistent_rms: Scalar | None) -> GradientTransformation:
    """optax's ``scale_by_shape``: width scaling ``sqrt(max(1, fan_out / fan_in))`` or consistent RMS."""

    def update(updates: Updates, state: Any, params: Params | None = None, **extra: Any) -> Any:
        resolved = _resolve(dims, updates)
        out = {}
        for k, u in updates.items():
            fan_in, fan_out = _fans(u, resolved[k] or MuonDimensionNumbers())
            if consistent_rms is None:
                out[k] = math.sqrt(max(1.0, fan_out / fan_in)) * u
            else:
                out[k] = math.sqrt(max(fan_in, fan_out)) * consistent_rms * u
        return out, state

    return GradientTransformation(lambda params: (), update)


def _labels_and_dims(dims: DimNums) -> tuple[Callable[[Any], dict[str, str]], Callable[[Any], dict[str, Any]]]:
    """optax's routing: Muon where a tensor has dimension numbers (or, without any, is 2-D); Adam elsewhere."""

    def full(tree: Mapping[str, Tensor]) -> dict[str, MuonDimensionNumbers | None]:
        if dims is None:
            return {k: MuonDimensionNumbers() if v.ndim == 2 else None for k, v in tree.items()}
        return _resolve(dims, tree)

    def labels(params: Any) -> dict[str, str]:
        return {k: "adam" if d is None else "muon" for k, d in full(params).items()}

    def muon_dims(updates: Any) -> dict[str, Any]:
        if dims is None or isinstance(dims, MuonDimensionNumbers):
            return dict.fromkeys(updates, dims or MuonDimensionNumbers())
        table = dims(updates) if callable(dims) else dims
        return {k: table[k] for k in updates}

    return labels, muon_dims


def muon(
    learning_rate: Any,
    ns_coeffs: Any = _DEFAULT_NS_COEFFS,
    ns_steps: int = 5,
    beta: Scalar = 0.95,
    eps: Scalar = 1e-8,
    weight_decay: Scalar = 0.0,
    weight_decay_mask: Any = None,
    mu_dtype: torch.dtype | None = None,
    *,
    nesterov: bool = True,
    adaptive: bool = False,
    preconditioning: str = "frobenius",
    adam_b1: Scalar = 0.9,
    adam_b2: Scalar = 0.999,
    adam_eps_root: Scalar = 0.0,
    adam_weight_decay: Scalar = 0.0,
    adam_learning_rate: Any = None,
    muon_weight_dimension_numbers: DimNums = None,
    consistent_rms: Scalar | None = None,
) -> GradientTransformation:
    """optax.contrib's ``muon``: Muon on matrices (or tensors given dimension numbers), AdamW on the rest.

    Muon's branch is [`scale_by_muon`][optimtx.optax.contrib.scale_by_muon], optax's shape scaling
    (``sqrt(max(1, fan_out / fan_in))``, or ``sqrt(max(fan_in, fan_out)) * consistent_rms``),
    ``add_decayed_weights(weight_decay, weight_decay_mask)`` and ``-learning_rate``; the others go
    to optax's ``adamw`` with the ``adam_*`` arguments. ``ns_coeffs`` may name a preset
    (``"standard"``, ``"dion"``). A callable ``muon_weight_dimension_numbers`` is called with the
    parameters for the routing and with Muon's share of the updates for the orthogonalisation.

    Example:
        >>> tx = muon(0.1)
        >>> p = {"w": torch.zeros(2, 2, dtype=torch.float64), "b": torch.zeros(2, dtype=torch.float64)}
        >>> g = {"w": torch.eye(2, dtype=torch.float64), "b": torch.ones(2, dtype=torch.float64)}
        >>> u = tx.update(g, tx.init(p), p)[0]
        >>> u["b"]  # AdamW's first step (Nesterov's, as Muon's)
        tensor([-0.1474, -0.1474], dtype=torch.float64)
    """
    if isinstance(ns_coeffs, str):
        if ns_coeffs not in _NS_COEFFS_PRESETS:
            raise ValueError(f"Unknown ns_coeffs preset {ns_coeffs!r}: use one of {sorted(_NS_COEFFS_PRESETS)}.")
        ns_coeffs = _NS_COEFFS_PRESETS[ns_coeffs]
    labels, dims = _labels_and_dims(muon_weight_dimension_numbers)
    muon_part = chain(
        scale_by_muon(
            ns_coeffs,
            ns_steps,
            beta,
            eps,
            mu_dtype,
            nesterov=nesterov,
            adaptive=adaptive,
            preconditioning=preconditioning,
            weight_dimension_numbers=dims,
        ),
        _scale_by_shape(dims, consistent_rms),
        add_decayed_weights(weight_decay, weight_decay_mask),
        scale_by_learning_rate(learning_rate),
    )
    adam_part = adamw(
        learning_rate if adam_learning_rate is None else adam_learning_rate,
        b1=adam_b1,
        b2=adam_b2,
        eps=eps,
        eps_root=adam_eps_root,
        weight_decay=adam_weight_decay,
        mu_dtype=mu_dtype,
        nesterov=nesterov,
    )
    return partition({"muon": muon_part, "adam": adam_part}, labels)
