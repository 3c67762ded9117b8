"""optax aliases and blocks for the update rules optimtx gained for the optax namespace.

Each name has optax's signature (argument names, order, keyword-only markers and defaults)
and builds the rule from optimtx's transforms; nothing here computes an update itself.
"""

from __future__ import annotations

from typing import Any

from torch import Tensor

from optimtx.core.base import GradientTransformation
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
