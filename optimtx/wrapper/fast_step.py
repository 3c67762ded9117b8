"""A sync-free AMP + gradient-clipping step for torch's fused optimizers.

The textbook mixed-precision step with clipping walks over the gradients four times::

    scaler.unscale_(opt)                        # read + write every gradient
    clip_grad_norm_(params, max_norm)           # read (norm), then read + write (scale)
    scaler.step(opt); scaler.update()           # the fused update: read + write

Torch's fused optimizers (``fused=True``; they set ``_step_supports_amp_scaling``)
divide each gradient by an optional ``grad_scale`` tensor inside their single kernel
and skip the whole update when an optional ``found_inf`` tensor is non-zero.
[`fused_amp_step`][optimtx.fused_amp_step] uses that: one read-only pass computes the norm of the still
scaled gradients, whose finiteness is also the overflow flag, and the unscale and the
clip coefficient are folded into ``grad_scale``. That leaves two passes over the
gradients instead of four, and nothing is read back to the host.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import NamedTuple

import torch
from torch import Tensor

from optimtx.core.validation import check_non_negative, check_norm_type
from optimtx.transforms.clipping import clip_coefficient


class FusedStepResult(NamedTuple):
    """What [`fused_amp_step`][optimtx.fused_amp_step] reports (both 0-d float32 tensors on the scale's device).

    Attributes:
        total_norm: the total norm of the unscaled gradients before clipping, as
            ``clip_grad_norm_`` returns it after ``GradScaler.unscale_`` (inf or NaN on overflow).
        found_inf: ``1.0`` when a gradient held inf or NaN (the step was skipped), else ``0.0``;
            the flag ``torch._amp_update_scale_`` takes to grow or back off the scale.
    """

    total_norm: Tensor
    found_inf: Tensor


def supports_fused_amp_step(optimizer: torch.optim.Optimizer) -> bool:
    """Whether ``optimizer`` can take its loss scale and overflow flag as tensors (torch's fused optimizers).

    Example:
        >>> w = torch.nn.Parameter(torch.ones(2))
        >>> supports_fused_amp_step(torch.optim.AdamW([w], fused=True))
        True
        >>> supports_fused_amp_step(torch.optim.AdamW([w], foreach=True))
        False
    """
    if not getattr(optimizer, "_step_supports_amp_scaling", False):
        return False
    # The older contract passed the scaler itself as a keyword; such optimizers ignore our tensors.
    return "grad_scaler" not in inspect.signature(optimizer.step).parameters


def fused_amp_step(
    optimizer: torch.optim.Optimizer,
    scale: Tensor,
    max_norm: float | Tensor | None = None,
    norm_type: float | str = 2.0,
    skip_if: Callable[[Tensor], Tensor] | None = None,
) -> FusedStepResult:
    """Unscale, clip by total norm and step a fused optimizer in two passes, without a host sync.

    Equal (to float rounding) to this plain torch sequence, including which steps are skipped::

        scaler.unscale_(optimizer)                                  # grads / scale
        total_norm = clip_grad_norm_(params, max_norm, norm_type)   # if max_norm is not None
        scaler.step(optimizer)                                      # skipped on inf/NaN

    The gradients must still be multiplied by ``scale`` (``(loss * scale).backward()``).
    After a step that was taken they hold the unscaled, clipped gradients, as after the
    sequence above; after a skipped step they are left scaled. Updating the scale is the
    caller's job, e.g. ``torch._amp_update_scale_(scale, growth_tracker, result.found_inf,
    2.0, 0.5, 2000)``, which is what ``GradScaler.update`` runs.

    The overflow flag is the finiteness of the norm of the scaled gradients. It matches
    ``GradScaler``'s element check except when finite gradients are so large that their
    p-norm overflows float32 (|g * scale| around 1e19 for the 2-norm); the step is then
    skipped, where the torch sequence would clip every gradient to zero and step.

    Args:
        optimizer: a torch optimizer built with ``fused=True`` (AdamW, Adam, SGD, Adagrad);
            see [`supports_fused_amp_step`][optimtx.supports_fused_amp_step].
        scale: the loss scale the gradients carry, a 0-d floating tensor (use
            ``torch.ones(())`` when there is no loss scaling).
        max_norm: clip to this total norm (>= 0), or ``None`` for no clipping.
        norm_type: the p of the p-norm (> 0), or ``float('inf')``/``'inf'``.
        skip_if: optional function of the pre-clip total norm returning a bool 0-d tensor;
            where it holds the step is skipped too (e.g. a spike guard). It does not change
            ``found_inf`` (so the loss scale does not back off for it).

    To divide the gradients by an item count as well (accumulation over ``num_items``),
    pass ``scale * count`` as ``scale``: the division rides along in ``grad_scale`` and the
    reported norm is that of the divided gradients.

    Returns:
        A [`FusedStepResult`][optimtx.FusedStepResult] with the pre-clip total norm and the overflow flag.

    Raises:
        TypeError: when ``optimizer`` is not a fused one, or ``scale`` is not a tensor.
        ValueError: for a negative ``max_norm`` or a ``norm_type`` <= 0.

    Example:
        >>> w = torch.nn.Parameter(torch.zeros(2))
        >>> opt = torch.optim.SGD([w], lr=1.0, fused=True)
        >>> w.grad = torch.tensor([3.0, 4.0]) * 1024  # gradients of loss * 1024
        >>> fused_amp_step(opt, torch.tensor(1024.0), max_norm=1.0)
        FusedStepResult(total_norm=tensor(5.), found_inf=tensor(0.))
        >>> w.detach()
        tensor([-0.6000, -0.8000])
        >>> w.grad = torch.tensor([float("inf"), 1.0])
        >>> fused_amp_step(opt, torch.tensor(1024.0), max_norm=1.0).found_inf, w.detach()
        (tensor(1.), tensor([-0.6000, -0.8000]))
    """
    _check_arguments(optimizer, scale, max_norm)
    norm_type = check_norm_type(norm_type)
    if norm_type <= 0:
        raise ValueError(
            f"fused_amp_step needs norm_type > 0 to detect inf/NaN gradients from the norm, got {norm_type!r}; "
            "pass 2.0, 1.0 or float('inf')."
        )
    grads = [p.grad for group in optimizer.param_groups for p in group["params"] if p.grad is not None]
    scale = scale.detach().float()
    scaled_norm = _total_norm(grads, norm_type, scale.device)
    found_inf = (~torch.isfinite(scaled_norm)).float()
    total_norm = scaled_norm / scale
    grad_scale = scale if max_norm is None else scale / clip_coefficient(total_norm, max_norm)
    skip_found = found_inf if skip_if is None else torch.maximum(found_inf, skip_if(total_norm).to(found_inf))
    _step_with_scale(optimizer, grad_scale, skip_found)
    return FusedStepResult(total_norm, found_inf)


def _check_arguments(optimizer: torch.optim.Optimizer, scale: Tensor, max_norm: float | Tensor | None) -> None:
    if not supports_fused_amp_step(optimizer):
        raise TypeError(
            f"fused_amp_step needs an optimizer that takes grad_scale/found_inf tensors, got "
            f"{type(optimizer).__name__} without that support. Build it with fused=True, "
            "e.g. torch.optim.AdamW(params, fused=True)."
        )
    if not isinstance(scale, Tensor) or scale.numel() != 1 or not scale.is_floating_point():
        raise TypeError(f"scale must be a 0-d floating tensor such as torch.tensor(65536.0), got {scale!r}.")
    if max_norm is not None:
        check_non_negative("max_norm", max_norm)


def _total_norm(grads: list[Tensor], norm_type: float, device: torch.device) -> Tensor:
    """The p-norm of all ``grads`` together, in float32 (or float64 for float64 grads), on ``device``."""
    if not grads:
        return torch.zeros((), dtype=torch.float32, device=device)
    per_group = []
    for (_, dtype), group in _by_device_and_dtype(grads).items():
        # Half-precision squares of scaled gradients overflow; accumulate in at least float32.
        # (BLAS dot products read faster on an idle CPU but slow down badly under contention.)
        norms = torch._foreach_norm(group, norm_type, dtype=torch.promote_types(dtype, torch.float32))
        per_group.append(torch.linalg.vector_norm(torch.stack(norms), norm_type).to(device, torch.float32))
    if len(per_group) == 1:
        return per_group[0]
    return torch.linalg.vector_norm(torch.stack(per_group), norm_type)


def _by_device_and_dtype(grads: list[Tensor]) -> dict[tuple[torch.device, torch.dtype], list[Tensor]]:
    groups: dict[tuple[torch.device, torch.dtype], list[Tensor]] = {}
    for g in grads:
        groups.setdefault((g.device, g.dtype), []).append(g)
    return groups


def _step_with_scale(optimizer: torch.optim.Optimizer, grad_scale: Tensor, found_inf: Tensor) -> None:
    # The attribute protocol GradScaler.step uses for optimizers with _step_supports_amp_scaling.
    optimizer.grad_scale = grad_scale  # type: ignore[attr-defined]
    optimizer.found_inf = found_inf  # type: ignore[attr-defined]
    try:
        optimizer.step()
    finally:
        del optimizer.grad_scale  # type: ignore[attr-defined]
        del optimizer.found_inf  # type: ignore[attr-defined]


__all__ = ["FusedStepResult", "fused_amp_step", "supports_fused_amp_step"]
