"""optax aliases and blocks for the update rules optimtx gained for the optax namespace.

Each name has optax's signature (argument names, order, keyword-only markers and defaults)
and builds the rule from optimtx's transforms; nothing here computes an update itself.
"""

from __future__ import annotations

from typing import Any

from torch import Tensor

from optimtx.core.base import GradientTransformation, chain
from optimtx.optax._aliases import adamw
from optimtx.optax._blocks import add_noise, scale_by_adam
from optimtx.schedules import Schedule
from optimtx.transforms import exports as _tx
from optimtx.transforms.exports import (
    ScaleByAdanState,
    ScaleByAmsgradState,
    ScaleByBacktrackingLinesearchState,
    ScaleByBeliefState,
    ScaleByLBFGSState,
    ScaleByNovogradState,
    ScaleBySM3State,
    ScaleByZoomLinesearchState,
    ZoomLinesearchInfo,
    scale_by_adan,
    scale_by_amsgrad,
    scale_by_backtracking_linesearch,
    scale_by_belief,
    scale_by_lbfgs,
    scale_by_novograd,
    scale_by_optimistic_gradient,
    scale_by_polyak,
    scale_by_sign,
    scale_by_sm3,
    scale_by_yogi,
    scale_by_zoom_linesearch,
)
from optimtx.transforms.lbfgs import DEFAULT_LINESEARCH

Scalar = float | Tensor
ScalarOrSchedule = float | Tensor | Schedule

NOT_TRAJECTORIES: tuple[str, ...] = (
    "ScaleByZoomLinesearchState",
    "ZoomLinesearchInfo",
    "scale_by_zoom_linesearch",  # replayed inside lbfgs (its default line search)
    "ScaleByAdanState",
    "ScaleByAmsgradState",
    "ScaleByBacktrackingLinesearchState",
    "ScaleByBeliefState",
    "ScaleByLBFGSState",
    "ScaleByNovogradState",
    "ScaleBySM3State",
    "scale_by_backtracking_linesearch",  # replayed inside lbfgs chains (torch-style lbfgs: no zoom search)
)  # names with no numbers to compare (helpers, states)

__all__ = [
    "fromage",
    "nadamw",
    "noisy_sgd",
    "optimistic_adam",
    "optimistic_adam_v2",
    "ScaleByZoomLinesearchState",
    "ZoomLinesearchInfo",
    "lbfgs",
    "scale_by_zoom_linesearch",
    "ScaleByAdanState",
    "ScaleByAmsgradState",
    "ScaleByBacktrackingLinesearchState",
    "ScaleByBeliefState",
    "ScaleByLBFGSState",
    "ScaleByNovogradState",
    "ScaleBySM3State",
    "scale_by_backtracking_linesearch",
    "scale_by_lbfgs",
    "adabelief",
    "adamaxw",
    "adan",
    "amsgrad",
    "novograd",
    "optimistic_gradient_descent",
    "polyak_sgd",
    "scale_by_adan",
    "scale_by_amsgrad",
    "scale_by_belief",
    "scale_by_novograd",
    "scale_by_optimistic_gradient",
    "scale_by_polyak",
    "scale_by_sign",
    "scale_by_sm3",
    "scale_by_yogi",
    "sign_sgd",
    "signum",
    "sm3",
    "yogi",
]


def adabelief(
    learning_rate: ScalarOrSchedule,
    b1: Scalar = 0.9,
    b2: Scalar = 0.999,
    eps: Scalar = 1e-16,
    eps_root: Scalar = 1e-16,
    *,
    nesterov: bool = False,
) -> GradientTransformation:
    """optax's ``adabelief``: [`scale_by_belief`][optimtx.scale_by_belief], then the rate.

    Example:
        >>> import torch
        >>> tx = adabelief(0.1)
        >>> tx.update({"w": torch.tensor([2.0])}, tx.init({"w": torch.zeros(1)}))[0]
        {'w': tensor([-0.1111])}
    """
    return _tx.adabelief(learning_rate, (b1, b2), eps, eps_root, nesterov)


