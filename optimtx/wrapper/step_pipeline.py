"""The facade's step pipeline additions: item-count accumulation, spike skipping and step telemetry.

[`OptimWrapper`][optimtx.OptimWrapper] and [`AmpOptimWrapper`][optimtx.AmpOptimWrapper] call these helpers; they hold
the
logic so the wrappers only wire it in. Nothing here reads a device value back to the
host, except where a non-fused optimizer must be told to skip a step (documented in
docs/training_loop.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor

from optimtx.transforms.accumulate import check_num_items
from optimtx.transforms.spike import SpikeWindow, init_spike_window, spike_decision
from optimtx.wrapper.fast_step import supports_fused_amp_step
from optimtx.wrapper.step_info import StepInfo, make_step_info

__all__ = [
    "ItemWindow",
    "SpikeGuard",
    "build_step_info",
    "check_count_status",
    "divide_grads_",
    "group_lrs",
    "item_divisor",
    "optimizer_step",
    "param_device",
]


class ItemWindow:
    """The item count of the current accumulation window and whether the window uses ``num_items``.

    Example:
        >>> window = ItemWindow()
        >>> window.add(window.check(3)); window.add(window.check(torch.tensor(2)))
        >>> window.take(torch.device("cpu"))
        tensor(5.)
        >>> window.take(torch.device("cpu")) is None  # a window without num_items
        True
    """

    def __init__(self) -> None:
        self.items: Tensor | None = None
        self.uses_items: bool | None = None  # None: no backward in this window yet

    def check(self, num_items: Any) -> Tensor | None:
        """``num_items`` checked (as a tensor), or ``None``; raises if the window mixes both kinds."""
        wants = num_items is not None
        if self.uses_items is not None and self.uses_items != wants:
            have = "with" if self.uses_items else "without"
            raise ValueError(
                f"This accumulation window was started by backward {have} num_items, but got num_items={num_items!r}. "
                "Pass num_items on every micro-batch of a window, or on none."
            )
        return check_num_items(num_items) if wants else None

    def add(self, items: Tensor | None) -> None:
        """Record one micro-batch (after its backward succeeded)."""
        self.uses_items = items is not None
        if items is not None:
            self.items = items if self.items is None else self.items + items.to(self.items.device)

    def reset(self) -> None:
        """Forget the window (its gradients were zeroed)."""
        self.items, self.uses_items = None, None

    def take(self, device: torch.device) -> Tensor | None:
        """The window's divisor (see `item_divisor`), or ``None`` without ``num_items``; starts a new window."""
        items, self.items, self.uses_items = self.items, None, None
        return None if items is None else item_divisor(items.to(device, torch.float32))


def item_divisor(local_items: Tensor) -> Tensor:
    """What the window's (possibly DDP-averaged) gradients are divided by: ``total_items / world_size``.

    Outside ``torch.distributed`` (or with one process) that is the local item count. With an
    initialized process group of ``world_size > 1`` the counts of all ranks are summed by one
    all-reduce of a single number; DDP averages gradients over ranks, so dividing the
    averaged gradient by ``total / world_size`` gives the sum over all items divided by
    their total. A count of 0 is treated as 1 (the gradient of no items stays zero).

    Example:
        >>> item_divisor(torch.tensor(6.0))
        tensor(6.)
    """
    total = local_items.clone()
    world = 1
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        world = torch.distributed.get_world_size()
        if world > 1:
            backend = torch.distributed.get_backend()
            on = total if backend != "gloo" else total.cpu()
            torch.distributed.all_reduce(on)
            total = on.to(local_items.device)
    return total.clamp_min(1.0) / world


class SpikeGuard:
    """The facade's ``skip_spikes``: a `SpikeWindow` kept on the device.

    Example:
        >>> guard = SpikeGuard(threshold=2.0, window=1)
        >>> guard.decide(torch.tensor(1.0)), guard.decide(torch.tensor(9.0))
        (tensor(False), tensor(True))
    """

    def __init__(self, threshold: float, window: int) -> None:
        self.threshold = threshold
        self.window = window
        self.record: SpikeWindow | None = None

    def decide(self, norm: Tensor) -> Tensor:
        """Whether the step of pre-clip norm ``norm`` is skipped (bool 0-d); updates the record."""
        if self.record is None or self.record.norms.device != norm.device:
            self.record = init_spike_window(self.window, norm.device)
        skip, self.record = spike_decision(self.record, norm, self.threshold)
        return skip

    def state_dict(self) -> dict[str, Any]:
        """The record as a dict of tensors (empty before the first step)."""
        return {} if self.record is None else {k: v.clone() for k, v in self.record._asdict().items()}

    def check_state(self, state: Any) -> SpikeWindow | None:
        """The `SpikeWindow` in ``state`` (from `state_dict`), checked; raises before any change."""
        if not isinstance(state, Mapping):
            raise TypeError(f"The skip_spikes state must be a dict from state_dict(), got {type(state).__name__}.")
        if not state:
            return None
        if set(state) != set(SpikeWindow._fields) or not all(isinstance(v, Tensor) for v in state.values()):
            raise ValueError(
                f"The skip_spikes state must have the tensors {list(SpikeWindow._fields)}, got {list(state)}."
            )
        if tuple(state["norms"].shape) != (self.window,):
            raise ValueError(
                f"The skip_spikes state holds a window of {tuple(state['norms'].shape)} norms, "
                f"but this wrapper's window is {self.window}."
            )
        return SpikeWindow(**{k: v.clone() for k, v in state.items()})

    def load_checked(self, record: SpikeWindow | None) -> None:
        """Install a record returned by `check_state`."""
        self.record = record


