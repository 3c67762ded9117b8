"""``AmpOptimWrapper``: ``OptimWrapper`` plus autocast and loss scaling, on CUDA and on the CPU.

Decisions (see docs/optim_wrapper.md):

- ``dtype=None`` autocasts to float16 on every device (MMEngine's CUDA default), with
  dynamic loss scaling.
- bfloat16 has float32's exponent range, so with ``loss_scale='dynamic'`` scaling is turned
  off: the scale stays 1.0, gradients are not checked and no step is skipped. An explicit
  number or dict is honoured. Left at its default, this is the recommended bfloat16 path and
  is silent; ``loss_scale='dynamic'`` written out with bfloat16 asks for something that will
  not happen, so only then ``LossScalingDisabledWarning`` says so.
- On the CPU, autocast only exists for float16 and bfloat16; with float32/float64 the
  forward runs in the model's own dtype (loss scaling still works as configured).
- Unlike MMEngine: works on the CPU, accepts an int ``loss_scale``, raises
  ``ValueError``/``TypeError`` instead of ``AssertionError``, accepts ``'16-mixed'`` and
  ``'bf16-mixed'``.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import torch
from torch import Tensor, nn

from optimtx.core.validation import check_bool
from optimtx.core.warnings import LossScalingDisabledWarning, warn_user
from optimtx.wrapper.fast_step import fused_amp_step, supports_fused_amp_step
from optimtx.wrapper.loss_scaler import LossScaler, check_scaler_state
from optimtx.wrapper.optim_wrapper import OptimWrapper
from optimtx.wrapper.step_pipeline import build_step_info, divide_grads_, group_lrs, param_device

__all__ = ["AmpOptimWrapper", "parse_amp_dtype", "parse_loss_scale"]

_DTYPES = {
    "float16": torch.float16,
    "bfloat16": torch.bfloat16,
    "float32": torch.float32,
    "float64": torch.float64,
    "16-mixed": torch.float16,
    "bf16-mixed": torch.bfloat16,
}
_SCALER_KEYS = ("init_scale", "growth_factor", "backoff_factor", "growth_interval", "enabled")
_CPU_AUTOCAST_DTYPES = (torch.float16, torch.bfloat16)


class _DefaultLossScale(str):
    """The default ``'dynamic'``: equal to the string, but told apart from one the caller wrote."""

    __slots__ = ()


_DEFAULT_LOSS_SCALE = _DefaultLossScale("dynamic")


class AmpOptimWrapper(OptimWrapper):
    """Mixed-precision training: autocast in ``optim_context`` and loss scaling in ``backward``/``step``.

    Args:
        loss_scale: ``'dynamic'`` (GradScaler's defaults; off for bfloat16, which does not
            underflow), a number (static scale, reset after every update) or a dict of
            ``init_scale``, ``growth_factor``, ``backoff_factor``, ``growth_interval``,
            ``enabled``. Writing ``'dynamic'`` out together with bfloat16 warns
            (``LossScalingDisabledWarning``); the default does not.
        dtype: the autocast dtype: ``None`` (float16), ``'float16'``, ``'bfloat16'``,
            ``'float32'``, ``'float64'``, ``'16-mixed'``, ``'bf16-mixed'`` or a ``torch.dtype``.
        use_fsdp: accepted for MMEngine configs; only ``False`` is supported.
        **kwargs: ``optimizer``, ``accumulative_counts``, ``clip_grad`` as for [`OptimWrapper`][optimtx.OptimWrapper].

    Example:
        >>> model = torch.nn.Linear(2, 1)
        >>> wrapper = AmpOptimWrapper(optimizer=torch.optim.SGD(model.parameters(), lr=0.1))
        >>> with wrapper.optim_context(model):
        ...     out = model(torch.full((4, 2), 0.5))
        >>> out.dtype
        torch.float16
        >>> wrapper.update_params(out.float().mean())  # 65536 * grad overflows float16
        >>> wrapper.step_was_skipped, wrapper.state_dict()["loss_scaler"]["scale"]
        (True, 32768.0)
    """

    valid_dtypes = ("float16", "bfloat16", "float32", "float64")

    def __init__(
        self,
        loss_scale: str | float | dict = _DEFAULT_LOSS_SCALE,
        dtype: str | torch.dtype | None = None,
        use_fsdp: bool = False,
        **kwargs: Any,
    ):
        check_bool("use_fsdp", use_fsdp)
        if use_fsdp:
            raise ValueError(
                "use_fsdp=True is not supported: optimtx has no sharded loss scaler. "
                "Use torch.distributed.fsdp.sharded_grad_scaler.ShardedGradScaler directly, or leave use_fsdp=False."
            )
        super().__init__(**kwargs)
        self.cast_dtype = parse_amp_dtype(dtype)
        self.autocast_dtype = torch.float16 if self.cast_dtype is None else self.cast_dtype
        scaler_kwargs, self._scale_update_param = parse_loss_scale(loss_scale, self.autocast_dtype)
        explicit_dynamic = loss_scale is not _DEFAULT_LOSS_SCALE and loss_scale == "dynamic"
        if explicit_dynamic and self.autocast_dtype == torch.bfloat16:
            warn_user(
                "AmpOptimWrapper(dtype='bfloat16', loss_scale='dynamic') turns loss scaling off (bfloat16 does not "
                "underflow like float16), and with it the skipping of steps whose gradients hold inf/NaN. Pass "
                "loss_scale=dict(init_scale=1.0, growth_factor=1.0) to keep skipping such steps, or "
                "loss_scale=dict(enabled=False) to say you do not want it.",
                LossScalingDisabledWarning,
            )
        self.loss_scaler = LossScaler(**scaler_kwargs)

    def backward(self, loss: Tensor, num_items: int | Tensor | None = None, **kwargs: Any) -> None:
        """Backward ``loss * scale``, then count one more micro-step (``num_items``: see `update_params`)."""
        self._warn_if_syncing_while_accumulating()
        items = self._items.check(num_items)
        self.loss_scaler.scale(loss).backward(**kwargs)
        self._inner_count += 1
        self._items.add(items)

    def step(self, **kwargs: Any) -> None:
        """Unscale (and clip) the gradients, step unless they overflowed, update the scale.

        If anything raises on the way (say ``clip_grad=dict(error_if_nonfinite=True)``), the
        gradients are multiplied by the scale again and the scaler forgets the step, so
        nothing applies still-scaled (or twice-unscaled) gradients later. A ``closure`` is
        refused while loss scaling is on, as ``torch.amp.GradScaler`` refuses it.

        With a fused torch optimizer (``fused=True``) and norm clipping or none, this takes
        the two-pass path of [`fused_amp_step`][optimtx.fused_amp_step]: the unscale
        and the clip coefficient ride along in the optimizer's ``grad_scale`` and the skip
        decision in its ``found_inf``, so nothing is read back to the host.
        """
        if kwargs.get("closure") is not None and self.loss_scaler.is_enabled():
            raise ValueError(
                "AmpOptimWrapper.step(closure=...) is not supported with loss scaling: the closure's backward would "
                "give unscaled gradients (torch.amp.GradScaler refuses closures too). Call backward/update_params "
                "and step() without a closure, or use loss_scale=dict(enabled=False)."
            )
        window = (self._items.items, self._items.uses_items)
        divisor = self._items.take(param_device(self.optimizer))
        lrs = group_lrs(self.optimizer)
        scaler = self.loss_scaler
        live_scale = _tensor_or_none(scaler.scale_tensor) if scaler.is_enabled() else None
        scale_used: Tensor | float = 1.0 if live_scale is None else live_scale.clone()
        was_unscaled = scaler.unscaled
        self._divided_by: Tensor | None = None
        try:
            if not kwargs and self._can_take_fused_step():
                norm, skip = self._fused_step(divisor)
            else:
                norm, skip = self._unfused_step(divisor, kwargs)
        except BaseException:
            # Leave the gradients as before step(): multiplied by the scale (and not divided by the window's
            # item count), with no step state pending and the window's count kept, so a retry, more backward
            # passes or zero_grad() all see consistent gradients.
            scaler.abandon_step(self.optimizer, rescale=not was_unscaled)
            if self._divided_by is not None:
                divide_grads_(self.optimizer, torch.reciprocal(self._divided_by))
            self._items.items, self._items.uses_items = window
            raise
        scaler.update(self._scale_update_param)
        self.last_step = build_step_info(
            self.optimizer, lrs, norm, _tensor_or_none(scaler.last_found_inf), skip, scale_used
        )

    def _unfused_step(self, divisor: Tensor | None, kwargs: dict[str, Any]) -> tuple[Tensor | None, Tensor | None]:
        """Unscale (and divide by ``divisor``) in one pass, clip, then step unless overflow or spike."""
        scaler = self.loss_scaler
        norm = None
        if scaler.is_enabled():
            if divisor is not None and scaler.unscaled:  # the caller unscaled already: divide on its own
                divide_grads_(self.optimizer, divisor)
                self._divided_by = divisor
            elif self._clip is not None or divisor is not None:
                scaler.unscale_(self.optimizer, divisor)
                self._divided_by = divisor
            if self._clip is not None:
                norm = self._clip_grad()
        elif self._clip is not None:
            norm = self._clip_grad(divisor)
            self._divided_by = divisor
        elif divisor is not None:
            divide_grads_(self.optimizer, divisor)
            self._divided_by = divisor
        skip = self._spikes.decide(norm) if self._spikes is not None and norm is not None else None
        if skip is None or not bool(skip.item()):  # a spike guard needs one host read on this path
            scaler.step(self.optimizer, **kwargs)
        return norm, skip

    def _can_take_fused_step(self) -> bool:
        clip_ok = self._clip is None or (
            self._clip.kind == "norm" and not self._clip.kwargs.get("error_if_nonfinite", False)
        )
        scaler = self.loss_scaler
        return clip_ok and scaler.is_enabled() and not scaler.unscaled and self._optimizer_is_fused()

    def _optimizer_is_fused(self) -> bool:
        """``supports_fused_amp_step`` inspects a signature: ask once per optimizer, not once per step."""
        cached = getattr(self, "_fused_cache", None)
        if cached is None or cached[0] is not self.optimizer:
            cached = self._fused_cache = (self.optimizer, supports_fused_amp_step(self.optimizer))
        return cached[1]

    def _fused_step(self, divisor: Tensor | None = None) -> tuple[Tensor | None, Tensor | None]:
        """The two-pass fused step; the item divisor and the spike guard ride along. Returns (norm, skip)."""
        clip = self._clip.kwargs if self._clip is not None else {}
        grads = (p.grad for group in self.optimizer.param_groups for p in group["params"] if p.grad is not None)
        first_grad = next(grads, None)
        if first_grad is not None:  # the scale must sit with the gradients, or every step copies it
            self.loss_scaler.to(first_grad.device)
        scale = self.loss_scaler.scale_tensor
        if divisor is not None:
            scale = scale * divisor.to(scale.device)
        decided: list[Tensor] = []
        spikes = self._spikes

        def skip_if(norm: Tensor) -> Tensor:
            decided.append(spikes.decide(norm))  # type: ignore[union-attr]
            return decided[-1]

        result = fused_amp_step(
            self.optimizer,
            scale,
            clip.get("max_norm"),
            clip.get("norm_type", 2.0),
            skip_if=None if spikes is None else skip_if,
        )
        if self._clip is not None:
            self.last_grad_norm = result.total_norm
        self.loss_scaler.record_found_inf(result.found_inf)
        norm = result.total_norm if self._clip is not None else None
        return norm, (decided[0] if decided else None)

    @property
    def step_was_skipped(self) -> bool:
        """Whether the last ``step`` was skipped because the gradients held inf or NaN."""
        return self.loss_scaler.step_was_skipped()

    @contextmanager
    def optim_context(self, model: nn.Module) -> Iterator[None]:
        """DDP ``no_sync`` on accumulation steps (as [`OptimWrapper`][optimtx.OptimWrapper]) plus autocast."""
        device_type = _device_type(self.optimizer)
        enabled = device_type != "cpu" or self.autocast_dtype in _CPU_AUTOCAST_DTYPES
        with (
            super().optim_context(model),
            torch.autocast(device_type=device_type, dtype=self.autocast_dtype, enabled=enabled),
        ):
            yield

    def state_dict(self) -> dict[str, Any]:
        """[`OptimWrapper.state_dict`][optimtx.OptimWrapper.state_dict] plus ``'loss_scaler'`` (GradScaler's keys)."""
        state = super().state_dict()
        state["loss_scaler"] = self.loss_scaler.state_dict()
        return state

    def _check_loadable(self, state_dict: Mapping[str, Any]) -> None:
        state = self._split_state_dict(state_dict)
        if state.get("loss_scaler") is not None:
            check_scaler_state(state["loss_scaler"])

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Load a state from `state_dict` or a plain optimizer state dict (nothing changes on error)."""
        self._check_loadable(state_dict)
        state = self._split_state_dict(state_dict)
        scaler_state = state.pop("loss_scaler", None)
        self._load_checked(state)
        if scaler_state is not None:
            self.loss_scaler.load_state_dict(scaler_state)  # checked above: cannot fail now


def _tensor_or_none(value: Any) -> Tensor | None:
    """``value`` if it is a tensor (a replaced ``loss_scaler`` may not give one), else ``None``."""
    return value if isinstance(value, Tensor) else None


def parse_amp_dtype(dtype: str | torch.dtype | None) -> torch.dtype | None:
    """The ``torch.dtype`` for an AMP ``dtype`` argument (``None`` stays ``None``).

    Example:
        >>> parse_amp_dtype("bf16-mixed")
        torch.bfloat16
        >>> parse_amp_dtype("fp16")
        Traceback (most recent call last):
        ...
        ValueError: Unknown AMP dtype 'fp16'. ...
    """
    if dtype is None:
        return None
    if isinstance(dtype, torch.dtype):
        if not dtype.is_floating_point:
            raise ValueError(f"The AMP dtype must be a floating point dtype, got {dtype!r}.")
        return dtype
    if isinstance(dtype, str):
        if dtype in _DTYPES:
            return _DTYPES[dtype]
        close = difflib.get_close_matches(dtype, list(_DTYPES), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"Unknown AMP dtype {dtype!r}.{hint} Accepted: None, a torch.dtype or one of {list(_DTYPES)}.")
    raise TypeError(f"dtype must be None, a string or a torch.dtype, got {dtype!r}.")


def parse_loss_scale(loss_scale: Any, autocast_dtype: torch.dtype) -> tuple[dict[str, Any], float | None]:
    """The ``LossScaler`` arguments and the static scale for a ``loss_scale`` argument.

    Example:
        >>> parse_loss_scale("dynamic", torch.float16)
        ({}, None)
        >>> parse_loss_scale(512, torch.float16)
        ({'init_scale': 512.0}, 512.0)
        >>> parse_loss_scale("dynamic", torch.bfloat16)
        ({'enabled': False}, None)
    """
    if isinstance(loss_scale, str) and loss_scale == "dynamic":
        # bfloat16 gradients do not underflow the way float16 ones do, so scaling buys nothing.
        return ({"enabled": False} if autocast_dtype == torch.bfloat16 else {}), None
    if isinstance(loss_scale, (int, float)) and not isinstance(loss_scale, bool):
        if not loss_scale > 0 or loss_scale == float("inf"):
            raise ValueError(f"Invalid loss_scale: {loss_scale!r}. A static loss scale must be a finite number > 0.")
        LossScaler(init_scale=float(loss_scale))  # float32 range
        return {"init_scale": float(loss_scale)}, float(loss_scale)
    if isinstance(loss_scale, Mapping):
        unknown = [key for key in loss_scale if key not in _SCALER_KEYS]
        if unknown:
            raise ValueError(f"Unknown loss_scale keys {unknown}. Accepted keys: {list(_SCALER_KEYS)}.")
        checked = dict(loss_scale)
        LossScaler(**checked)  # validates the values now, with errors that name them
        return checked, None
    raise TypeError(
        f"loss_scale must be of type float, dict, or 'dynamic', got {loss_scale!r}. "
        "Use 'dynamic', a number such as 512.0, or a dict like dict(init_scale=1024.0)."
    )


def _device_type(optimizer: torch.optim.Optimizer) -> str:
    for group in optimizer.param_groups:
        for param in group.get("params", ()):
            if isinstance(param, Tensor):
                return param.device.type
    return "cpu"
