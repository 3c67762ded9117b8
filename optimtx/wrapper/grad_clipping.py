"""Gradient clipping for the facade: the ``clip_grad`` config, checked once, applied in place.

The numbers come from the pure clipping code (`optimtx.core.tree.global_norm` and
`optimtx.transforms.clipping.clip_coefficient`); the facade owns the ``.grad``
buffers, so it writes the clipped values back into them instead of allocating copies.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any, NamedTuple

import torch
from torch import Tensor

from optimtx.core.tree import global_norm
from optimtx.core.validation import check_bool, check_non_negative, check_norm_type
from optimtx.transforms.clipping import clip_coefficient
from optimtx.transforms.spike import check_spike_args

__all__ = ["ClipConfig", "clip_grads_", "parse_clip_grad", "parse_skip_spikes"]

_ALLOWED_KEYS = {
    "norm": ("max_norm", "norm_type", "error_if_nonfinite", "foreach", "skip_spikes"),
    "value": ("clip_value", "foreach"),
}
_REQUIRED_KEY = {"norm": "max_norm", "value": "clip_value"}


class ClipConfig(NamedTuple):
    """A checked ``clip_grad`` setting.

    Attributes:
        kind: ``'norm'`` or ``'value'``.
        kwargs: the arguments without ``type`` and ``skip_spikes`` (a new dict; the caller's dict is never changed).
        skip_spikes: ``(threshold, window)`` from ``skip_spikes=dict(threshold=..., window=...)``, or ``None``.
    """

    kind: str
    kwargs: dict[str, Any]
    skip_spikes: tuple[float, int] | None = None


def parse_clip_grad(clip_grad: Mapping[str, Any] | None) -> ClipConfig | None:
    """Check a ``clip_grad`` dict and return it as a `ClipConfig` (``None`` stays ``None``).

    Example:
        >>> parse_clip_grad(dict(max_norm=1.0))
        ClipConfig(kind='norm', kwargs={'max_norm': 1.0}, skip_spikes=None)
        >>> parse_clip_grad(dict(clip_value=0.5))  # no type: inferred from the keys
        ClipConfig(kind='value', kwargs={'clip_value': 0.5}, skip_spikes=None)
        >>> parse_clip_grad(dict(type='value'))
        Traceback (most recent call last):
        ...
        ValueError: clip_grad=dict(type='value') has no 'clip_value'. ...
    """
    if clip_grad is None:
        return None
    if not isinstance(clip_grad, Mapping) or not clip_grad:
        raise TypeError(
            f"clip_grad must be None or a non-empty dict such as dict(max_norm=1.0) or "
            f"dict(type='value', clip_value=0.5), got {clip_grad!r}."
        )
    kwargs = dict(clip_grad)
    kind = kwargs.pop("type", _default_kind(kwargs))
    if not isinstance(kind, str) or kind not in _ALLOWED_KEYS:
        raise ValueError(f"clip_grad type must be 'norm' or 'value', got {kind!r}.")
    _check_keys(clip_grad, kind, kwargs)
    if kind == "norm":
        check_non_negative("max_norm", kwargs["max_norm"], allow_inf=True)  # inf: log the norm, never clip
        if "norm_type" in kwargs:
            check_norm_type(kwargs["norm_type"])
        if "error_if_nonfinite" in kwargs:
            check_bool("error_if_nonfinite", kwargs["error_if_nonfinite"])
    else:
        check_non_negative("clip_value", kwargs["clip_value"], allow_inf=True)
    foreach = kwargs.get("foreach")
    if foreach is not None:
        check_bool("foreach", foreach)
    spikes = parse_skip_spikes(kwargs.pop("skip_spikes")) if "skip_spikes" in kwargs else None
    return ClipConfig(kind, kwargs, spikes)


def parse_skip_spikes(skip_spikes: Any) -> tuple[float, int] | None:
    """Check ``clip_grad``'s ``skip_spikes=dict(threshold=..., window=...)``; ``None`` means off.

    Example:
        >>> parse_skip_spikes(dict(threshold=4.0, window=20))
        (4.0, 20)
        >>> parse_skip_spikes(dict(threshold=4.0))
        Traceback (most recent call last):
        ...
        ValueError: skip_spikes needs the keys ['threshold', 'window'], got {'threshold': 4.0}. ...
    """
    if skip_spikes is None:
        return None
    if not isinstance(skip_spikes, Mapping):
        raise TypeError(f"skip_spikes must be None or a dict(threshold=..., window=...), got {skip_spikes!r}.")
    if set(skip_spikes) != {"threshold", "window"}:
        raise ValueError(
            f"skip_spikes needs the keys ['threshold', 'window'], got {dict(skip_spikes)!r}. "
            "Example: skip_spikes=dict(threshold=4.0, window=50)."
        )
    return check_spike_args(skip_spikes["threshold"], skip_spikes["window"])


def _default_kind(kwargs: Mapping[str, Any]) -> str:
    # MMEngine always defaults to 'norm', so dict(clip_value=...) fails only when clipping runs;
    # a dict that clearly describes a value clip is taken as one.
    return "value" if "clip_value" in kwargs and "max_norm" not in kwargs else "norm"


def _check_keys(clip_grad: Mapping[str, Any], kind: str, kwargs: dict[str, Any]) -> None:
    allowed = _ALLOWED_KEYS[kind]
    for key in kwargs:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), allowed, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ValueError(
                f"Unknown clip_grad key {key!r} for type={kind!r}.{hint} Accepted keys: 'type', "
                + ", ".join(repr(k) for k in allowed)
                + "."
            )
    required = _REQUIRED_KEY[kind]
    if required not in kwargs:
        shown = ", ".join(f"{k}={v!r}" for k, v in clip_grad.items())
        raise ValueError(
            f"clip_grad=dict({shown}) has no {required!r}. Add it, e.g. dict(type={kind!r}, {required}=1.0)."
        )


def clip_grads_(grads: list[Tensor], config: ClipConfig, divisor: Tensor | None = None) -> Tensor | None:
    """Clip ``grads`` in place as ``config`` says; return the pre-clip total norm (``None`` for value clipping).

    With ``divisor`` (a 0-d tensor) the gradients are first divided by it, folded into the
    same pass: the norm is the norm of the divided gradients and clipping applies to them.

    Same numbers as ``torch.nn.utils.clip_grad_norm_`` / ``clip_grad_value_``. Nothing is
    read back to the host unless ``error_if_nonfinite=True``.

    Example:
        >>> g = [torch.tensor([3.0, 4.0])]
        >>> clip_grads_(g, parse_clip_grad(dict(max_norm=1.0)))
        tensor(5.)
        >>> g
        [tensor([0.6000, 0.8000])]
    """
    if not grads:
        return None
    if config.kind == "value":
        if divisor is not None:
            _mul_(grads, divisor.reciprocal())
        limit = config.kwargs["clip_value"]
        torch._foreach_clamp_min_(grads, -limit)
        torch._foreach_clamp_max_(grads, limit)
        return None
    norm_type = check_norm_type(config.kwargs.get("norm_type", 2.0))
    total = global_norm({str(i): g for i, g in enumerate(grads)}, norm_type)
    if divisor is not None:
        total = total / divisor.to(total.device, total.dtype)
    if config.kwargs.get("error_if_nonfinite", False) and not torch.isfinite(total):
        raise RuntimeError(
            f"The total norm of order {norm_type} of the gradients is non-finite ({total}), so it cannot be "
            "clipped. Set error_if_nonfinite=False in clip_grad to scale by it anyway."
        )
    coef = clip_coefficient(total, config.kwargs["max_norm"])
    _mul_(grads, coef if divisor is None else coef / divisor.to(coef.device, coef.dtype))
    return total.detach()


def _mul_(grads: list[Tensor], factor: Tensor) -> None:
    for device in {g.device for g in grads}:
        on_device = [g for g in grads if g.device == device]
        torch._foreach_mul_(on_device, factor.to(device))