def amsgrad(
    learning_rate: ScalarOrSchedule,
    b1: Scalar = 0.9,
    b2: Scalar = 0.999,
    eps: Scalar = 1e-8,
    eps_root: Scalar = 0.0,
    mu_dtype: Any | None = None,
    bias_correction_mu: bool = True,
    bias_correction_nu: bool = True,
) -> GradientTransformation:
    """optax's ``amsgrad``: [`scale_by_amsgrad`][optimtx.scale_by_amsgrad], then the rate.

    Example:
        >>> import torch
        >>> tx = amsgrad(0.1)
        >>> tx.update({"w": torch.tensor([2.0])}, tx.init({"w": torch.zeros(1)}))[0]
        {'w': tensor([-0.1000])}
    """
    return _tx.amsgrad(learning_rate, (b1, b2), eps, eps_root, mu_dtype, bias_correction_mu, bias_correction_nu)


def yogi(
    learning_rate: ScalarOrSchedule, b1: Scalar = 0.9, b2: Scalar = 0.999, eps: Scalar = 0.001
) -> GradientTransformation:
    """optax's ``yogi``: [`scale_by_yogi`][optimtx.scale_by_yogi], then the rate.

    Example:
        >>> import torch
        >>> tx = yogi(0.1)
        >>> tx.update({"w": torch.tensor([2.0])}, tx.init({"w": torch.zeros(1)}))[0]["w"] < 0
        tensor([True])
    """
    return _tx.yogi(learning_rate, (b1, b2), eps)


def adamaxw(
    learning_rate: ScalarOrSchedule,
    b1: Scalar = 0.9,
    b2: Scalar = 0.999,
    eps: Scalar = 1e-08,
    weight_decay: Scalar = 0.0001,
    mask: Any | None = None,
) -> GradientTransformation:
    """optax's ``adamaxw``: [`adamaxw`][optimtx.adamaxw] with optax's argument names.

    Example:
        >>> import torch
        >>> tx = adamaxw(0.1, weight_decay=0.0)
        >>> tx.update({"w": torch.tensor([2.0])}, tx.init({"w": torch.zeros(1)}))[0]
        {'w': tensor([-0.1000])}
    """
    return _tx.adamaxw(learning_rate, (b1, b2), eps, weight_decay, mask)


def adan(
    learning_rate: ScalarOrSchedule,
    b1: Scalar = 0.98,
    b2: Scalar = 0.92,
    b3: Scalar = 0.99,
    eps: Scalar = 1e-08,
    eps_root: Scalar = 1e-08,
    weight_decay: Scalar = 0.0,
    mask: Any | None = None,
) -> GradientTransformation:
    """optax's ``adan``: [`adan`][optimtx.adan] with optax's argument names.

    Example:
        >>> import torch
        >>> tx = adan(0.1)
        >>> tx.update({"w": torch.tensor([2.0])}, tx.init({"w": torch.zeros(1)}))[0]["w"] < 0
        tensor([True])
    """
    return _tx.adan(learning_rate, (b1, b2, b3), eps, eps_root, weight_decay, mask)


def novograd(
    learning_rate: ScalarOrSchedule,
    b1: Scalar = 0.9,
    b2: Scalar = 0.25,
    eps: Scalar = 1e-06,
    eps_root: Scalar = 0.0,
    weight_decay: Scalar = 0.0,
) -> GradientTransformation:
    """optax's ``novograd``: [`novograd`][optimtx.novograd] with optax's argument names.

    Example:
        >>> import torch
        >>> tx = novograd(0.1, eps=0.0)
        >>> tx.update({"w": torch.tensor([3.0, 4.0])}, tx.init({"w": torch.zeros(2)}))[0]
        {'w': tensor([-0.0600, -0.0800])}
    """
    return _tx.novograd(learning_rate, (b1, b2), eps, eps_root, weight_decay)


