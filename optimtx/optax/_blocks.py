"""optax's building blocks (``scale_by_*``, ``clip*``, ``trace``, ``ema``, ...) with optax's names and defaults.

Each is a thin signature over an optimtx transform (the rule itself lives in ``optimtx.transforms``):
it renames arguments, fills in optax's defaults and picks the optimtx option that gives optax's
variant of the rule (``eps`` inside the square root, no ``1e-6`` in the clipping factor, ...).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from optimtx.core.base import GradientTransformation, identity
from optimtx.transforms import clipping, grad_filters, rms, scaling
from optimtx.transforms.adadelta import scale_by_adadelta
from optimtx.transforms.adafactor import scale_by_factored_rms
from optimtx.transforms.adam import scale_by_adam as _scale_by_adam
from optimtx.transforms.adam import scale_by_adamax
from optimtx.transforms.constraining import (
    clip_by_block_rms,
    keep_params_nonnegative,
    normalize_by_update_norm,
    scale_by_param_block_norm,
    scale_by_param_block_rms,
)
from optimtx.transforms.ema import ema
from optimtx.transforms.freezing import as_mask
from optimtx.transforms.hyperparams import inject_hyperparams
from optimtx.transforms.lion import scale_by_lion as _scale_by_lion
from optimtx.transforms.momentum import trace as _trace
from optimtx.transforms.noise import add_noise as _add_noise
from optimtx.transforms.per_example import per_example_global_norm_clip, per_example_layer_norm_clip
from optimtx.transforms.radam import scale_by_radam as _scale_by_radam
from optimtx.transforms.trust_ratio import scale_by_trust_ratio as _scale_by_trust_ratio
from optimtx.transforms.weight_decay import add_decayed_weights as _add_decayed_weights

Hyper = float | Tensor
Dtype = torch.dtype | str | None
centralize = grad_filters.centralize
zero_nans = grad_filters.zero_nans


def scale(step_size: Hyper) -> GradientTransformation:
    """optax's ``scale``: multiply the updates by ``step_size`` (see [`scale`][optimtx.scale]).

    Example:
        >>> tx = scale(-0.5)
        >>> tx.update({"w": torch.ones(2)}, tx.init({}))[0]
        {'w': tensor([-0.5000, -0.5000])}
    """
    return scaling.scale(step_size)


def scale_by_learning_rate(
    learning_rate: Hyper | Callable[[Any], Any] | None = None, *, flip_sign: bool = True
) -> GradientTransformation:
    """optax's ``scale_by_learning_rate``: ``-learning_rate`` (a number or schedule); ``None`` scales nothing.

    Example:
        >>> tx = scale_by_learning_rate(0.1)
        >>> tx.update({"w": torch.ones(2)}, tx.init({}))[0]
        {'w': tensor([-0.1000, -0.1000])}
    """
    return identity() if learning_rate is None else scaling.scale_by_learning_rate(learning_rate, flip_sign)


def scale_by_schedule(step_size_fn: Callable[[Any], Any]) -> GradientTransformation:
    """optax's ``scale_by_schedule``: multiply by ``step_size_fn(count)`` (no sign flip).

    Example:
        >>> tx = scale_by_schedule(lambda count: 0.5 ** count)
        >>> s = tx.init({"w": torch.ones(1)})
        >>> u, s = tx.update({"w": torch.ones(1)}, s)
        >>> tx.update({"w": torch.ones(1)}, s)[0]
        {'w': tensor([0.5000])}
    """
    if not callable(step_size_fn):
        raise TypeError(f"scale_by_schedule() needs a callable step -> value, got {step_size_fn!r}.")
    return scaling.scale_by_learning_rate(step_size_fn, flip_sign=False)


def add_decayed_weights(weight_decay: Hyper | Callable[[Any], Any] = 0.0, mask: Any = None) -> GradientTransformation:
    """optax's ``add_decayed_weights``: ``updates + weight_decay * params`` where ``mask`` holds.

    ``weight_decay`` is a number, a 0-d tensor or a schedule (read at the count of updates, as optax
    does; the state is then [`inject_hyperparams`][optimtx.inject_hyperparams]'s).

    Example:
        >>> p = {"w": torch.ones(1), "b": torch.ones(1)}
        >>> tx = add_decayed_weights(0.1, mask={"w": True, "b": False})
        >>> tx.update({"w": torch.zeros(1), "b": torch.zeros(1)}, tx.init(p), p)[0]
        {'w': tensor([0.1000]), 'b': tensor([0.])}
    """
    mask = None if mask is None else as_mask(mask)
    if callable(weight_decay):  # optax counts the updates and reads the schedule at the count: inject does that
        return inject_hyperparams(_add_decayed_weights, ("mask",))(weight_decay, mask)
    return _add_decayed_weights(weight_decay, mask)


def trace(decay: Hyper, nesterov: bool = False, accumulator_dtype: Dtype = None) -> GradientTransformation:
    """optax's ``trace``: momentum ``t = decay * t + g`` (output ``g + decay * t`` with ``nesterov``).

    Example:
        >>> tx = trace(0.9)
        >>> s = tx.init({"w": torch.zeros(1)})
        >>> u, s = tx.update({"w": torch.ones(1)}, s)
        >>> tx.update({"w": torch.ones(1)}, s)[0]
        {'w': tensor([1.9000])}
    """
    return _trace(decay, 0.0, nesterov, accumulator_dtype)


def scale_by_adam(
    b1: Hyper = 0.9,
    b2: Hyper = 0.999,
    eps: Hyper = 1e-8,
    eps_root: Hyper = 0.0,
    mu_dtype: Dtype = None,
    *,
    nesterov: bool = False,
) -> GradientTransformation:
    """optax's ``scale_by_adam`` (see [`scale_by_adam`][optimtx.scale_by_adam]).

    Example:
        >>> tx = scale_by_adam(eps_root=0.0, nesterov=True)
        >>> g = {"w": torch.tensor([2.0, -0.5])}
        >>> tx.update(g, tx.init(g))[0]
        {'w': tensor([ 1.4737, -1.4737])}
    """
    return _scale_by_adam(b1, b2, eps, False, mu_dtype, eps_root=eps_root, nesterov=nesterov)


def scale_by_lion(
    b1: Hyper = 0.9, b2: Hyper = 0.99, mu_dtype: Dtype = None, *, mode: str = "hard", smooth_beta: Hyper = 1.0
) -> GradientTransformation:
    """optax's ``scale_by_lion`` (see [`scale_by_lion`][optimtx.scale_by_lion]).

    Example:
        >>> tx = scale_by_lion(mode="smooth", smooth_beta=10.0)
        >>> g = {"w": torch.tensor([2.0, -0.5])}
        >>> tx.update(g, tx.init(g))[0]
        {'w': tensor([ 0.9640, -0.4621])}
    """
    return _scale_by_lion(b1, b2, mu_dtype, mode=mode, smooth_beta=smooth_beta)


def _no_bias_correction(bias_correction: bool) -> None:
    if bias_correction is not False:
        raise ValueError(
            f"bias_correction={bias_correction!r} is not supported by optimtx.optax's scale_by_rms/scale_by_stddev "
            "(rmsprop): only False (optax's default) is."
        )


def scale_by_rms(
    decay: Hyper = 0.9,
    eps: Hyper = 1e-8,
    initial_scale: Hyper = 0.0,
    eps_in_sqrt: bool = True,
    bias_correction: bool = False,
) -> GradientTransformation:
    """optax's ``scale_by_rms``: ``g / sqrt(v + eps)`` (``eps_in_sqrt``), ``v`` the moving mean of ``g * g``.

    Example:
        >>> tx = scale_by_rms(decay=0.75, eps=0.0)
        >>> g = {"w": torch.tensor([2.0])}
        >>> tx.update(g, tx.init(g))[0]
        {'w': tensor([2.])}
    """
    _no_bias_correction(bias_correction)
    return rms.scale_by_rms(decay, eps, eps_in_sqrt=eps_in_sqrt, initial_scale=initial_scale)


def scale_by_stddev(
    decay: Hyper = 0.9,
    eps: Hyper = 1e-8,
    initial_scale: Hyper = 0.0,
    eps_in_sqrt: bool = True,
    bias_correction: bool = False,
) -> GradientTransformation:
    """optax's ``scale_by_stddev``: as [`scale_by_rms`][optimtx.optax.scale_by_rms], centred (variance).

    Example:
        >>> tx = scale_by_stddev(decay=0.5, eps=0.0)
        >>> g = {"w": torch.tensor([2.0])}
        >>> tx.update(g, tx.init(g))[0]
        {'w': tensor([2.])}
    """
    _no_bias_correction(bias_correction)
    return rms.scale_by_rms(decay, eps, True, eps_in_sqrt=eps_in_sqrt, initial_scale=initial_scale)


def scale_by_rss(initial_accumulator_value: Hyper = 0.1, eps: Hyper = 1e-7) -> GradientTransformation:
    """optax's ``scale_by_rss`` (Adagrad's scaling, ``eps`` inside the square root).

    Example:
        >>> tx = scale_by_rss(initial_accumulator_value=0.0, eps=0.0)
        >>> g = {"w": torch.tensor([2.0, 0.0])}
        >>> tx.update(g, tx.init(g))[0]
        {'w': tensor([1., 0.])}
    """
    return rms.scale_by_adagrad(initial_accumulator_value, eps, eps_in_sqrt=True)


def scale_by_trust_ratio(
    min_norm: Hyper = 0.0, trust_coefficient: Hyper = 1.0, eps: Hyper = 0.0
) -> GradientTransformation:
    """optax's ``scale_by_trust_ratio`` (see [`scale_by_trust_ratio`][optimtx.scale_by_trust_ratio]).

    Example:
        >>> p = {"w": torch.tensor([3.0, 4.0])}
        >>> tx = scale_by_trust_ratio()
        >>> tx.update({"w": torch.tensor([0.0, 0.5])}, tx.init(p), p)[0]
        {'w': tensor([0., 5.])}
    """
    return _scale_by_trust_ratio(trust_coefficient, eps, min_norm)


def clip(max_delta: Hyper) -> GradientTransformation:
    """optax's ``clip``: clamp every entry to ``[-max_delta, max_delta]``.

    Example:
        >>> tx = clip(1.0)
        >>> tx.update({"w": torch.tensor([-3.0, 0.5])}, tx.init({}))[0]
        {'w': tensor([-1.0000,  0.5000])}
    """
    return clipping.clip_by_value(max_delta)


def clip_by_global_norm(max_norm: Hyper) -> GradientTransformation:
    """optax's ``clip_by_global_norm``: ``g * max_norm / norm`` when the 2-norm is above ``max_norm`` (no ``1e-6``).

    Example:
        >>> tx = clip_by_global_norm(1.0)
        >>> g = {"w": torch.tensor([3.0, 4.0])}
        >>> tx.update(g, tx.init(g))[0]
        {'w': tensor([0.6000, 0.8000])}
    """
    return clipping.clip_by_global_norm(max_norm, eps=0.0)


def adaptive_grad_clip(
    clipping: Hyper, eps: Hyper = 1e-3, axis: int | tuple[int, ...] | None = None
) -> GradientTransformation:
    """optax's ``adaptive_grad_clip``, per unit in torch's layout ([`adaptive_grad_clip`][optimtx.adaptive_grad_clip]).


    ``axis=None`` means torch's units (every dimension but the first), not JAX's output-last guess; other
    axes are not supported.

    Example:
        >>> p = {"w": torch.tensor([[3.0, 4.0]])}
        >>> tx = adaptive_grad_clip(0.1)
        >>> tx.update({"w": torch.tensor([[0.0, 1.0]])}, tx.init(p), p)[0]
        {'w': tensor([[0.0000, 0.5000]])}
    """
    if axis is not None:
        raise ValueError(
            f"axis={axis!r} is not supported: optimtx.optax.adaptive_grad_clip takes units in torch's layout "
            "(norms over every dimension but the first); pass axis=None."
        )
    return grad_filters.adaptive_grad_clip(clipping, eps)


def add_noise(
    eta: Hyper, gamma: Hyper, key: int | torch.Generator | None = None, *, seed: int | None = None
) -> GradientTransformation:
    """optax's ``add_noise``; ``key`` is an int seed or a ``torch.Generator`` (``seed`` is its old name).

    Example:
        >>> tx = add_noise(0.0, 0.55, key=0)
        >>> tx.update({"w": torch.ones(2)}, tx.init({"w": torch.ones(2)}))[0]
        {'w': tensor([1., 1.])}
    """
    if seed is not None and key is not None:
        raise ValueError("add_noise() takes key or seed, not both (seed is the deprecated name of key).")
    return _add_noise(eta, gamma, key if seed is None else seed)


__all__ = [
    "add_decayed_weights",
    "add_noise",
    "adaptive_grad_clip",
    "centralize",
    "clip",
    "clip_by_block_rms",
    "clip_by_global_norm",
    "ema",
    "keep_params_nonnegative",
    "normalize_by_update_norm",
    "per_example_global_norm_clip",
    "per_example_layer_norm_clip",
    "scale",
    "scale_by_adadelta",
    "scale_by_adam",
    "scale_by_adamax",
    "scale_by_factored_rms",
    "scale_by_learning_rate",
    "scale_by_lion",
    "scale_by_param_block_norm",
    "scale_by_param_block_rms",
    "scale_by_radam",
    "scale_by_rms",
    "scale_by_rss",
    "scale_by_schedule",
    "scale_by_stddev",
    "scale_by_trust_ratio",
    "trace",
    "zero_nans",
]


def scale_by_radam(
    b1: Hyper = 0.9,
    b2: Hyper = 0.999,
    eps: Hyper = 1e-8,
    eps_root: Hyper = 0.0,
    threshold: Hyper = 5.0,
    *,
    nesterov: bool = False,
) -> GradientTransformation:
    """optax's ``scale_by_radam`` (``eps`` after the bias correction, optax's Nesterov form with ``nesterov=True``).

    Example:
        >>> tx = scale_by_radam()
        >>> g = {"w": torch.tensor([2.0, -0.5])}
        >>> tx.update(g, tx.init(g))[0]
        {'w': tensor([ 2.0000, -0.5000])}
    """
    return _scale_by_radam(
        b1, b2, eps, threshold=threshold, eps_after_correction=True, eps_root=eps_root, nesterov=nesterov
    )
