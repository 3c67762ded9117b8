"""Whole optimizers as chains, with the argument names, defaults and numerics of ``torch.optim``.

Each factory chains building blocks; ``apply_updates(params, updates)`` then gives the
parameters the matching ``torch.optim`` class would, to float rounding.

Hyperparameters may be Python numbers or 0-d tensors (``inject_hyperparams`` passes
tensors). Which blocks a chain holds is decided from Python values only: a tensor
``momentum`` or ``weight_decay`` counts as present, even if it holds 0 (the block then
runs and has no effect, because torch's formulas reduce to the plain ones at 0).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import Tensor

from optimtx.core.base import GradientTransformation, chain
from optimtx.core.inplace import with_step_
from optimtx.core.state_tree import wide_float
from optimtx.core.validation import (
    check_betas,
    check_bool,
    check_mask,
    check_non_negative,
    check_state_dtype,
    is_number,
)
from optimtx.transforms._fused_adamw import fuse_adamw
from optimtx.transforms._inplace_rules import adagrad_step, adam_step, adamax_step, rmsprop_step, sgd_step
from optimtx.transforms.adam import scale_by_adam, scale_by_adamax
from optimtx.transforms.lion import scale_by_lion
from optimtx.transforms.momentum import check_nesterov, trace
from optimtx.transforms.rms import scale_by_adagrad, scale_by_rms
from optimtx.transforms.scaling import scale, scale_by_learning_rate
from optimtx.transforms.weight_decay import Mask, add_decayed_weights

__all__ = ["Hyper", "adagrad", "adam", "adamax", "adamw", "is_present", "lion", "rmsprop", "sgd"]

Hyper = float | Tensor


def is_present(value: Any) -> bool:
    """Whether an optional block is needed: a tensor always counts, a number if it is not 0.

    Example:
        >>> is_present(0), is_present(0.1), is_present(torch.tensor(0.0))
        (False, True, True)
    """
    return isinstance(value, Tensor) or value != 0


def _decay(weight_decay: Hyper, mask: Mask | None = None) -> list[GradientTransformation]:
    """``[add_decayed_weights(weight_decay, mask)]`` when decay is present (a mask is checked either way)."""
    check_non_negative("weight_decay", weight_decay)
    check_mask("mask", mask)
    return [add_decayed_weights(weight_decay, mask)] if is_present(weight_decay) else []


def _negate(maximize: bool) -> list[GradientTransformation]:
    """``[scale(-1)]`` when maximizing (torch negates the gradient before anything else), else ``[]``."""
    return [scale(-1.0)] if check_bool("maximize", maximize) else []


def _betas(betas: Sequence[Hyper]) -> tuple[Hyper, Hyper]:
    return check_betas(betas)


def sgd(
    lr: Hyper = 1e-3,
    momentum: Hyper = 0,
    dampening: Hyper = 0,
    weight_decay: Hyper = 0,
    nesterov: bool = False,
    maximize: bool = False,
    mu_dtype: torch.dtype | str | None = None,
    *,
    mask: Mask | None = None,
) -> GradientTransformation:
    """``torch.optim.SGD`` as a transform: decay, momentum, then ``-lr``.

    ``maximize=True`` negates the gradient first (ascent), as torch does; ``mu_dtype`` stores the
    momentum buffer in that dtype (e.g. ``'bfloat16'``), see [`optimtx.trace`][optimtx.trace].

    References:
        torch: ``torch.optim.SGD``; optax: ``optax.sgd``.
        Sutskever et al., 2013, *On the importance of initialization and momentum in deep learning* (Nesterov momentum).

    Example:
        >>> import optimtx as otx
        >>> tx = sgd(0.1, momentum=0.9)
        >>> p = {"w": torch.ones(2)}
        >>> u, _ = tx.update({"w": torch.ones(2)}, tx.init(p), p)
        >>> otx.apply_updates(p, u)
        {'w': tensor([0.9000, 0.9000])}
    """
    check_non_negative("lr", lr, schedule=True)
    check_non_negative("momentum", momentum)
    check_nesterov(momentum, dampening, nesterov)
    blocks = [*_negate(maximize), *_decay(weight_decay, mask)]
    if is_present(momentum):
        blocks.append(trace(momentum, dampening, nesterov, mu_dtype))
    tx = chain(*blocks, scale_by_learning_rate(lr))
    if mu_dtype is not None or mask is not None:  # torch's kernel knows neither: the pure rule steps
        return tx
    return with_step_(tx, sgd_step(momentum, dampening, weight_decay, nesterov, maximize)(lr))


def adam(
    lr: Hyper = 1e-3,
    betas: tuple[Hyper, Hyper] = (0.9, 0.999),
    eps: Hyper = 1e-8,
    weight_decay: Hyper = 0,
    amsgrad: bool = False,
    maximize: bool = False,
    mu_dtype: torch.dtype | str | None = None,
    *,
    eps_root: Hyper = 0.0,
    nesterov: bool = False,
    mask: Mask | None = None,
) -> GradientTransformation:
    """``torch.optim.Adam``: L2 decay added to the gradient (coupled), then Adam, then ``-lr``.

    ``maximize=True`` negates the gradient first, as torch does; ``mu_dtype`` stores the first moment in
    that dtype (e.g. ``torch.bfloat16``), see [`optimtx.scale_by_adam`][optimtx.scale_by_adam].

    References:
        Kingma & Ba, 2015, *Adam: A Method for Stochastic Optimization* (arXiv:1412.6980).
        Reddi et al., 2018, *On the Convergence of Adam and Beyond* (AMSGrad).
        torch: ``torch.optim.Adam``; optax: ``optax.adam``.

    Example:
        >>> tx = adam(0.1)
        >>> p = {"w": torch.ones(1)}
        >>> tx.update({"w": torch.full((1,), 5.0)}, tx.init(p), p)[0]
        {'w': tensor([-0.1000])}
    """
    check_non_negative("lr", lr, schedule=True)
    b1, b2 = _betas(betas)
    tx = chain(
        *_negate(maximize),
        *_decay(weight_decay, mask),
        scale_by_adam(b1, b2, eps, amsgrad, mu_dtype, eps_root=eps_root, nesterov=nesterov),
        scale_by_learning_rate(lr),
    )
    if mu_dtype is not None or mask is not None or nesterov or not (is_number(eps_root) and eps_root == 0):
        return tx  # options torch's kernel does not have: the pure rule steps
    return with_step_(tx, adam_step(b1, b2, eps, weight_decay, amsgrad, maximize, decoupled=False)(lr))


def adamw(
    lr: Hyper = 1e-3,
    betas: tuple[Hyper, Hyper] = (0.9, 0.999),
    eps: Hyper = 1e-8,
    weight_decay: Hyper = 1e-2,
    amsgrad: bool = False,
    maximize: bool = False,
    mu_dtype: torch.dtype | str | None = None,
    *,
    eps_root: Hyper = 0.0,
    nesterov: bool = False,
    mask: Mask | None = None,
) -> GradientTransformation:
    """``torch.optim.AdamW``: Adam, then decoupled decay, both scaled by ``-lr``.

    The parameter moves by ``-lr * (adam_direction + weight_decay * param)``, which is
    torch's ``param *= 1 - lr * weight_decay`` followed by the Adam step. ``maximize`` and ``mu_dtype``
    are as in [`adam`][optimtx.adam].

    References:
        Loshchilov & Hutter, 2019, *Decoupled Weight Decay Regularization* (arXiv:1711.05101).
        torch: ``torch.optim.AdamW``; optax: ``optax.adamw``.

    Example:
        >>> tx = adamw(0.1, weight_decay=0.5)
        >>> p = {"w": torch.ones(1)}
        >>> tx.update({"w": torch.full((1,), 5.0)}, tx.init(p), p)[0]  # -0.1 * (1 + 0.5)
        {'w': tensor([-0.1500])}
    """
    check_non_negative("lr", lr, schedule=True)
    b1, b2 = _betas(betas)
    negate = _negate(maximize)
    chained = chain(
        *negate,
        scale_by_adam(b1, b2, eps, amsgrad, mu_dtype, eps_root=eps_root, nesterov=nesterov),
        *_decay(weight_decay, mask),
        scale_by_learning_rate(lr),
    )
    plain = mask is None and not nesterov and is_number(eps_root) and eps_root == 0
    if plain and is_number(lr) and is_number(weight_decay) and not negate:
        # Same state and results, two parameter-sized buffers fewer per step.
        chained = fuse_adamw(chained, b1, b2, eps, amsgrad, lr, weight_decay, check_state_dtype("mu_dtype", mu_dtype))
    if mu_dtype is not None or not plain:  # options torch's kernel does not have: the pure rule steps
        return chained
    return with_step_(chained, adam_step(b1, b2, eps, weight_decay, amsgrad, maximize, decoupled=True)(lr))


def adamax(
    lr: Hyper = 2e-3,
    betas: tuple[Hyper, Hyper] = (0.9, 0.999),
    eps: Hyper = 1e-8,
    weight_decay: Hyper = 0,
    maximize: bool = False,
    *,
    mask: Mask | None = None,
) -> GradientTransformation:
    """``torch.optim.Adamax``: L2 decay added to the gradient, Adamax scaling, then ``-lr``.

    ``maximize=True`` negates the gradient first, as torch does.

    References:
        Kingma & Ba, 2015, *Adam: A Method for Stochastic Optimization*, section 7 (AdaMax).
        torch: ``torch.optim.Adamax``; optax: ``optax.adamax``.

    Example:
        >>> tx = adamax(0.1)
        >>> p = {"w": torch.ones(1)}
        >>> tx.update({"w": torch.full((1,), 5.0)}, tx.init(p), p)[0]
        {'w': tensor([-0.1000])}
    """
    check_non_negative("lr", lr, schedule=True)
    b1, b2 = _betas(betas)
    tx = chain(
        *_negate(maximize), *_decay(weight_decay, mask), scale_by_adamax(b1, b2, eps), scale_by_learning_rate(lr)
    )
    if mask is not None:
        return tx
    return with_step_(tx, adamax_step(b1, b2, eps, weight_decay, maximize)(lr))


def rmsprop(
    lr: Hyper = 1e-2,
    alpha: Hyper = 0.99,
    eps: Hyper = 1e-8,
    weight_decay: Hyper = 0,
    momentum: Hyper = 0,
    centered: bool = False,
    maximize: bool = False,
    *,
    mask: Mask | None = None,
) -> GradientTransformation:
    """``torch.optim.RMSprop``: decay, RMS scaling, optional momentum, then ``-lr``.

    ``maximize=True`` negates the gradient first, as torch does.

    References:
        Hinton, *Neural Networks for Machine Learning*, lecture 6e (RMSprop).
        Graves, 2013, *Generating Sequences With Recurrent Neural Networks* (centered variant).
        torch: ``torch.optim.RMSprop``; optax: ``optax.rmsprop``.

    Example:
        >>> tx = rmsprop(0.1, alpha=0.75, eps=0.0)
        >>> p = {"w": torch.ones(1)}
        >>> tx.update({"w": torch.full((1,), 2.0)}, tx.init(p), p)[0]  # -0.1 * 2 / sqrt(0.25 * 4)
        {'w': tensor([-0.2000])}
    """
    check_non_negative("lr", lr, schedule=True)
    check_non_negative("momentum", momentum)
    check_bool("centered", centered)
    blocks = [*_negate(maximize), *_decay(weight_decay, mask), scale_by_rms(alpha, eps, centered)]
    if is_present(momentum):
        blocks.append(trace(momentum))
    tx = chain(*blocks, scale_by_learning_rate(lr))
    if mask is not None:  # torch's kernel decays every parameter: the pure rule steps
        return tx
    return with_step_(tx, rmsprop_step(alpha, eps, weight_decay, momentum, centered, maximize)(lr))


def adagrad(
    lr: Hyper = 1e-2,
    lr_decay: Hyper = 0,
    weight_decay: Hyper = 0,
    initial_accumulator_value: float | Tensor = 0,
    eps: Hyper = 1e-10,
    maximize: bool = False,
    *,
    mask: Mask | None = None,
) -> GradientTransformation:
    """``torch.optim.Adagrad``: decay, Adagrad scaling, then ``-lr / (1 + (t - 1) * lr_decay)`` at step t.

    ``maximize=True`` negates the gradient first, as torch does.

    References:
        Duchi, Hazan & Singer, 2011, *Adaptive Subgradient Methods for Online Learning and Stochastic Optimization*.
        torch: ``torch.optim.Adagrad``; optax: ``optax.adagrad``.

    Example:
        >>> tx = adagrad(0.1, eps=0.0)
        >>> p = {"w": torch.ones(1)}
        >>> tx.update({"w": torch.full((1,), 3.0)}, tx.init(p), p)[0]
        {'w': tensor([-0.1000])}
    """
    check_non_negative("lr", lr, schedule=True)
    check_non_negative("lr_decay", lr_decay)
    check_non_negative("eps", eps)
    check_non_negative("initial_accumulator_value", initial_accumulator_value)
    rate = _decayed_rate(lr, lr_decay) if is_present(lr_decay) else lr
    tx = chain(
        *_negate(maximize),
        *_decay(weight_decay, mask),
        scale_by_adagrad(initial_accumulator_value, eps),
        scale_by_learning_rate(rate),
    )
    if mask is not None:  # torch's kernel decays every parameter: the pure rule steps
        return tx
    return with_step_(tx, adagrad_step(lr, lr_decay, weight_decay, eps, maximize))


def _decayed_rate(lr: Hyper, lr_decay: Hyper) -> Callable[[Tensor], Tensor]:
    def schedule(count: Tensor) -> Tensor:
        base = lr(count) if callable(lr) else lr  # a scheduled lr decays too, as in torch's Adagrad
        return base / (1 + count.to(wide_float(count.device)) * lr_decay)

    return schedule


def lion(
    lr: Hyper = 1e-4,
    betas: tuple[Hyper, Hyper] = (0.9, 0.99),
    weight_decay: Hyper = 0.0,
    mu_dtype: torch.dtype | str | None = None,
    *,
    mask: Mask | None = None,
) -> GradientTransformation:
    """Lion (Chen et al., 2023): ``-lr * (sign(b1 * m + (1 - b1) * g) + weight_decay * p)``.

    The momentum then moves to ``b2 * m + (1 - b2) * g`` (stored in ``mu_dtype`` when given).

    References:
        Chen et al., 2023, *Symbolic Discovery of Optimization Algorithms* (arXiv:2302.06675).
        optax: ``optax.lion`` (torch has no Lion).

    Example:
        >>> tx = lion(0.1)
        >>> p = {"w": torch.ones(2)}
        >>> tx.update({"w": torch.tensor([0.5, -3.0])}, tx.init(p), p)[0]
        {'w': tensor([-0.1000,  0.1000])}
    """
    check_non_negative("lr", lr, schedule=True)
    b1, b2 = _betas(betas)
    return chain(scale_by_lion(b1, b2, mu_dtype), *_decay(weight_decay, mask), scale_by_learning_rate(lr))
