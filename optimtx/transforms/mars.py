"""MARS: Adam (or Lion) on a variance-reduced gradient, as ``pytorch_optimizer.MARS`` runs it."""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
from torch import Tensor

from optimtx.core.base import GradientTransformation, Params, Updates, chain
from optimtx.core.state_tree import check_state, zero_counter
from optimtx.core.tree import Tree, check_params, leaves, matched_leaves, rebuild, zeros_like
from optimtx.core.validation import check_betas, check_bool, check_choice, check_non_negative, check_unit_interval
from optimtx.transforms._linalg import refuse_complex
from optimtx.transforms._whole import _whole_tensors
from optimtx.transforms.adam import bias_correction
from optimtx.transforms.kernels import add, decay_add_square, lerp, mul
from optimtx.transforms.masking import multi_transform
from optimtx.transforms.optimizers import Hyper, _decay
from optimtx.transforms.scaling import scale_by_learning_rate

__all__ = ["MARS_TYPES", "ScaleByMarsState", "mars", "scale_by_mars"]

MARS_TYPES = ("adamw", "lion")
_SQ_EPS = 1e-15  # the reference adds it to the second moment before the square root


class ScaleByMarsState(NamedTuple):
    """State of [`scale_by_mars`][optimtx.scale_by_mars].

    Attributes:
        count: how many updates were made (int64 0-d tensor).
        mu: first moment of the corrected gradient (``exp_avg``).
        nu: second moment of the corrected gradient (``exp_avg_sq``; unused by ``'lion'``).
        nu_max: with ``ams_bound``, the running maximum of ``nu``; else ``{}``.
        last_grad: the previous step's gradient (zeros before the first step, as in the reference).
    """

    count: Tensor  # type: ignore[assignment]  # the counter every optimtx state calls count
    mu: dict[str, Tensor]
    nu: dict[str, Tensor]
    nu_max: dict[str, Tensor]
    last_grad: dict[str, Tensor]


def _corrected(grads: list[Tensor], last: list[Tensor], gamma: Hyper, b1: Hyper) -> list[Tensor]:
    """``c = g + gamma * b1 / (1 - b1) * (g - g_prev)``, divided by ``max(||c||, 1)`` (per tensor)."""
    diff = torch._foreach_sub(grads, last)
    c = torch._foreach_add(grads, torch._foreach_mul(diff, gamma * (b1 / (1 - b1))))
    norms = [n.clamp(min=1.0) for n in torch._foreach_norm(c)]
    return list(torch._foreach_div(c, norms))


def _adam_direction(
    mu: list[Tensor], nu: list[Tensor], b1: Hyper, b2: Hyper, eps: Hyper, count: Tensor
) -> list[Tensor]:
    """``mu / ((sqrt(nu + 1e-15) + eps) / sqrt(1 - b2**t) * (1 - b1**t))``: the reference's denominator."""
    denominator = add(list(torch._foreach_sqrt(torch._foreach_add(nu, _SQ_EPS))), eps)
    scale = bias_correction(b1, count) / bias_correction(b2, count).sqrt()
    return list(torch._foreach_div(mu, mul(denominator, scale)))


def _mars_step(
    grads: list[Tensor],
    state: ScaleByMarsState,
    hp: tuple[Hyper, Hyper, Hyper, Hyper],
    mars_type: str,
    ams_bound: bool,
    correct: bool,
) -> tuple[list[Tensor], list[Tensor], list[Tensor], list[Tensor], Tensor]:
    """One step's direction, and the new ``mu``, ``nu`` and ``nu_max`` (all lists) and count."""
    b1, b2, gamma, eps = hp
    count = state.count + 1
    c = _corrected(grads, leaves(state.last_grad), gamma, b1) if correct else grads
    mu = lerp(leaves(state.mu), c, 1 - b1)
    if mars_type == "lion":
        return list(torch._foreach_sign(mu)), mu, leaves(state.nu), leaves(state.nu_max), count
    nu = decay_add_square(leaves(state.nu), c, b2, 1 - b2)
    nu_max = list(torch._foreach_maximum(leaves(state.nu_max), nu)) if ams_bound else []
    return _adam_direction(mu, nu_max if ams_bound else nu, b1, b2, eps, count), mu, nu, nu_max, count


