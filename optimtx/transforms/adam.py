"""Adam's moment estimates: the scaling inside ``torch.optim.Adam`` and ``AdamW``."""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
from torch import Tensor

from optimtx.core.base import GradientTransformation, Params, Updates
from optimtx.core.state_tree import check_state, has_complex, on_real_view, wide_float, zero_counter
from optimtx.core.tree import Tree, leaves, matched_leaves, rebuild, zeros_like
from optimtx.core.validation import check_bool, check_non_negative, check_state_dtype, check_unit_interval
from optimtx.transforms.kernels import (
    add_,
    add_scaled,
    decay_add_square,
    lerp,
    loop_invariant,
    mul,
    to_dtype,
    to_dtypes_of,
)

__all__ = [
    "ScaleByAdamState",
    "ScaleByAdamaxState",
    "adam_moments",
    "bias_correction",
    "checked_grads",
    "scale_by_adam",
    "scale_by_adamax",
]


class ScaleByAdamState(NamedTuple):
    """State of [`scale_by_adam`][optimtx.scale_by_adam].

    Attributes:
        count: how many updates were made (int64 0-d tensor), torch's ``step``.
        mu: first moment (``exp_avg``) of each parameter.
        nu: second moment (``exp_avg_sq``) of each parameter.
        nu_max: with ``amsgrad``, the running maximum of ``nu`` (``max_exp_avg_sq``); else ``{}``.
    """

    count: Tensor  # type: ignore[assignment]  # public field name (a contract); shadows tuple.count on purpose
    mu: dict[str, Tensor]
    nu: dict[str, Tensor]
    nu_max: dict[str, Tensor]


def bias_correction(decay: float | Tensor, count: Tensor) -> Tensor:
    """``1 - decay ** count`` as a float64 0-d tensor (torch computes it in double precision too).

    On the count's device; float32 where that device has no float64 (see `wide_float`).

    Example:
        >>> bias_correction(0.5, torch.tensor(2))
        tensor(0.7500, dtype=torch.float64)
    """
    return 1 - decay ** count.to(wide_float(count.device))


def _step_scalar(value: Tensor, like: list[Tensor]) -> Tensor:
    """A per-step scalar (from the count) in at least float32 and ``like``'s float width, computed once per step."""
    return loop_invariant(value.to(torch.promote_types(like[0].dtype, torch.float32)))


def _denominator(
    nu: list[Tensor],
    b1: float | Tensor,
    b2: float | Tensor,
    eps: float | Tensor,
    count: Tensor,
    eps_root: float | Tensor = 0.0,
) -> list[Tensor]:
    """``bc1 * (sqrt(nu / bc2 + eps_root) + eps)``: ``mu`` divided by it is Adam's bias-corrected direction.

    Folding both bias corrections into the denominator costs one pass over the tensors
    fewer than correcting ``mu`` separately.
    """
    bc1 = bias_correction(b1, count)
    if isinstance(eps_root, Tensor) or eps_root != 0:  # optax's eps_root sits inside the square root
        hat = mul(nu, _step_scalar(1 / bias_correction(b2, count), nu))
        add_(hat, eps_root)
        root = list(torch._foreach_pow(hat, 0.5))
        torch._foreach_mul_(root, _step_scalar(bc1, nu))
    else:
        root = list(torch._foreach_pow(nu, 0.5))  # not sqrt: pow's backward does not keep its output
        torch._foreach_mul_(root, _step_scalar(bc1 / bias_correction(b2, count).sqrt(), nu))
    add_(root, _step_scalar(eps * bc1, nu))
    return root


def _nesterov_numerator(mu: list[Tensor], grads: list[Tensor], b1: float | Tensor, count: Tensor) -> list[Tensor]:
    """``bc1(t) * (b1 * mu / bc1(t + 1) + (1 - b1) * g / bc1(t))``: optax's Nesterov first moment, over the
    denominator's ``bc1(t)``."""
    weight = _step_scalar(b1 * bias_correction(b1, count) / bias_correction(b1, count + 1), mu)
    return add_scaled(mul(mu, weight), grads, 1 - b1)


def _first_moment_step(
    grads: list[Tensor], state: Any, b1: float | Tensor
) -> tuple[list[Tensor], Tensor, list[Tensor]]:
    """The start every Adam-style update shares: the gradients, the next count, the new first moment."""
    mu = to_dtypes_of(leaves(state.mu), grads)  # a low-precision mu (mu_dtype) is computed on in the grads' dtype
    return grads, state.count + 1, lerp(mu, grads, 1 - b1) if grads else []


