"""optax's optimizer aliases with optax's argument names, defaults and composition.

Each is a ``chain`` of optimtx transforms in optax's order (no maths here), so it gives optax's numbers;
the torch-named aliases at the top level (``optimtx.adam(lr=..., betas=...)``) use the same rules.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from optimtx.core.base import GradientTransformation, chain
from optimtx.optax._blocks import (
    Dtype,
    Hyper,
    add_decayed_weights,
    clip_by_block_rms,
    ema,
    scale,
    scale_by_adam,
    scale_by_factored_rms,
    scale_by_learning_rate,
    scale_by_lion,
    scale_by_param_block_rms,
    scale_by_radam,
    scale_by_rms,
    scale_by_rss,
    scale_by_stddev,
    scale_by_trust_ratio,
    trace,
)
from optimtx.transforms.adadelta import scale_by_adadelta
from optimtx.transforms.adam import scale_by_adamax
from optimtx.transforms.freezing import as_mask
from optimtx.transforms.masking import masked

LearningRate = Hyper | Callable[[Any], Any]


def sgd(
    learning_rate: LearningRate, momentum: Hyper | None = None, nesterov: bool = False, accumulator_dtype: Dtype = None
) -> GradientTransformation:
    """optax's ``sgd``: optional momentum (``trace``), then ``-learning_rate``.

    Example:
        >>> import torch
        >>> p = {"w": torch.ones(2)}
        >>> tx = sgd(0.1, momentum=0.9)
        >>> tx.update({"w": torch.ones(2)}, tx.init(p), p)[0]
        {'w': tensor([-0.1000, -0.1000])}
    """
    blocks = [] if momentum is None else [trace(momentum, nesterov, accumulator_dtype)]
    return chain(*blocks, scale_by_learning_rate(learning_rate))


def adam(
    learning_rate: LearningRate,
    b1: Hyper = 0.9,
    b2: Hyper = 0.999,
    eps: Hyper = 1e-8,
    eps_root: Hyper = 0.0,
    mu_dtype: Dtype = None,
    *,
    nesterov: bool = False,
) -> GradientTransformation:
    """optax's ``adam``: ``scale_by_adam`` then ``-learning_rate``.

    Example:
        >>> import torch
        >>> p = {"w": torch.ones(2)}
        >>> tx = adam(0.1)
        >>> tx.update({"w": torch.tensor([2.0, -3.0])}, tx.init(p), p)[0]
        {'w': tensor([-0.1000,  0.1000])}
    """
    return chain(
        scale_by_adam(b1, b2, eps, eps_root, mu_dtype, nesterov=nesterov), scale_by_learning_rate(learning_rate)
    )


def nadam(
    learning_rate: LearningRate,
    b1: Hyper = 0.9,
    b2: Hyper = 0.999,
    eps: Hyper = 1e-8,
    eps_root: Hyper = 0.0,
    mu_dtype: Dtype = None,
    *,
    nesterov: bool = True,
) -> GradientTransformation:
    """optax's ``nadam``: ``adam`` with optax's Nesterov moment (not ``torch.optim.NAdam``'s momentum schedule).

    Example:
        >>> import torch
        >>> p = {"w": torch.ones(1)}
        >>> tx = nadam(0.1)
        >>> tx.update({"w": torch.tensor([2.0])}, tx.init(p), p)[0]
        {'w': tensor([-0.1474])}
    """
    return adam(learning_rate, b1, b2, eps, eps_root, mu_dtype, nesterov=nesterov)


def adamw(
    learning_rate: LearningRate,
    b1: Hyper = 0.9,
    b2: Hyper = 0.999,
    eps: Hyper = 1e-8,
    eps_root: Hyper = 0.0,
    mu_dtype: Dtype = None,
    weight_decay: Hyper = 1e-4,
    mask: Any = None,
    *,
    nesterov: bool = False,
) -> GradientTransformation:
    """optax's ``adamw``: ``scale_by_adam``, ``+ weight_decay * params`` (where ``mask``), then ``-learning_rate``.

    Example:
        >>> import torch
        >>> p = {"w": torch.ones(1)}
        >>> tx = adamw(0.1, weight_decay=0.5)
        >>> tx.update({"w": torch.tensor([2.0])}, tx.init(p), p)[0]
        {'w': tensor([-0.1500])}
    """
    return chain(
        scale_by_adam(b1, b2, eps, eps_root, mu_dtype, nesterov=nesterov),
        add_decayed_weights(weight_decay, mask),
        scale_by_learning_rate(learning_rate),
    )


def lion(
    learning_rate: LearningRate,
    b1: Hyper = 0.9,
    b2: Hyper = 0.99,
    mu_dtype: Dtype = None,
    weight_decay: Hyper = 1e-3,
    mask: Any = None,
) -> GradientTransformation:
    """optax's ``lion``: ``scale_by_lion``, decoupled decay, then ``-learning_rate``.

    Example:
        >>> import torch
        >>> p = {"w": torch.ones(2)}
        >>> tx = lion(0.1, weight_decay=0.0)
        >>> tx.update({"w": torch.tensor([0.5, -3.0])}, tx.init(p), p)[0]
        {'w': tensor([-0.1000,  0.1000])}
    """
    return chain(
        scale_by_lion(b1, b2, mu_dtype), add_decayed_weights(weight_decay, mask), scale_by_learning_rate(learning_rate)
    )


def lamb(
    learning_rate: LearningRate,
    b1: Hyper = 0.9,
    b2: Hyper = 0.999,
    eps: Hyper = 1e-6,
    eps_root: Hyper = 0.0,
    weight_decay: Hyper = 0.0,
    mask: Any = None,
) -> GradientTransformation:
    """optax's ``lamb``: Adam, decay, the trust ratio, then ``-learning_rate``.

    Example:
        >>> import torch
        >>> p = {"w": torch.tensor([3.0, 4.0])}
        >>> tx = lamb(0.1)
        >>> tx.update({"w": torch.tensor([1.0, 1.0])}, tx.init(p), p)[0]
        {'w': tensor([-0.3536, -0.3536])}
    """
    return chain(
        scale_by_adam(b1, b2, eps, eps_root),
        add_decayed_weights(weight_decay, mask),
        scale_by_trust_ratio(),
        scale_by_learning_rate(learning_rate),
    )


def lars(
    learning_rate: LearningRate,
    weight_decay: Hyper = 0.0,
    weight_decay_mask: Any = True,
    trust_coefficient: Hyper = 0.001,
    eps: Hyper = 0.0,
    trust_ratio_mask: Any = True,
    momentum: Hyper = 0.9,
    nesterov: bool = False,
) -> GradientTransformation:
    """optax's ``lars``: decay, the trust ratio (where ``trust_ratio_mask``), ``-learning_rate``, then momentum.

    Example:
        >>> import torch
        >>> p = {"w": torch.tensor([3.0, 4.0])}
        >>> tx = lars(1.0, momentum=0.0)
        >>> tx.update({"w": torch.tensor([0.0, 1.0])}, tx.init(p), p)[0]  # -learning_rate * 0 is -0.0
        {'w': tensor([-0.0000, -0.0050])}
    """
    return chain(
        add_decayed_weights(weight_decay, as_mask(weight_decay_mask, "weight_decay_mask")),
        masked(scale_by_trust_ratio(trust_coefficient=trust_coefficient, eps=eps), as_mask(trust_ratio_mask)),
        scale_by_learning_rate(learning_rate),
        trace(momentum, nesterov),
    )


def adamax(
    learning_rate: LearningRate, b1: Hyper = 0.9, b2: Hyper = 0.999, eps: Hyper = 1e-8
) -> GradientTransformation:
    """optax's ``adamax``: ``scale_by_adamax`` then ``-learning_rate``.

    Example:
        >>> import torch
        >>> p = {"w": torch.ones(1)}
        >>> tx = adamax(0.1)
        >>> tx.update({"w": torch.tensor([2.0])}, tx.init(p), p)[0]
        {'w': tensor([-0.1000])}
    """
    return chain(scale_by_adamax(b1, b2, eps), scale_by_learning_rate(learning_rate))


def adadelta(
    learning_rate: LearningRate | None = None,
    rho: Hyper = 0.9,
    eps: Hyper = 1e-6,
    weight_decay: Hyper = 0.0,
    weight_decay_mask: Any = None,
) -> GradientTransformation:
    """optax's ``adadelta``: decay, ``scale_by_adadelta``, then ``-learning_rate`` (``None``: no scaling).

    Example:
        >>> import torch
        >>> p = {"w": torch.ones(1)}
        >>> tx = adadelta(1.0)
        >>> tx.update({"w": torch.tensor([2.0])}, tx.init(p), p)[0]
        {'w': tensor([-0.0032])}
    """
    return chain(
        add_decayed_weights(weight_decay, weight_decay_mask),
        scale_by_adadelta(rho, eps),
        scale_by_learning_rate(learning_rate),
    )


def adagrad(
    learning_rate: LearningRate, initial_accumulator_value: Hyper = 0.1, eps: Hyper = 1e-7
) -> GradientTransformation:
    """optax's ``adagrad``: ``scale_by_rss`` (``eps`` inside the square root) then ``-learning_rate``.

    Example:
        >>> import torch
        >>> p = {"w": torch.ones(1)}
        >>> tx = adagrad(0.1)
        >>> tx.update({"w": torch.tensor([2.0])}, tx.init(p), p)[0]
        {'w': tensor([-0.0988])}
    """
    return chain(scale_by_rss(initial_accumulator_value, eps), scale_by_learning_rate(learning_rate))


def rmsprop(
    learning_rate: LearningRate,
    decay: Hyper = 0.9,
    eps: Hyper = 1e-8,
    initial_scale: Hyper = 0.0,
    eps_in_sqrt: bool = True,
    centered: bool = False,
    momentum: Hyper | None = None,
    nesterov: bool = False,
    bias_correction: bool = False,
) -> GradientTransformation:
    """optax's ``rmsprop``: RMS (or, ``centered``, standard-deviation) scaling, ``-learning_rate``, then momentum.

    Example:
        >>> import torch
        >>> p = {"w": torch.ones(1)}
        >>> tx = rmsprop(0.1, eps=0.0)
        >>> tx.update({"w": torch.tensor([2.0])}, tx.init(p), p)[0]
        {'w': tensor([-0.3162])}
    """
    scaling = scale_by_stddev if centered else scale_by_rms
    blocks = [scaling(decay, eps, initial_scale, eps_in_sqrt, bias_correction), scale_by_learning_rate(learning_rate)]
    return chain(*blocks, *([] if momentum is None else [trace(momentum, nesterov)]))


def radam(
    learning_rate: LearningRate,
    b1: Hyper = 0.9,
    b2: Hyper = 0.999,
    eps: Hyper = 1e-8,
    eps_root: Hyper = 0.0,
    threshold: Hyper = 5.0,
    *,
    nesterov: bool = False,
) -> GradientTransformation:
    """optax's ``radam``: ``scale_by_radam`` (optax's form) then ``-learning_rate``.

    Example:
        >>> import torch
        >>> p = {"w": torch.ones(1)}
        >>> tx = radam(0.1)
        >>> tx.update({"w": torch.tensor([2.0])}, tx.init(p), p)[0]
        {'w': tensor([-0.2000])}
    """
    radam_block = scale_by_radam(b1, b2, eps, eps_root, threshold, nesterov=nesterov)
    return chain(radam_block, scale_by_learning_rate(learning_rate))


def adafactor(
    learning_rate: LearningRate | None = None,
    min_dim_size_to_factor: int = 128,
    decay_rate: Hyper = 0.8,
    decay_offset: int = 0,
    multiply_by_parameter_scale: bool = True,
    clipping_threshold: Hyper | None = 1.0,
    momentum: Hyper | None = None,
    dtype_momentum: Dtype = torch.float32,
    weight_decay_rate: Hyper | None = None,
    eps: Hyper = 1e-30,
    factored: bool = True,
    weight_decay_mask: Any = None,
) -> GradientTransformation:
    """optax's ``adafactor``: factored RMS scaling, block-RMS clipping, the learning rate, the parameter scale,
    optional momentum and decay, then the sign flip (optimtx's top-level ``adafactor`` is torch's variant).

    Example:
        >>> import torch
        >>> p = {"w": torch.tensor([2.0, -2.0])}
        >>> tx = adafactor(0.1)
        >>> tx.update({"w": torch.tensor([1.0, -1.0])}, tx.init(p), p)[0]
        {'w': tensor([-0.2000,  0.2000])}
    """
    blocks = [scale_by_factored_rms(factored, decay_rate, decay_offset, min_dim_size_to_factor, eps)]
    if clipping_threshold is not None:
        blocks.append(clip_by_block_rms(clipping_threshold))
    if learning_rate is not None:
        blocks.append(scale_by_learning_rate(learning_rate, flip_sign=False))
    if multiply_by_parameter_scale:
        blocks.append(scale_by_param_block_rms())
    if momentum is not None:
        blocks.append(ema(momentum, debias=False, accumulator_dtype=dtype_momentum))
    if weight_decay_rate is not None:
        blocks.append(add_decayed_weights(weight_decay_rate, weight_decay_mask))
    return chain(*blocks, scale(-1.0))


__all__ = [
    "adafactor",
    "radam",
    "adadelta",
    "adagrad",
    "adam",
    "adamax",
    "adamw",
    "lamb",
    "lars",
    "lion",
    "nadam",
    "rmsprop",
    "sgd",
]
