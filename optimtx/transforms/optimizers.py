"""Whole optimizers as chains, with the argument names, defaults and numerics of ``torch.optim``.

Each factory chains building blocks; ``apply_updates(params, updates)`` then gives the
parameters the matching ``torch.optim`` class would, to float rounding.

Hyperparameters may be Python numbers or 0-d tensors (``inject_hyperparams`` passes
tensors). Which blocks a chain holds is decided from Python values only: a tensor
``momentum`` or ``weight_decay`` counts as present, even if it holds 0 (the block then
runs and has no effect, because torch's formulas reduce to the plain ones at 0).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch  # noqa: F401 (the doctests use it)
from torch import Tensor

from optimtx.base import GradientTransformation, chain
from optimtx.state_tree import wide_float
from optimtx.transforms._fused_adamw import fuse_adamw
from optimtx.transforms.adam import scale_by_adam, scale_by_adamax
from optimtx.transforms.lion import scale_by_lion
from optimtx.transforms.momentum import check_nesterov, trace
from optimtx.transforms.rms import scale_by_adagrad, scale_by_rms
from optimtx.transforms.scaling import scale_by_learning_rate
from optimtx.transforms.weight_decay import add_decayed_weights
from optimtx.validation import check_non_negative, check_unit_interval

Hyper = float | Tensor


def is_present(value: Any) -> bool:
    """Whether an optional block is needed: a tensor always counts, a number if it is not 0.

    Example:
        >>> is_present(0), is_present(0.1), is_present(torch.tensor(0.0))
        (False, True, True)
    """
    return isinstance(value, Tensor) or value != 0


def _decay(weight_decay: Hyper) -> list[GradientTransformation]:
    check_non_negative("weight_decay", weight_decay)
    return [add_decayed_weights(weight_decay)] if is_present(weight_decay) else []


def _betas(betas: Sequence[Hyper]) -> tuple[Hyper, Hyper]:
    if not isinstance(betas, Sequence) or len(betas) != 2:
        raise ValueError(f"Invalid betas: {betas!r}. It must be a pair (beta1, beta2), each in [0, 1).")
    check_unit_interval("betas[0]", betas[0])
    check_unit_interval("betas[1]", betas[1])
    return betas[0], betas[1]


def sgd(
    lr: Hyper = 1e-3, momentum: Hyper = 0, dampening: Hyper = 0, weight_decay: Hyper = 0, nesterov: bool = False
) -> GradientTransformation:
    """``torch.optim.SGD`` as a transform: decay, momentum, then ``-lr``.

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
    blocks = _decay(weight_decay)
    if is_present(momentum):
        blocks.append(trace(momentum, dampening, nesterov))
    return chain(*blocks, scale_by_learning_rate(lr))


def adam(
    lr: Hyper = 1e-3,
    betas: tuple[Hyper, Hyper] = (0.9, 0.999),
    eps: Hyper = 1e-8,
    weight_decay: Hyper = 0,
    amsgrad: bool = False,
) -> GradientTransformation:
    """``torch.optim.Adam``: L2 decay added to the gradient (coupled), then Adam, then ``-lr``.

    Example:
        >>> tx = adam(0.1)
        >>> p = {"w": torch.ones(1)}
        >>> tx.update({"w": torch.full((1,), 5.0)}, tx.init(p), p)[0]
        {'w': tensor([-0.1000])}
    """
    check_non_negative("lr", lr, schedule=True)
    b1, b2 = _betas(betas)
    return chain(*_decay(weight_decay), scale_by_adam(b1, b2, eps, amsgrad), scale_by_learning_rate(lr))