def checked_grads(updates: Updates, state: Any, kind: type, who: str, keep_dtype: bool = False) -> list[Tensor] | None:
    """``updates``' tensors matched against ``state.mu`` (see ``matched_leaves``), or ``None`` if they are complex.

    ``None`` tells the caller to rerun itself on real views (``on_real_view``), as torch does.

    Example:
        >>> checked_grads({"w": torch.ones(1)}, scale_by_adam().init({"w": torch.zeros(1)}), ScaleByAdamState, "adam")
        [tensor([1.])]
    """
    check_state(state, kind, who)
    grads = matched_leaves(updates, state.mu, keep_dtype=keep_dtype)
    return None if has_complex(grads) else grads


def scale_by_adam(
    b1: float | Tensor = 0.9,
    b2: float | Tensor = 0.999,
    eps: float | Tensor = 1e-8,
    amsgrad: bool = False,
    mu_dtype: torch.dtype | str | None = None,
    *,
    eps_root: float | Tensor = 0.0,
    nesterov: bool = False,
) -> GradientTransformation:
    """Rescale updates by Adam's bias-corrected moments, as ``torch.optim.Adam`` does.

    With ``t`` the step number, ``m = lerp(m, g, 1 - b1)``, ``v = b2 * v + (1 - b2) * g * g``
    (``v_max = max(v_max, v)`` with ``amsgrad``, used in place of ``v``), and the output is
    ``(m / (1 - b1**t)) / (sqrt(v / (1 - b2**t) + eps_root) + eps)``: ``eps`` is added after the
    square root of the bias-corrected second moment, like torch and optax.
    Multiplying by ``-lr`` gives torch's Adam step.

    Args:
        b1: decay of the first moment, in [0, 1).
        b2: decay of the second moment, in [0, 1).
        eps: added to the denominator for numerical stability (>= 0).
        amsgrad: keep the running maximum of the second moment (AMSGrad).
        mu_dtype: dtype the first moment is stored in (e.g. ``torch.bfloat16`` or ``'bfloat16'``, as optax's
            ``mu_dtype``); it is computed in the gradients' dtype and rounded only when stored. ``None``: the
            parameters' dtype.
        eps_root: added to the bias-corrected second moment inside the square root (>= 0), as optax's
            ``eps_root`` (keeps the gradient of the update finite when meta-learning through it).
        nesterov: use optax's Nesterov first moment ``b1 * m / (1 - b1**(t+1)) + (1 - b1) * g / (1 - b1**t)``
            (NAdam as optax defines it) in place of ``m / (1 - b1**t)``.

    References:
        Kingma & Ba, 2015, *Adam* (arXiv:1412.6980); Reddi et al., 2018 (AMSGrad).
        Dozat, 2016, *Incorporating Nesterov Momentum into Adam* (nesterov).
        torch: the moment updates inside ``torch.optim.Adam``; optax: ``optax.scale_by_adam``.

    Example:
        >>> tx = scale_by_adam()
        >>> g = {"w": torch.tensor([2.0, -0.5])}
        >>> tx.update(g, tx.init(g))[0]  # the first step is the sign, up to eps
        {'w': tensor([ 1.0000, -1.0000])}
    """
    check_unit_interval("b1", b1)
    check_unit_interval("b2", b2)
    check_non_negative("eps", eps)
    check_bool("amsgrad", amsgrad)
    check_non_negative("eps_root", eps_root)
    check_bool("nesterov", nesterov)
    mu_dtype = check_state_dtype("mu_dtype", mu_dtype)

    def init(params: Params) -> ScaleByAdamState:
        return ScaleByAdamState(
            count=zero_counter(params),
            mu=zeros_like(params, dtype=mu_dtype),
            nu=zeros_like(params),
            nu_max=zeros_like(params) if amsgrad else {},
        )

    def update(
        updates: Updates, state: ScaleByAdamState, params: Params | None = None, **extra: Any
    ) -> tuple[Tree, ScaleByAdamState]:
        grads = checked_grads(updates, state, ScaleByAdamState, "scale_by_adam", keep_dtype=mu_dtype is not None)
        if grads is None:
            return on_real_view(update, updates, state, params, extra)
        new_state, mu, denominator = _moments(grads, updates, state, b1, b2, eps, amsgrad, mu_dtype, eps_root)
        if not mu:
            return {}, new_state
        if nesterov:
            mu = _nesterov_numerator(mu, grads, b1, new_state.count)
        return rebuild(updates, torch._foreach_div(mu, denominator)), new_state

    return GradientTransformation(init, update)


