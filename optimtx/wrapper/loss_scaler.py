"""Dynamic and static loss scaling for the AMP facade, step for step like ``torch.amp.GradScaler``.

``LossScaler`` has GradScaler's method names (``scale``, ``unscale_``, ``step``, ``update``,
``get_scale``, ``state_dict``) and the same numbers. The scale update is the pure
`optimtx.transforms.amp.next_scale`; unscaling runs GradScaler's in-place
unscale-and-check kernel on the ``.grad`` buffers the facade owns, which gives the same
numbers as the pure `optimtx.transforms.amp.unscale_grads` (tested) without copies.
What differs: it works on any device, accepts Python ints, unscales complex gradients
(through their real view; GradScaler's CPU kernel refuses them), and keeps the "was this
step skipped" flag as a tensor until someone asks. Sparse gradients are unscaled as
GradScaler does (float16 ones coalesced first).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import torch
from torch import Tensor

from optimtx.core.state_tree import wide_float
from optimtx.core.validation import check_bool, check_finite, check_loss_scaling_args
from optimtx.transforms.amp import next_scale

__all__ = ["LossScaler", "check_scaler_state"]

_STATE_KEYS = ("scale", "growth_factor", "backoff_factor", "growth_interval", "_growth_tracker")


class LossScaler:
    """Multiply the loss by a scale, unscale the gradients, skip steps whose gradients overflowed.

    Args:
        init_scale: the first scale.
        growth_factor: factor (> 1) applied after ``growth_interval`` finite steps in a row.
        backoff_factor: factor (in (0, 1)) applied after a step with non-finite gradients.
        growth_interval: number of finite steps before the scale grows.
        enabled: ``False`` makes every method a pass-through (scale 1.0, nothing skipped).

    Example:
        >>> p = torch.nn.Parameter(torch.ones(1))
        >>> opt = torch.optim.SGD([p], lr=1.0)
        >>> scaler = LossScaler(init_scale=4.0, growth_interval=1)
        >>> scaler.scale((3 * p).sum()).backward(); p.grad
        tensor([12.])
        >>> scaler.step(opt); scaler.update(); p.data, scaler.get_scale()
        (tensor([-2.]), 8.0)
    """

    def __init__(
        self,
        init_scale: float = 2.0**16,
        growth_factor: float = 2.0,
        backoff_factor: float = 0.5,
        growth_interval: int = 2000,
        enabled: bool = True,
    ) -> None:
        init_scale, growth_factor, backoff_factor = (_as_python(v) for v in (init_scale, growth_factor, backoff_factor))
        check_loss_scaling_args(init_scale, growth_factor, backoff_factor, growth_interval)
        for name, value in (("init_scale", init_scale), ("growth_factor", growth_factor)):
            check_finite(name, value)
        _check_float32("init_scale", init_scale)
        check_bool("enabled", enabled)
        self.growth_factor = float(growth_factor)
        self.backoff_factor = float(backoff_factor)
        self.growth_interval = growth_interval
        self._enabled = enabled
        self._scale = torch.full((), float(init_scale) if enabled else 1.0, dtype=torch.float32)
        self._growth_tracker = torch.zeros((), dtype=torch.int32)
        self._found_inf: Tensor | None = None
        self._unscaled = False
        self._last_found_inf: Tensor | None = None

    def is_enabled(self) -> bool:
        """Whether scaling is on."""
        return self._enabled

    def scale(self, loss: Tensor) -> Tensor:
        """``loss * scale`` (``loss`` itself when disabled).

        Example:
            >>> LossScaler(init_scale=8.0).scale(torch.tensor(0.5))
            tensor(4.)
        """
        if not isinstance(loss, Tensor):
            raise TypeError(f"LossScaler.scale needs a tensor loss, got {loss!r}.")
        if not self._enabled:
            return loss
        self._move_to(loss.device)
        return loss * self._scale.to(loss.device)

    def unscale_(self, optimizer: torch.optim.Optimizer, divisor: Tensor | None = None) -> None:
        """Divide the optimizer's gradients by the scale in place and record non-finite values.

        ``divisor`` (a 0-d tensor, e.g. a window's item count) divides them too, in the same pass.

        Called at most once per step (later calls until [`update`][optimtx.LossScaler.update] do nothing), like
        ``GradScaler.unscale_`` before clipping.
        """
        if not self._enabled or self._unscaled:
            return
        grads = _grads(optimizer)
        if grads:
            self._move_to(grads[0].device)
        inv_scale = self._scale.to(wide_float(self._scale.device)).reciprocal().float()
        if divisor is not None:
            inv_scale = inv_scale / divisor.to(inv_scale.device, torch.float32)
        self._check_and_unscale(grads, inv_scale)
        self._unscaled = True

    def step(self, optimizer: torch.optim.Optimizer, **kwargs: Any) -> Any:
        """``optimizer.step(**kwargs)`` unless the gradients hold inf or NaN.

        Optimizers with ``_step_supports_amp_scaling`` (torch's fused ones) receive the scale
        and the overflow flag and skip by themselves, with no host sync. For the others the
        overflow flag is read once on the host, as ``GradScaler`` does.
        """
        if not self._enabled:
            return optimizer.step(**kwargs)
        if kwargs.get("closure") is not None:
            raise ValueError(
                "LossScaler.step(closure=...) is not supported while scaling is enabled: the closure's backward "
                "would give unscaled gradients (torch.amp.GradScaler refuses closures too)."
            )
        if getattr(optimizer, "_step_supports_amp_scaling", False):
            return self._fused_step(optimizer, kwargs)
        self.unscale_(optimizer)
        if self._found().item():
            return None
        return optimizer.step(**kwargs)

    def _fused_step(self, optimizer: torch.optim.Optimizer, kwargs: dict[str, Any]) -> Any:
        if not self._unscaled:
            self._check_and_unscale(_grads(optimizer), None)
        # torch's fused optimizers read these two attributes in step() (GradScaler's protocol).
        fused: Any = optimizer
        fused.grad_scale = None if self._unscaled else self._scale
        fused.found_inf = self._found()
        try:
            return optimizer.step(**kwargs)
        finally:
            del fused.grad_scale
            del fused.found_inf

    def update(self, new_scale: float | None = None) -> None:
        """Grow or back off the scale (as ``GradScaler.update``), or set it to ``new_scale``.

        Example:
            >>> p = torch.nn.Parameter(torch.ones(1)); p.grad = torch.tensor([float("inf")])
            >>> scaler = LossScaler(init_scale=8.0)
            >>> scaler.step(torch.optim.SGD([p], lr=1.0)); scaler.update()
            >>> scaler.get_scale(), scaler.step_was_skipped(), p.data
            (4.0, True, tensor([1.]))
        """
        if not self._enabled:
            return
        found = self._found()
        if new_scale is not None:
            self._scale.fill_(float(new_scale))
        else:
            scale, tracker = next_scale(
                self._scale, self._growth_tracker, found, self.growth_factor, self.backoff_factor, self.growth_interval
            )
            self._scale.copy_(scale)
            self._growth_tracker.copy_(tracker)
        self._last_found_inf = found
        self._found_inf = None
        self._unscaled = False

    def abandon_step(self, optimizer: torch.optim.Optimizer, rescale: bool = True) -> None:
        """Forget the current step after an error: multiply unscaled gradients by the scale again.

        Afterwards the gradients are as the scaled backward passes left them and no
        overflow flag is pending, so the next step starts clean. With a power-of-two scale
        (the dynamic default) the gradients come back bit for bit.

        Example:
            >>> p = torch.nn.Parameter(torch.ones(1)); p.grad = torch.tensor([8.0])
            >>> scaler = LossScaler(init_scale=4.0)
            >>> scaler.unscale_(torch.optim.SGD([p], lr=1.0)); p.grad
            tensor([2.])
            >>> scaler.abandon_step(torch.optim.SGD([p], lr=1.0)); p.grad, scaler.unscaled
            (tensor([8.]), False)
        """
        if self._enabled and self._unscaled and rescale:
            grads = [_values(g) for g in _grads(optimizer)]
            for device in {g.device for g in grads}:
                on_device = [g for g in grads if g.device == device]
                torch._foreach_mul_(on_device, self._scale.to(device))
        self._found_inf = None
        self._unscaled = False

    @property
    def scale_tensor(self) -> Tensor:
        """The current scale as a 0-d float32 tensor (the live buffer: read it, don't modify it).

        Example:
            >>> LossScaler(init_scale=8.0).scale_tensor
            tensor(8.)
        """
        return self._scale

    @property
    def unscaled(self) -> bool:
        """Whether the gradients were already unscaled in the current step.

        Example:
            >>> LossScaler().unscaled
            False
        """
        return self._unscaled

    def record_found_inf(self, found_inf: Tensor) -> None:
        """Record the overflow flag of a step taken outside `step`; [`update`][optimtx.LossScaler.update] reads it.

        Example:
            >>> scaler = LossScaler(init_scale=8.0)
            >>> scaler.record_found_inf(torch.tensor(1.0))
            >>> scaler.update(); scaler.get_scale()
            4.0
        """
        if hasattr(found_inf, "full_tensor"):  # a DTensor flag (FSDP2): replicated, so this is its local value
            found_inf = found_inf.full_tensor()
        self._move_to(found_inf.device)
        self._found_inf = found_inf.to(torch.float32)

    @property
    def last_found_inf(self) -> Tensor | None:
        """The last step's overflow flag, a 0-d float32 tensor on the scale's device (> 0: skipped); no host read.

        ``None`` before the first [`update`][optimtx.LossScaler.update] and while scaling is disabled.

        Example:
            >>> LossScaler().last_found_inf is None
            True
        """
        return self._last_found_inf

    def step_was_skipped(self) -> bool:
        """Whether the last step (up to the last `update`) was skipped. Reads one value from the device."""
        return self._last_found_inf is not None and bool(self._last_found_inf.item())

    def get_scale(self) -> float:
        """The current scale as a Python float (1.0 when disabled)."""
        return float(self._scale.item()) if self._enabled else 1.0

    def state_dict(self) -> dict[str, Any]:
        """GradScaler's state keys, as Python numbers.

        Example:
            >>> LossScaler(init_scale=2.0).state_dict()
            {'scale': 2.0, 'growth_factor': 2.0, 'backoff_factor': 0.5, 'growth_interval': 2000, '_growth_tracker': 0}
        """
        return {
            "scale": self.get_scale(),
            "growth_factor": self.growth_factor,
            "backoff_factor": self.backoff_factor,
            "growth_interval": self.growth_interval,
            "_growth_tracker": int(self._growth_tracker.item()),
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Load a state from `state_dict` or ``GradScaler.state_dict()`` (ignored when disabled).

        Every value is checked first (scale a finite number > 0, growth_factor > 1,
        backoff_factor in (0, 1), growth_interval an int >= 1, _growth_tracker an int >= 0);
        a bad one raises and nothing changes.
        """
        check_scaler_state(state_dict)
        if not self._enabled:
            return
        values = {key: _as_python(state_dict[key]) for key in _STATE_KEYS}
        self._scale.fill_(float(values["scale"]))
        self._growth_tracker.fill_(int(values["_growth_tracker"]))
        self.growth_factor = float(values["growth_factor"])
        self.backoff_factor = float(values["backoff_factor"])
        self.growth_interval = int(values["growth_interval"])

    def to(self, device: torch.device | str) -> LossScaler:
        """Place the scale and growth tracker on ``device``; returns ``self``.

        Rarely needed: the state follows the first loss or gradients it meets. Useful when
        the gradients are produced without [`scale`][optimtx.LossScaler.scale] (e.g. set by hand) before a fused step.

        Example:
            >>> LossScaler().to("meta").scale_tensor.device
            device(type='meta')
        """
        self._move_to(torch.device(device))
        return self

    def _move_to(self, device: torch.device) -> None:
        """Follow the gradients to their device once (the state is created before they exist).

        Later calls find the state there already, so nothing moves between devices per step.
        """
        if self._scale.device != device:
            self._scale = self._scale.to(device)
            self._growth_tracker = self._growth_tracker.to(device)
            if self._found_inf is not None:
                self._found_inf = self._found_inf.to(device)

    def _found(self) -> Tensor:
        if self._found_inf is None:
            self._found_inf = torch.zeros((), dtype=torch.float32, device=self._scale.device)
        return self._found_inf

    def _check_and_unscale(self, grads: list[Tensor], inv_scale: Tensor | None) -> None:
        """Unscale ``grads`` in place by ``inv_scale`` (``None``: only check them) and record inf/NaN."""
        if grads:
            self._move_to(grads[0].device)
        if inv_scale is None:
            inv_scale = torch.ones((), dtype=torch.float32, device=self._scale.device)
        found = self._found()
        groups: dict[tuple[torch.device, torch.dtype], list[Tensor]] = defaultdict(list)
        for grad in grads:
            values = _values(grad)
            groups[(values.device, values.dtype)].append(values)
        for (device, _), group in groups.items():
            found_here = torch.zeros((), dtype=torch.float32, device=device)
            torch._amp_foreach_non_finite_check_and_unscale_(group, found_here, inv_scale.to(device))
            found.add_(found_here.to(found.device))

    def __repr__(self) -> str:
        return f"LossScaler(scale={self.get_scale()}, enabled={self._enabled})"


def check_scaler_state(state_dict: Any) -> None:
    """Raise ``ValueError`` unless ``state_dict`` has GradScaler's state keys.

    Example:
        >>> check_scaler_state({"scale": 2.0})
        Traceback (most recent call last):
        ...
        ValueError: The loss_scaler state misses ['growth_factor', ...
    """
    if not isinstance(state_dict, dict):
        raise TypeError(f"The loss_scaler state must be a dict, got {type(state_dict).__name__}.")
    missing = [key for key in _STATE_KEYS if key not in state_dict]
    if missing:
        raise ValueError(f"The loss_scaler state misses {missing}. Pass the 'loss_scaler' entry of state_dict().")
    values = {key: _as_python(state_dict[key]) for key in _STATE_KEYS}
    try:
        check_loss_scaling_args(
            values["scale"], values["growth_factor"], values["backoff_factor"], values["growth_interval"]
        )
        for name in ("scale", "growth_factor"):
            check_finite(name, values[name])
        _check_float32("scale", values["scale"])
        tracker = values["_growth_tracker"]
        if isinstance(tracker, bool) or not isinstance(tracker, int) or tracker < 0:
            raise ValueError(f"Invalid _growth_tracker: {tracker!r}. It must be an integer >= 0.")
    except (TypeError, ValueError) as error:
        raise type(error)(f"Invalid loss_scaler state: {error}") from None


def _as_python(value: Any) -> Any:
    """A one-element tensor as its Python number (GradScaler states may hold tensors); other values as given."""
    if isinstance(value, Tensor) and value.numel() == 1:
        return value.item()
    return value


def _check_float32(name: str, value: float) -> None:
    if not float(value) <= torch.finfo(torch.float32).max or not torch.tensor(float(value)).item() > 0:
        raise ValueError(
            f"Invalid {name}: {value!r}. The scale is kept in float32, so it must be in "
            f"(0, {torch.finfo(torch.float32).max:.3g}] and not round to 0."
        )


def _values(grad: Tensor) -> Tensor:
    """The dense values of a gradient (the stored values of a sparse one; the real view of a complex one)."""
    if grad.is_sparse:
        grad = grad._values()
    return torch.view_as_real(grad) if grad.is_complex() else grad


def _grads(optimizer: torch.optim.Optimizer) -> list[Tensor]:
    grads = []
    for group in optimizer.param_groups:
        for p in group.get("params", ()):
            if p.grad is None:
                continue
            if p.grad.is_sparse and p.grad.dtype == torch.float16:
                # As GradScaler: coalesce first, so duplicate indices that overflow when summed are caught.
                p.grad = p.grad.coalesce()
            grads.append(p.grad)
    return grads