def scale_by_mars(
    b1: Hyper = 0.95,
    b2: Hyper = 0.99,
    gamma: Hyper = 0.025,
    eps: Hyper = 1e-8,
    mars_type: str = "adamw",
    ams_bound: bool = False,
    correct: bool = True,
) -> GradientTransformation:
    """MARS's direction: Adam (or Lion's sign) of a variance-reduced gradient.

    With ``g'`` the previous gradient (zeros at the first step), ``c = g + gamma * b1 / (1 - b1) * (g - g')``
    is divided by ``max(||c||, 1)`` (its own norm, per tensor); ``m = lerp(m, c, 1 - b1)``. For
    ``'adamw'``, ``v = b2 * v + (1 - b2) * c * c`` and the output is
    ``m / ((sqrt(v + 1e-15) + eps) * (1 - b1**t) / sqrt(1 - b2**t))`` (``eps`` before the bias
    correction, as the reference); for ``'lion'`` it is ``sign(m)``. ``correct=False`` skips the
    correction (``c = g``): the plain Adam the reference gives 1-D tensors. Any shape works, 0-d included.

    Args:
        b1: decay of the first moment, in [0, 1).
        b2: decay of the second moment, in [0, 1).
        gamma: strength of the variance-reduction term (>= 0).
        eps: added to the denominator (>= 0).
        mars_type: ``'adamw'`` or ``'lion'``.
        ams_bound: use the running maximum of ``v`` (AMSGrad-style).
        correct: apply the variance-reduced correction and its norm clip.

    References:
        Yuan et al., 2024, *MARS: Unleashing the Power of Variance Reduction for Training Large Models*
        (arXiv:2411.10438); ``pytorch_optimizer.MARS``.

    Example:
        >>> tx = scale_by_mars(eps=0.0)
        >>> g = {"w": torch.tensor([0.3, -0.4])}
        >>> tx.update(g, tx.init(g))[0]  # the first Adam step is the sign
        {'w': tensor([ 1., -1.])}
    """
    check_unit_interval("b1", b1)
    check_unit_interval("b2", b2)
    check_non_negative("gamma", gamma)
    check_non_negative("eps", eps)
    check_choice("mars_type", mars_type, MARS_TYPES)
    check_bool("ams_bound", ams_bound)
    check_bool("correct", correct)

    def init(params: Params) -> ScaleByMarsState:
        check_params(params)
        refuse_complex(params, "scale_by_mars")
        return ScaleByMarsState(
            count=zero_counter(params),
            mu=zeros_like(params),
            nu=zeros_like(params) if mars_type == "adamw" else {},
            nu_max=zeros_like(params) if ams_bound and mars_type == "adamw" else {},
            last_grad=zeros_like(params) if correct else {},
        )

    def update(
        updates: Updates, state: ScaleByMarsState, params: Params | None = None, **extra: Any
    ) -> tuple[Tree, ScaleByMarsState]:
        del params, extra
        check_state(state, ScaleByMarsState, "scale_by_mars")
        grads = matched_leaves(updates, state.mu)
        if not grads:
            return {}, state._replace(count=state.count + 1)
        out, mu, nu, nu_max, count = _mars_step(grads, state, (b1, b2, gamma, eps), mars_type, ams_bound, correct)
        new_state = ScaleByMarsState(
            count=count,
            mu=rebuild(updates, mu),
            nu=rebuild(updates, nu) if nu else {},
            nu_max=rebuild(updates, nu_max) if nu_max else {},
            last_grad=rebuild(updates, grads) if correct else {},
        )
        return rebuild(updates, out), new_state

    return _whole_tensors(GradientTransformation(init, update))


def _mars_labels(optimize_1d: bool) -> Any:
    def labels(tree: Params) -> dict[str, str]:
        return {k: "mars" if optimize_1d or v.ndim >= 2 else "adamw_1d" for k, v in tree.items()}

    return labels


def mars(
    lr: Hyper = 3e-3,
    betas: tuple[Hyper, Hyper] = (0.95, 0.99),
    gamma: Hyper = 0.025,
    mars_type: str = "adamw",
    optimize_1d: bool = False,
    lr_1d: Hyper = 3e-3,
    betas_1d: tuple[Hyper, Hyper] = (0.9, 0.95),
    weight_decay: Hyper = 0.0,
    weight_decay_1d: Hyper = 0.1,
    ams_bound: bool = False,
    eps: Hyper = 1e-8,
) -> GradientTransformation:
    """``pytorch_optimizer.MARS`` (decoupled weight decay): MARS for matrices, Adam for the rest.

    Tensors with two or more dimensions (matrices, conv kernels as they are) get
    [`scale_by_mars`][optimtx.scale_by_mars] with ``betas``, ``lr`` and ``weight_decay``; 1-D and
    0-d tensors get the reference's Adam (``correct=False``) with ``betas_1d``, ``lr_1d`` and
    ``weight_decay_1d`` unless ``optimize_1d`` sends them to MARS too. Weight decay is decoupled:
    ``p -= lr * (direction + weight_decay * p)``. ``lr_1d`` is independent of ``lr`` (the reference keeps their
    ratio, so a scheduler on ``lr`` moves both there; here, schedule ``lr_1d`` too).

    Example:
        >>> tx = mars(lr=0.1, weight_decay_1d=0.0)
        >>> p = {"w": torch.zeros(2, 2), "b": torch.zeros(2)}
        >>> u, _ = tx.update({"w": torch.ones(2, 2), "b": torch.ones(2)}, tx.init(p), p)
        >>> u["b"]  # lr_1d (3e-3 by default) times the first Adam step, the sign
        tensor([-0.0030, -0.0030])

    References:
        Yuan et al., 2024, *MARS* (arXiv:2411.10438); ``pytorch_optimizer.MARS``.
    """
    b1, b2 = check_betas(betas)
    c1, c2 = check_betas(betas_1d, "betas_1d")
    check_non_negative("lr", lr, schedule=True)
    check_non_negative("lr_1d", lr_1d, schedule=True)
    check_bool("optimize_1d", optimize_1d)
    matrices = chain(
        scale_by_mars(b1, b2, gamma, eps, mars_type, ams_bound), *_decay(weight_decay), scale_by_learning_rate(lr)
    )
    check_non_negative("weight_decay_1d", weight_decay_1d)
    if optimize_1d:
        return matrices
    rest = chain(
        scale_by_mars(c1, c2, 0.0, eps, "adamw", ams_bound, correct=False),
        *_decay(weight_decay_1d),
        scale_by_learning_rate(lr_1d),
    )
    return multi_transform({"mars": matrices, "adamw_1d": rest}, _mars_labels(optimize_1d))