def adam_moments(
    updates: Updates,
    state: ScaleByAdamState,
    b1: float | Tensor,
    b2: float | Tensor,
    eps: float | Tensor,
    amsgrad: bool,
    mu_dtype: torch.dtype | None = None,
) -> tuple[ScaleByAdamState, list[Tensor], list[Tensor]]:
    """One Adam step's new state, plus the first moment and denominator whose quotient is Adam's direction.

    [`scale_by_adam`][optimtx.scale_by_adam] divides the two; a caller that scales and shifts the direction
    anyway (``adamw``) can fold the division into that pass. The denominator is a buffer
    this call allocated and nothing else refers to. With no tensors, both lists are empty. The state's
    first moment is stored in ``mu_dtype`` (when given); the returned one keeps the gradients' precision.

    Example:
        >>> g = {"w": torch.tensor([2.0])}
        >>> state, mu, denominator = adam_moments(g, scale_by_adam().init(g), 0.9, 0.999, 0.0, False)
        >>> state.count, torch.div(mu[0], denominator[0]).round(decimals=4)
        (tensor(1), tensor([1.]))
    """
    check_state(state, ScaleByAdamState, "adam_moments")
    grads = matched_leaves(updates, state.mu, keep_dtype=mu_dtype is not None)
    return _moments(grads, updates, state, b1, b2, eps, amsgrad, mu_dtype)


def _moments(
    grads: list[Tensor],
    updates: Updates,
    state: ScaleByAdamState,
    b1: float | Tensor,
    b2: float | Tensor,
    eps: float | Tensor,
    amsgrad: bool,
    mu_dtype: torch.dtype | None = None,
    eps_root: float | Tensor = 0.0,
) -> tuple[ScaleByAdamState, list[Tensor], list[Tensor]]:
    grads, count, mu = _first_moment_step(grads, state, b1)
    if not grads:
        return state._replace(count=count), [], []
    nu = decay_add_square(leaves(state.nu), grads, b2, 1 - b2)
    nu_max = list(torch._foreach_maximum(leaves(state.nu_max), nu)) if amsgrad else []
    new_state = ScaleByAdamState(
        count=count,
        mu=rebuild(updates, to_dtype(mu, mu_dtype)),
        nu=rebuild(updates, nu),
        nu_max=rebuild(updates, nu_max) if amsgrad else {},
    )
    return new_state, mu, _denominator(nu_max if amsgrad else nu, b1, b2, eps, count, eps_root)


class ScaleByAdamaxState(NamedTuple):
    """State of [`scale_by_adamax`][optimtx.scale_by_adamax].

    Attributes:
        count: how many updates were made (int64 0-d tensor), torch's ``step``.
        mu: first moment (``exp_avg``) of each parameter.
        inf_norm: the decayed running maximum of ``|g|`` (``exp_inf``) of each parameter.
    """

    count: Tensor  # type: ignore[assignment]  # public field name (a contract); shadows tuple.count on purpose
    mu: dict[str, Tensor]
    inf_norm: dict[str, Tensor]


def scale_by_adamax(
    b1: float | Tensor = 0.9, b2: float | Tensor = 0.999, eps: float | Tensor = 1e-8
) -> GradientTransformation:
    """Rescale updates as ``torch.optim.Adamax`` does (Adam with an infinity norm).

    ``m = lerp(m, g, 1 - b1)``, ``u = max(b2 * u, |g| + eps)``; the output is
    ``m / (u * (1 - b1**t))``.

    References:
        Kingma & Ba, 2015, *Adam*, section 7.
        torch: ``torch.optim.Adamax``; optax: ``optax.scale_by_adamax``.

    Example:
        >>> tx = scale_by_adamax(eps=0.0)
        >>> g = {"w": torch.tensor([2.0, -0.5])}
        >>> tx.update(g, tx.init(g))[0]
        {'w': tensor([ 1., -1.])}
    """
    check_unit_interval("b1", b1)
    check_unit_interval("b2", b2)
    check_non_negative("eps", eps)

    def init(params: Params) -> ScaleByAdamaxState:
        return ScaleByAdamaxState(count=zero_counter(params), mu=zeros_like(params), inf_norm=zeros_like(params))

    def update(
        updates: Updates, state: ScaleByAdamaxState, params: Params | None = None, **extra: Any
    ) -> tuple[Tree, ScaleByAdamaxState]:
        grads = checked_grads(updates, state, ScaleByAdamaxState, "scale_by_adamax")
        if grads is None:
            return on_real_view(update, updates, state, params, extra)
        grads, count, mu = _first_moment_step(grads, state, b1)
        if not grads:
            return {}, state._replace(count=count)
        magnitude = list(torch._foreach_abs(grads))
        torch._foreach_add_(magnitude, eps)  # fresh, and abs's backward needs its input, not this
        inf_norm = torch._foreach_maximum(mul(leaves(state.inf_norm), b2), magnitude)
        out = list(torch._foreach_div(mu, inf_norm))
        # Fresh, and div's backward needs only its inputs.
        torch._foreach_mul_(out, _step_scalar(1 / bias_correction(b1, count), out))
        new_state = ScaleByAdamaxState(count=count, mu=rebuild(updates, mu), inf_norm=rebuild(updates, inf_norm))
        return rebuild(updates, out), new_state

    return GradientTransformation(init, update)