def adamw(
    lr: Hyper = 1e-3,
    betas: tuple[Hyper, Hyper] = (0.9, 0.999),
    eps: Hyper = 1e-8,
    weight_decay: Hyper = 1e-2,
    amsgrad: bool = False,
) -> GradientTransformation:
    """``torch.optim.AdamW``: Adam, then decoupled decay, both scaled by ``-lr``.

    The parameter moves by ``-lr * (adam_direction + weight_decay * param)``, which is
    torch's ``param *= 1 - lr * weight_decay`` followed by the Adam step.

    Example:
        >>> tx = adamw(0.1, weight_decay=0.5)
        >>> p = {"w": torch.ones(1)}
        >>> tx.update({"w": torch.full((1,), 5.0)}, tx.init(p), p)[0]  # -0.1 * (1 + 0.5)
        {'w': tensor([-0.1500])}
    """
    check_non_negative("lr", lr, schedule=True)
    b1, b2 = _betas(betas)
    chained = chain(scale_by_adam(b1, b2, eps, amsgrad), *_decay(weight_decay), scale_by_learning_rate(lr))
    if _is_number(lr) and _is_number(weight_decay):
        # Same state and results, two parameter-sized buffers fewer per step.
        return fuse_adamw(chained, b1, b2, eps, amsgrad, lr, weight_decay)
    return chained


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def adamax(
    lr: Hyper = 2e-3, betas: tuple[Hyper, Hyper] = (0.9, 0.999), eps: Hyper = 1e-8, weight_decay: Hyper = 0
) -> GradientTransformation:
    """``torch.optim.Adamax``: L2 decay added to the gradient, Adamax scaling, then ``-lr``.

    Example:
        >>> tx = adamax(0.1)
        >>> p = {"w": torch.ones(1)}
        >>> tx.update({"w": torch.full((1,), 5.0)}, tx.init(p), p)[0]
        {'w': tensor([-0.1000])}
    """
    check_non_negative("lr", lr, schedule=True)
    b1, b2 = _betas(betas)
    return chain(*_decay(weight_decay), scale_by_adamax(b1, b2, eps), scale_by_learning_rate(lr))


def rmsprop(
    lr: Hyper = 1e-2,
    alpha: Hyper = 0.99,
    eps: Hyper = 1e-8,
    weight_decay: Hyper = 0,
    momentum: Hyper = 0,
    centered: bool = False,
) -> GradientTransformation:
    """``torch.optim.RMSprop``: decay, RMS scaling, optional momentum, then ``-lr``.

    Example:
        >>> tx = rmsprop(0.1, alpha=0.75, eps=0.0)
        >>> p = {"w": torch.ones(1)}
        >>> tx.update({"w": torch.full((1,), 2.0)}, tx.init(p), p)[0]  # -0.1 * 2 / sqrt(0.25 * 4)
        {'w': tensor([-0.2000])}
    """
    check_non_negative("lr", lr, schedule=True)
    check_non_negative("momentum", momentum)
    blocks = [*_decay(weight_decay), scale_by_rms(alpha, eps, centered)]
    if is_present(momentum):
        blocks.append(trace(momentum))
    return chain(*blocks, scale_by_learning_rate(lr))


def adagrad(
    lr: Hyper = 1e-2,
    lr_decay: Hyper = 0,
    weight_decay: Hyper = 0,
    initial_accumulator_value: float | Tensor = 0,
    eps: Hyper = 1e-10,
) -> GradientTransformation:
    """``torch.optim.Adagrad``: decay, Adagrad scaling, then ``-lr / (1 + (t - 1) * lr_decay)`` at step t.

    Example:
        >>> tx = adagrad(0.1, eps=0.0)
        >>> p = {"w": torch.ones(1)}
        >>> tx.update({"w": torch.full((1,), 3.0)}, tx.init(p), p)[0]
        {'w': tensor([-0.1000])}
    """
    check_non_negative("lr", lr, schedule=True)
    check_non_negative("lr_decay", lr_decay)
    rate = _decayed_rate(lr, lr_decay) if is_present(lr_decay) else lr
    return chain(*_decay(weight_decay), scale_by_adagrad(initial_accumulator_value, eps), scale_by_learning_rate(rate))


def _decayed_rate(lr: Hyper, lr_decay: Hyper):
    def schedule(count: Tensor) -> Tensor:
        base = lr(count) if callable(lr) else lr  # a scheduled lr decays too, as in torch's Adagrad
        return base / (1 + count.to(wide_float(count.device)) * lr_decay)

    return schedule


def lion(
    lr: Hyper = 1e-4, betas: tuple[Hyper, Hyper] = (0.9, 0.99), weight_decay: Hyper = 0.0
) -> GradientTransformation:
    """Lion (Chen et al., 2023): ``-lr * (sign(b1 * m + (1 - b1) * g) + weight_decay * p)``.

    The momentum then moves to ``b2 * m + (1 - b2) * g``.

    Example:
        >>> tx = lion(0.1)
        >>> p = {"w": torch.ones(2)}
        >>> tx.update({"w": torch.tensor([0.5, -3.0])}, tx.init(p), p)[0]
        {'w': tensor([-0.1000,  0.1000])}
    """
    check_non_negative("lr", lr, schedule=True)
    b1, b2 = _betas(betas)
    return chain(scale_by_lion(b1, b2), *_decay(weight_decay), scale_by_learning_rate(lr))