def optimizer_step(
    optimizer: torch.optim.Optimizer, kwargs: dict[str, Any], grad_scale: Tensor | None, skip: Tensor | None
) -> None:
    """``optimizer.step(**kwargs)``, dividing the gradients by ``grad_scale`` and skipping where ``skip`` holds.

    Fused torch optimizers take both as tensors (no sync). Others get ``grad_scale``
    applied to the gradients first, and ``skip`` is read on the host (one sync).
    """
    if grad_scale is None and skip is None:
        optimizer.step(**kwargs)
        return
    if supports_fused_amp_step(optimizer):
        optimizer.grad_scale = grad_scale  # type: ignore[attr-defined]
        optimizer.found_inf = None if skip is None else skip.float()  # type: ignore[attr-defined]
        try:
            optimizer.step(**kwargs)
        finally:
            del optimizer.grad_scale  # type: ignore[attr-defined]
            del optimizer.found_inf  # type: ignore[attr-defined]
        return
    if grad_scale is not None:
        divide_grads_(optimizer, grad_scale)
    if skip is None or not bool(skip.item()):  # one host read: this optimizer cannot skip by itself
        optimizer.step(**kwargs)


def divide_grads_(optimizer: torch.optim.Optimizer, divisor: Tensor) -> None:
    """Divide every gradient of ``optimizer`` by the 0-d ``divisor`` in place (one batched pass per device)."""
    grads = [p.grad for g in optimizer.param_groups for p in g.get("params", ()) if p.grad is not None]
    for device in {g.device for g in grads}:
        on_device = [g for g in grads if g.device == device]
        torch._foreach_mul_(on_device, divisor.reciprocal().to(device))


def group_lrs(optimizer: torch.optim.Optimizer) -> tuple[Any, ...]:
    """Each group's ``lr``: a float, or a detached copy where the group keeps a tensor.

    Example:
        >>> group_lrs(torch.optim.SGD([torch.nn.Parameter(torch.ones(1))], lr=0.1))
        (0.1,)
    """
    lrs: list[Any] = []
    for group in optimizer.param_groups:
        lr = group.get("lr", float("nan"))
        lrs.append(lr.detach().clone() if isinstance(lr, Tensor) else float(lr))
    return tuple(lrs)


def param_device(optimizer: torch.optim.Optimizer) -> torch.device:
    """The device of the optimizer's first parameter (CPU when it has none)."""
    for group in optimizer.param_groups:
        for p in group.get("params", ()):
            if isinstance(p, Tensor):
                return p.device
    return torch.device("cpu")


def build_step_info(
    optimizer: torch.optim.Optimizer,
    lrs: tuple[Any, ...],
    grad_norm: Tensor | None,
    found_inf: Tensor | None,
    skip: Tensor | None,
    loss_scale: Tensor | float,
) -> StepInfo:
    """The facade's [`StepInfo`][optimtx.StepInfo] for one step: applied unless an overflow or a spike skipped it."""
    device = param_device(optimizer)
    found = None if found_inf is None else found_inf.to(device) > 0
    applied = None
    if skip is not None or found is not None:
        bad = torch.zeros((), dtype=torch.bool, device=device)
        if found is not None:
            bad = bad | found
        if skip is not None:
            bad = bad | skip.to(device)
        applied = ~bad
    return make_step_info(device, applied, grad_norm, found, loss_scale, lrs)


def check_count_status(init_counts: Any, max_counts: Any) -> tuple[int, Any]:
    """Return the counts of ``initialize_count_status`` if they are integers with ``0 <= init <= max``.

    ``max_counts=None`` checks ``init_counts`` alone.

    Example:
        >>> check_count_status(3, 10)
        (3, 10)
        >>> check_count_status("3", 10)
        Traceback (most recent call last):
        ...
        TypeError: init_counts must be an integer >= 0, got '3'.
    """
    for name, value in (("init_counts", init_counts), ("max_counts", max_counts)):
        if value is None and name == "max_counts":
            continue
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{name} must be an integer >= 0, got {value!r}.")
        if value < 0:
            raise ValueError(f"Invalid {name}: {value!r}. It must be an integer >= 0.")
    if max_counts is not None and init_counts > max_counts:
        raise ValueError(
            f"init_counts ({init_counts!r}) is larger than max_counts ({max_counts!r}); pass the number of "
            "iterations done so far and the total number of iterations."
        )
    return init_counts, max_counts
