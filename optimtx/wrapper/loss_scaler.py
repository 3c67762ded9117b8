"""Dynamic and static loss scaling for the AMP facade, step for step like ``torch.amp.GradScaler``.

``LossScaler`` has GradScaler's method names (``scale``, ``unscale_``, ``step``, ``update``,
``get_scale``, ``state_dict``) and the same numbers. The scale update is the pure
:func:`optimtx.transforms.amp.next_scale`; unscaling runs GradScaler's in-place
unscale-and-check kernel on the ``.grad`` buffers the facade owns, which gives the same
numbers as the pure :func:`optimtx.transforms.amp.unscale_grads` (tested) without copies. What differs: it works on any device, accepts
Python ints, and keeps the "was this step skipped" flag as a tensor until someone asks.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import torch
from torch import Tensor

from optimtx.transforms.amp import check_loss_scaling_args, next_scale
from optimtx.validation import check_bool

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
        check_loss_scaling_args(init_scale, growth_factor, backoff_factor, growth_interval)
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
        if not self._enabled:
            return loss
        self._move_to(loss.device)
        return loss * self._scale.to(loss.device)

    def unscale_(self, optimizer: torch.optim.Optimizer, divisor: Tensor | None = None) -> None:
        """Divide the optimizer's gradients by the scale in place and record non-finite values.

        ``divisor`` (a 0-d tensor, e.g. a window's item count) divides them too, in the same pass.

        Called at most once per step (later calls until :meth:`update` do nothing), like
        ``GradScaler.unscale_`` before clipping.
        """
        if not self._enabled or self._unscaled:
            return
        inv_scale = self._scale.double().reciprocal().float()
        if divisor is not None:
            inv_scale = inv_scale / divisor.to(inv_scale.device, torch.float32)
        self._check_and_unscale(_grads(optimizer), inv_scale)
        self._unscaled = True

    def step(self, optimizer: torch.optim.Optimizer, **kwargs: Any) -> Any:
        """``optimizer.step(**kwargs)`` unless the gradients hold inf or NaN.

        Optimizers with ``_step_supports_amp_scaling`` (torch's fused ones) receive the scale
        and the overflow flag and skip by themselves, with no host sync. For the others the
        overflow flag is read once on the host, as ``GradScaler`` does.
        """
        if not self._enabled:
            return optimizer.step(**kwargs)
        if getattr(optimizer, "_step_supports_amp_scaling", False):
            return self._fused_step(optimizer, kwargs)
        self.unscale_(optimizer)
        if self._found().item():
            return None
        return optimizer.step(**kwargs)

    def _fused_step(self, optimizer: torch.optim.Optimizer, kwargs: dict[str, Any]) -> Any:
        if not self._unscaled:
            self._check_and_unscale(_grads(optimizer), torch.ones((), dtype=torch.float32))
        optimizer.grad_scale = None if self._unscaled else self._scale
        optimizer.found_inf = self._found()
        try:
            return optimizer.step(**kwargs)
        finally:
            del optimizer.grad_scale
            del optimizer.found_inf

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
        """Record the overflow flag of a step taken outside :meth:`step`; :meth:`update` reads it.

        Example:
            >>> scaler = LossScaler(init_scale=8.0)
            >>> scaler.record_found_inf(torch.tensor(1.0))
            >>> scaler.update(); scaler.get_scale()
            4.0
        """
        self._found_inf = found_inf.to(self._scale.device, torch.float32)

    @property
    def last_found_inf(self) -> Tensor | None:
        """The overflow flag (float32 0-d, 1.0 = overflow) of the step closed by the last :meth:`update`.

        Example:
            >>> LossScaler().last_found_inf is None
            True
        """
        return self._last_found_inf

    def step_was_skipped(self) -> bool:
        """Whether the last step (up to the last :meth:`update`) was skipped. Reads one value from the device."""
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
        """Load a state from :meth:`state_dict` or ``GradScaler.state_dict()`` (ignored when disabled)."""
        check_scaler_state(state_dict)
        if not self._enabled:
            return
        self._scale.fill_(float(state_dict["scale"]))
        self._growth_tracker.fill_(int(state_dict["_growth_tracker"]))
        self.growth_factor = float(state_dict["growth_factor"])
        self.backoff_factor = float(state_dict["backoff_factor"])
        self.growth_interval = int(state_dict["growth_interval"])

    def _move_to(self, device: torch.device) -> None:
        if self._scale.device != device:
            self._scale = self._scale.to(device)
            self._growth_tracker = self._growth_tracker.to(device)

    def _found(self) -> Tensor:
        if self._found_inf is None:
            self._found_inf = torch.zeros((), dtype=torch.float32, device=self._scale.device)
        return self._found_inf

    def _check_and_unscale(self, grads: list[Tensor], inv_scale: Tensor) -> None:
        found = self._found()
        groups: dict[tuple[torch.device, torch.dtype], list[Tensor]] = defaultdict(list)
        for grad in grads:
            groups[(grad.device, grad.dtype)].append(grad)
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


def _grads(optimizer: torch.optim.Optimizer) -> list[Tensor]:
    return [p.grad for group in optimizer.param_groups for p in group.get("params", ()) if p.grad is not None]