def optimistic_gradient_descent(
    learning_rate: ScalarOrSchedule, alpha: Scalar = 1.0, beta: Scalar = 1.0
) -> GradientTransformation:
    """optax's ``optimistic_gradient_descent`` (``alpha`` and ``beta`` as numbers or 0-d tensors).

    Example:
        >>> import torch
        >>> tx = optimistic_gradient_descent(0.1)
        >>> tx.update({"w": torch.tensor([2.0])}, tx.init({"w": torch.zeros(1)}))[0]
        {'w': tensor([-0.2000])}
    """
    return _tx.optimistic_gradient_descent(learning_rate, alpha, beta)


def polyak_sgd(
    max_learning_rate: Scalar = 1.0,
    scaling: ScalarOrSchedule = 1.0,
    f_min: Scalar = 0.0,
    eps: Scalar = 0.0,
    variant: str = "sps",
) -> GradientTransformation:
    """optax's ``polyak_sgd``; ``update`` needs the loss as ``value=`` (a 0-d tensor).

    Example:
        >>> import torch
        >>> tx = polyak_sgd()
        >>> tx.update({"w": torch.tensor([2.0])}, tx.init({}), value=torch.tensor(1.0))[0]
        {'w': tensor([-0.5000])}
    """
    return _tx.polyak_sgd(max_learning_rate, scaling, f_min, eps, variant)


def sign_sgd(learning_rate: ScalarOrSchedule) -> GradientTransformation:
    """optax's ``sign_sgd``.

    Example:
        >>> import torch
        >>> tx = sign_sgd(0.1)
        >>> tx.update({"w": torch.tensor([2.0])}, tx.init({}))[0]
        {'w': tensor([-0.1000])}
    """
    return _tx.sign_sgd(learning_rate)


def signum(
    learning_rate: ScalarOrSchedule, beta: Scalar = 0.9, accumulator_dtype: Any | None = None
) -> GradientTransformation:
    """optax's ``signum``.

    Example:
        >>> import torch
        >>> tx = signum(0.1)
        >>> tx.update({"w": torch.tensor([2.0])}, tx.init({"w": torch.zeros(1)}))[0]
        {'w': tensor([-0.1000])}
    """
    return _tx.signum(learning_rate, beta, accumulator_dtype)


def sm3(learning_rate: Scalar, momentum: Scalar = 0.9) -> GradientTransformation:
    """optax's ``sm3`` (0-d parameters work too, where optax raises).

    Example:
        >>> import torch
        >>> tx = sm3(0.1, momentum=0.0)
        >>> tx.update({"w": torch.tensor([2.0])}, tx.init({"w": torch.zeros(1)}))[0]
        {'w': tensor([-0.1000])}
    """
    return _tx.sm3(learning_rate, momentum)


def lbfgs(
    learning_rate: ScalarOrSchedule | None = None,
    memory_size: int = 10,
    scale_init_precond: bool = True,
    linesearch: GradientTransformation | None = DEFAULT_LINESEARCH,
) -> GradientTransformation:
    """optax's ``lbfgs``: [`lbfgs`][optimtx.lbfgs]; ``update`` needs ``params``, ``value``, ``grad`` and ``value_fn``.

    Example:
        >>> import torch
        >>> loss = lambda p: ((p["w"] - 3.0) ** 2).sum()
        >>> p = {"w": torch.zeros(1, dtype=torch.float64)}
        >>> tx = lbfgs()
        >>> g = {"w": 2 * (p["w"] - 3.0)}
        >>> tx.update(g, tx.init(p), p, value=loss(p), grad=g, value_fn=loss)[0]  # step 1 meets both conditions
        {'w': tensor([1.], dtype=torch.float64)}
    """
    return _tx.lbfgs(learning_rate, memory_size, scale_init_precond, linesearch)


def fromage(learning_rate: ScalarOrSchedule, min_norm: Scalar = 1e-06) -> GradientTransformation:
    """optax's ``fromage``: [`fromage`][optimtx.fromage] (``update`` needs ``params``).

    Example:
        >>> import torch
        >>> tx = fromage(1.0, min_norm=0.0)
        >>> p = {"w": torch.tensor([3.0, 4.0])}
        >>> tx.update({"w": torch.tensor([0.6, 0.8])}, tx.init(p), p)[0]
        {'w': tensor([-3., -4.])}
    """
    return _tx.fromage(learning_rate, min_norm)


