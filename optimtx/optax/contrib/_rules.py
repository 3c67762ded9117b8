"""optax.contrib's optimizers over optimtx's rules, with optax's names, argument names and defaults."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch  # noqa: F401  (the doctests use it)
from torch import Tensor

from optimtx.core.base import EmptyState, GradientTransformation
from optimtx.schedules import Schedule
from optimtx.transforms import exports as _tx
from optimtx.transforms.exports import (
    COCOBState,
    DAdaptAdamWState,
    DoGState,
    DoWGState,
    HutchinsonState,
    MadgradState,
    MechanicState,
    MomoAdamState,
    MomoState,
    ProdigyState,
    SAMState,
    ScaleByAdemamixState,
    ScaleBySimplifiedAdEMAMixState,
    SophiaState,
    hutchinson_estimator_diag_hessian,
    mechanize,
    sam,
    scale_by_acprop,
    scale_by_ademamix,
    scale_by_adopt,
    scale_by_cocob,
    scale_by_simplified_ademamix,
    schedule_free_eval_params,
)
from optimtx.transforms.lagged_second_moment import quarter_power

NormalizeState = EmptyState  # optax's name for normalize's (empty) state

Scalar = float | Tensor
ScalarOrSchedule = float | Tensor | Schedule

NOT_TRAJECTORIES: tuple[str, ...] = (
    "ScaleByAdemamixState",
    "ScaleBySimplifiedAdEMAMixState",
    "schedule_free_eval_params",  # tests/test_schedule_free.py; works on schedule_free's states too
    "HutchinsonState",
    "SophiaState",
    "hutchinson_estimator_diag_hessian",  # replayed inside sophia (exact on the separable test loss)
    "NormalizeState",
    "SAMState",
    "COCOBState",
    "DAdaptAdamWState",
    "DoGState",
    "DoWGState",
    "MadgradState",
    "MechanicState",
    "MomoAdamState",
    "MomoState",
    "ProdigyState",
)

__all__ = [
    "ScaleByAdemamixState",
    "ScaleBySimplifiedAdEMAMixState",
    "schedule_free_eval_params",
    "HutchinsonState",
    "SophiaState",
    "hutchinson_estimator_diag_hessian",
    "sophia",
    "NormalizeState",
    "SAMState",
    "normalize",
    "sam",
    "schedule_free",
    "COCOBState",
    "MadgradState",
    "MechanicState",
    "MomoAdamState",
    "MomoState",
    "cocob",
    "madgrad",
    "mechanize",
    "momo",
    "momo_adam",
    "scale_by_cocob",
    "scale_by_madgrad",
    "DAdaptAdamWState",
    "DoGState",
    "DoWGState",
    "ProdigyState",
    "dadapt_adamw",
    "dog",
    "dowg",
    "prodigy",
    "acprop",
    "ademamix",
    "adopt",
    "scale_by_acprop",
    "scale_by_ademamix",
    "scale_by_adopt",
    "scale_by_simplified_ademamix",
    "simplified_ademamix",
]


def ademamix(
    learning_rate: ScalarOrSchedule,
    b1: Scalar = 0.9,
    b2: Scalar = 0.999,
    b3: ScalarOrSchedule = 0.9999,
    alpha: ScalarOrSchedule = 5.0,
    eps: Scalar = 1e-08,
    eps_root: Scalar = 0.0,
    mu_dtype: Any | None = None,
    weight_decay: Scalar = 0.0,
    mask: Any | None = None,
) -> GradientTransformation:
    """optax.contrib's ``ademamix``: [`ademamix`][optimtx.ademamix] with optax's argument names.

    Example:
        >>> tx = ademamix(0.1, alpha=0.0)
        >>> tx.update({"w": torch.tensor([2.0])}, tx.init({"w": torch.zeros(1)}))[0]
        {'w': tensor([-0.1000])}
    """
    return _tx.ademamix(learning_rate, (b1, b2, b3), alpha, eps, eps_root, mu_dtype, weight_decay, mask)


def simplified_ademamix(
    learning_rate: ScalarOrSchedule,
    b1: Scalar = 0.99,
    b2: Scalar = 0.95,
    alpha: ScalarOrSchedule = 0.0,
    eps: Scalar = 1e-08,
    eps_root: Scalar = 0.0,
    weight_decay: Scalar = 0.0,
    mask: Any | None = None,
) -> GradientTransformation:
    """optax.contrib's ``simplified_ademamix``.

    Example:
        >>> tx = simplified_ademamix(0.1, eps=0.0)
        >>> tx.update({"w": torch.tensor([2.0])}, tx.init({"w": torch.zeros(1)}))[0]
        {'w': tensor([-0.1000])}
    """
    return _tx.simplified_ademamix(learning_rate, (b1, b2), alpha, eps, eps_root, weight_decay, mask)


def adopt(
    learning_rate: ScalarOrSchedule,
    b1: Scalar = 0.9,
    b2: Scalar = 0.9999,
    eps: Scalar = 1e-06,
    mu_dtype: Any | None = None,
    *,
    nesterov: bool = False,
    use_clipping: bool = True,
    clip_value_fn: Callable[[Tensor], Any] = quarter_power,
) -> GradientTransformation:
    """optax.contrib's ``adopt``.

    Example:
        >>> tx = adopt(0.1)
        >>> tx.update({"w": torch.tensor([2.0])}, tx.init({"w": torch.zeros(1)}))[0]
        {'w': tensor([-0.])}
    """
    return _tx.adopt(learning_rate, (b1, b2), eps, mu_dtype, nesterov, use_clipping, clip_value_fn)


def acprop(
    learning_rate: ScalarOrSchedule,
    b1: Scalar = 0.9,
    b2: Scalar = 0.999,
    eps: Scalar = 1e-16,
    eps_root: Scalar = 1e-16,
    weight_decay: Scalar = 0.0,
    mask: Any | None = None,
) -> GradientTransformation:
    """optax.contrib's ``acprop``.

    Example:
        >>> tx = acprop(0.1)
        >>> tx.update({"w": torch.tensor([2.0])}, tx.init({"w": torch.zeros(1)}))[0]
        {'w': tensor([-0.2000])}
    """
    return _tx.acprop(learning_rate, (b1, b2), eps, eps_root, weight_decay, mask)


def dadapt_adamw(
    learning_rate: ScalarOrSchedule = 1.0,
    betas: tuple[Scalar, Scalar] = (0.9, 0.999),
    eps: Scalar = 1e-08,
    estim_lr0: Scalar = 1e-06,
    weight_decay: Scalar = 0.0,
) -> GradientTransformation:
    """optax.contrib's ``dadapt_adamw``: [`dadapt_adamw`][optimtx.dadapt_adamw] (``update`` needs ``params``).

    Example:
        >>> tx = dadapt_adamw()
        >>> p = {"w": torch.ones(1)}
        >>> tx.update({"w": torch.tensor([2.0])}, tx.init(p), p)[0]["w"] < 0
        tensor([True])
    """
    return _tx.dadapt_adamw(learning_rate, betas, eps, estim_lr0, weight_decay)


def prodigy(
    learning_rate: ScalarOrSchedule = 1.0,
    betas: tuple[Scalar, Scalar] = (0.9, 0.999),
    beta3: Scalar | None = None,
    eps: Scalar = 1e-08,
    estim_lr0: Scalar = 1e-06,
    estim_lr_coef: Scalar = 1.0,
    weight_decay: Scalar = 0.0,
    safeguard_warmup: bool = False,
) -> GradientTransformation:
    """optax.contrib's ``prodigy``: [`prodigy`][optimtx.prodigy] (``update`` needs ``params``).

    Example:
        >>> tx = prodigy()
        >>> p = {"w": torch.ones(1)}
        >>> tx.update({"w": torch.tensor([2.0])}, tx.init(p), p)[0]["w"] < 0
        tensor([True])
    """
    return _tx.prodigy(learning_rate, betas, beta3, eps, estim_lr0, estim_lr_coef, weight_decay, safeguard_warmup)


def dog(
    learning_rate: ScalarOrSchedule = 1.0,
    init_step: tuple[str, Scalar] = ("heuristic", 1e-06),
    eps: Scalar = 1e-08,
    weight_decay: Scalar | None = None,
    mask: Any | None = None,
) -> GradientTransformation:
    """optax.contrib's ``dog``: [`dog`][optimtx.dog] (``update`` needs ``params``).

    Example:
        >>> tx = dog(init_step=("distance", 1.0), eps=0.0)
        >>> p = {"w": torch.zeros(2)}
        >>> tx.update({"w": torch.tensor([3.0, 4.0])}, tx.init(p), p)[0]
        {'w': tensor([-0.6000, -0.8000])}
    """
    return _tx.dog(learning_rate, init_step, eps, weight_decay, mask)


def dowg(
    learning_rate: ScalarOrSchedule = 1.0,
    init_estim_sq_dist: Scalar | None = None,
    eps: Scalar = 0.0001,
    weight_decay: Scalar | None = None,
    mask: Any | None = None,
) -> GradientTransformation:
    """optax.contrib's ``dowg``: [`dowg`][optimtx.dowg] (``update`` needs ``params``).

    Example:
        >>> tx = dowg(init_estim_sq_dist=1.0, eps=0.0)
        >>> p = {"w": torch.zeros(2)}
        >>> tx.update({"w": torch.tensor([3.0, 4.0])}, tx.init(p), p)[0]
        {'w': tensor([-0.6000, -0.8000])}
    """
    return _tx.dowg(learning_rate, init_estim_sq_dist, eps, weight_decay, mask)


def cocob(
    learning_rate: ScalarOrSchedule = 1.0,
    alpha: Scalar = 100.0,
    eps: Scalar = 1e-08,
    weight_decay: Scalar = 0.0,
    mask: Any | None = None,
) -> GradientTransformation:
    """optax.contrib's ``cocob``: [`cocob`][optimtx.cocob] (``update`` needs ``params``).

    Example:
        >>> tx = cocob()
        >>> p = {"w": torch.zeros(1)}
        >>> tx.update({"w": torch.tensor([1.0])}, tx.init(p), p)[0]
        {'w': tensor([-0.0100])}
    """
    return _tx.cocob(learning_rate, alpha, eps, weight_decay, mask)


def scale_by_madgrad(
    learning_rate: ScalarOrSchedule, momentum: float = 0.9, eps: float = 1e-06
) -> GradientTransformation:
    """optax.contrib's ``scale_by_madgrad``: [`scale_by_madgrad`][optimtx.scale_by_madgrad].

    Example:
        >>> tx = scale_by_madgrad(1.0, momentum=0.0, eps=0.0)
        >>> p = {"w": torch.zeros(1)}
        >>> tx.update({"w": torch.tensor([8.0])}, tx.init(p), p)[0]
        {'w': tensor([-2.])}
    """
    return _tx.scale_by_madgrad(learning_rate, momentum, eps)


def madgrad(
    learning_rate: ScalarOrSchedule, momentum: float = 0.9, weight_decay: float = 0.0, eps: float = 1e-06
) -> GradientTransformation:
    """optax.contrib's ``madgrad``: [`madgrad`][optimtx.madgrad] (``update`` needs ``params``).

    Example:
        >>> tx = madgrad(1.0, momentum=0.0, eps=0.0)
        >>> p = {"w": torch.zeros(1)}
        >>> tx.update({"w": torch.tensor([8.0])}, tx.init(p), p)[0]
        {'w': tensor([-2.])}
    """
    return _tx.madgrad(learning_rate, momentum, weight_decay, eps)


def momo(
    learning_rate: ScalarOrSchedule = 1.0,
    beta: Scalar = 0.9,
    lower_bound: Scalar = 0.0,
    weight_decay: Scalar = 0.0,
    adapt_lower_bound: bool = False,
) -> GradientTransformation:
    """optax.contrib's ``momo``: [`momo`][optimtx.momo] (``update`` needs ``params`` and ``value=``).

    Example:
        >>> tx = momo(0.1)
        >>> p = {"w": torch.ones(1)}
        >>> tx.update({"w": torch.tensor([2.0])}, tx.init(p), p, value=torch.tensor(1.0))[0]
        {'w': tensor([-0.2000])}
    """
    return _tx.momo(learning_rate, beta, lower_bound, weight_decay, adapt_lower_bound)


def momo_adam(
    learning_rate: ScalarOrSchedule = 0.01,
    b1: Scalar = 0.9,
    b2: Scalar = 0.999,
    eps: Scalar = 1e-08,
    lower_bound: Scalar = 0.0,
    weight_decay: Scalar = 0.0,
    adapt_lower_bound: bool = False,
) -> GradientTransformation:
    """optax.contrib's ``momo_adam``: [`momo_adam`][optimtx.momo_adam] (``update`` needs ``params`` and ``value=``).

    Example:
        >>> tx = momo_adam(0.1)
        >>> p = {"w": torch.ones(1)}
        >>> tx.update({"w": torch.tensor([2.0])}, tx.init(p), p, value=torch.tensor(1.0))[0]
        {'w': tensor([-0.1000])}
    """
    return _tx.momo_adam(learning_rate, (b1, b2), eps, lower_bound, weight_decay, adapt_lower_bound)


def schedule_free(
    base_optimizer: GradientTransformation,
    learning_rate: ScalarOrSchedule,
    b1: Scalar = 0.9,
    weight_lr_power: Scalar = 2.0,
    state_dtype: Any | None = None,
) -> GradientTransformation:
    """optax.contrib's generic ``schedule_free``: [`schedule_free_wrapper`][optimtx.schedule_free_wrapper].

    Example:
        >>> from optimtx.optax._rules import sign_sgd
        >>> tx = schedule_free(sign_sgd(1.0), 1.0, b1=0.5)
        >>> p = {"w": torch.zeros(1)}
        >>> tx.update({"w": torch.tensor([3.0])}, tx.init(p), p)[0]
        {'w': tensor([-1.])}
    """
    return _tx.schedule_free_wrapper(base_optimizer, learning_rate, b1, weight_lr_power, state_dtype)


def normalize() -> GradientTransformation:
    """optax.contrib's ``normalize``: [`normalize_to_unit_norm`][optimtx.normalize_to_unit_norm].

    Example:
        >>> tx = normalize()
        >>> tx.update({"w": torch.tensor([3.0, 4.0])}, tx.init({}))[0]
        {'w': tensor([0.6000, 0.8000])}
    """
    return _tx.normalize_to_unit_norm()


_HUTCHINSON = hutchinson_estimator_diag_hessian()


def sophia(
    learning_rate: ScalarOrSchedule,
    b1: Scalar = 0.965,
    b2: Scalar = 0.99,
    eps: Scalar = 1e-08,
    weight_decay: Scalar = 0.0001,
    weight_decay_mask: Any | None = None,
    gamma: Scalar = 0.01,
    clip_threshold: Scalar | None = 1.0,
    update_interval: int = 10,
    hessian_diagonal_fn: GradientTransformation = _HUTCHINSON,
    mu_dtype: Any | None = None,
    verbose: bool = False,
    print_win_rate_every_n_steps: int = 0,
) -> GradientTransformation:
    """optax.contrib's ``sophia``: [`sophia`][optimtx.sophia]; ``update`` needs ``params`` and ``obj_fn=``.

    ``verbose`` and ``print_win_rate_every_n_steps`` are accepted and print nothing (optimtx
    never prints per step).

    Example:
        >>> tx = sophia(0.1, weight_decay=0.0)
        >>> p = {"w": torch.tensor([1.0])}
        >>> tx.update({"w": torch.tensor([0.5])}, tx.init(p), p, obj_fn=lambda q: (q["w"] ** 2).sum())[0]
        {'w': tensor([-0.1000])}
    """
    del verbose, print_win_rate_every_n_steps
    return _tx.sophia(
        learning_rate,
        (b1, b2),
        eps,
        weight_decay,
        weight_decay_mask,
        gamma,
        clip_threshold,
        update_interval,
        hessian_diagonal_fn,
        mu_dtype,
    )