def nadamw(
    learning_rate: ScalarOrSchedule,
    b1: Scalar = 0.9,
    b2: Scalar = 0.999,
    eps: Scalar = 1e-08,
    eps_root: Scalar = 0.0,
    mu_dtype: Any | None = None,
    weight_decay: Scalar = 0.0001,
    mask: Any | None = None,
    *,
    nesterov: bool = True,
) -> GradientTransformation:
    """optax's ``nadamw``: ``adamw`` with Nesterov's first moment by default (one Adam implementation).

    Example:
        >>> import torch
        >>> tx = nadamw(0.1, weight_decay=0.0)
        >>> tx.update({"w": torch.tensor([2.0])}, tx.init({"w": torch.zeros(1)}), {"w": torch.zeros(1)})[0]
        {'w': tensor([-0.1474])}
    """
    return adamw(learning_rate, b1, b2, eps, eps_root, mu_dtype, weight_decay, mask, nesterov=nesterov)


def optimistic_adam_v2(
    learning_rate: ScalarOrSchedule,
    *,
    alpha: Scalar = 1.0,
    beta: Scalar = 1.0,
    b1: Scalar = 0.9,
    b2: Scalar = 0.999,
    eps: Scalar = 1e-08,
    eps_root: Scalar = 0.0,
    mu_dtype: Any | None = None,
    nesterov: bool = True,
) -> GradientTransformation:
    """optax's ``optimistic_adam_v2``: Adam's direction, the optimistic correction, then the rate.

    Example:
        >>> import torch
        >>> tx = optimistic_adam_v2(0.1)
        >>> tx.update({"w": torch.tensor([2.0])}, tx.init({"w": torch.zeros(1)}))[0]["w"] < 0
        tensor([True])
    """
    return chain(
        scale_by_adam(b1, b2, eps, eps_root, mu_dtype, nesterov=nesterov),
        scale_by_optimistic_gradient(alpha, beta),
        _tx.scale_by_learning_rate(learning_rate),
    )


def optimistic_adam(
    learning_rate: Scalar,
    optimism: Scalar | None = None,
    b1: Scalar = 0.9,
    b2: Scalar = 0.999,
    eps: Scalar = 1e-08,
    eps_root: Scalar = 0.0,
    mu_dtype: Any | None = None,
    *,
    nesterov: bool = True,
) -> GradientTransformation:
    """optax's (deprecated) ``optimistic_adam``: the rate is the optimistic ``alpha``, ``optimism`` its ``beta``.

    A schedule is refused, as in optax (use [`optimistic_adam_v2`][optimtx.optax.optimistic_adam_v2]).

    Example:
        >>> import torch
        >>> tx = optimistic_adam(0.1)
        >>> tx.update({"w": torch.tensor([2.0])}, tx.init({"w": torch.zeros(1)}))[0]["w"] < 0
        tensor([True])
    """
    if callable(learning_rate):
        raise ValueError("optimistic_adam takes a number as learning_rate, not a schedule; use optimistic_adam_v2.")
    beta = learning_rate if optimism is None else optimism
    return optimistic_adam_v2(
        1.0,
        alpha=learning_rate,
        beta=beta,
        b1=b1,
        b2=b2,
        eps=eps,
        eps_root=eps_root,
        mu_dtype=mu_dtype,
        nesterov=nesterov,
    )


def noisy_sgd(
    learning_rate: ScalarOrSchedule,
    eta: Scalar = 0.01,
    gamma: Scalar = 0.55,
    key: Any | None = None,
    *,
    seed: int | None = None,
) -> GradientTransformation:
    """optax's ``noisy_sgd``: ``add_noise(eta, gamma, key)``, then the rate (``key``: an int or a ``torch.Generator``).

    Example:
        >>> import torch
        >>> tx = noisy_sgd(0.1, eta=0.0)
        >>> tx.update({"w": torch.tensor([2.0])}, tx.init({"w": torch.zeros(1)}))[0]
        {'w': tensor([-0.2000])}
    """
    return chain(add_noise(eta, gamma, key, seed=seed), _tx.scale_by_learning_rate(learning_rate))
