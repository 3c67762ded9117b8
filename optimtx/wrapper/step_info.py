"""What the last optimizer step did, as device values: applied or skipped, gradient norm, loss scale, lrs.

The facade fills a [`StepInfo`][optimtx.StepInfo] after every real optimizer step
(``OptimWrapper.last_step``); [`step_info`][optimtx.step_info] reads the same fields from the state of
any pure transform chain. Nothing here reads a value back to the host.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
from torch import Tensor

from optimtx.core.state_tree import iter_nodes
from optimtx.transforms.accumulate import AccumulateState
from optimtx.transforms.amp import ScaleByAmpState
from optimtx.transforms.clipping import ClipByGlobalNormState
from optimtx.transforms.finite import ApplyIfFiniteState
from optimtx.transforms.hyperparams import InjectHyperparamsState
from optimtx.transforms.spike import SkipIfSpikeState

__all__ = ["StepInfo", "make_step_info", "step_info"]

_LR_NAMES = ("learning_rate", "lr")


class StepInfo(NamedTuple):
    """Telemetry of one optimizer step; every field but ``lrs`` is a 0-d tensor on the parameters' device.

    Attributes:
        applied: bool; False when the step was skipped (overflow, spike, or an accumulation micro-step).
        grad_norm: float32; the total gradient norm before clipping (unscaled, divided by the item
            count when ``num_items`` is used). NaN when no norm was computed (no norm clipping configured).
        found_inf: bool; whether the gradients held inf/NaN (the loss-scaler overflow flag).
        loss_scale: float32; the loss scale the step's gradients carried (1.0 without loss scaling).
        lrs: the learning rate of each parameter group used by the step: Python floats where the optimizer
            keeps floats, 0-d tensors (copies) where it keeps tensors.
    """

    applied: Tensor
    grad_norm: Tensor
    found_inf: Tensor
    loss_scale: Tensor
    lrs: tuple[Any, ...]


def make_step_info(
    device: torch.device,
    applied: Tensor | None = None,
    grad_norm: Tensor | None = None,
    found_inf: Tensor | None = None,
    loss_scale: Tensor | float = 1.0,
    lrs: tuple[Any, ...] = (),
) -> StepInfo:
    """A [`StepInfo`][optimtx.StepInfo] on ``device``, filling missing parts with the documented defaults.

    Defaults: ``found_inf=False``, ``applied=not found_inf``, ``grad_norm=NaN``, ``loss_scale=1.0``.

    Example:
        >>> make_step_info(torch.device("cpu"), grad_norm=torch.tensor(2.0))
        StepInfo(applied=tensor(True), grad_norm=tensor(2.), found_inf=tensor(False), loss_scale=tensor(1.), lrs=())
    """
    found = torch.zeros((), dtype=torch.bool, device=device) if found_inf is None else found_inf.to(device, torch.bool)
    ok = ~found if applied is None else applied.to(device, torch.bool)
    norm = (
        torch.full((), float("nan"), dtype=torch.float32, device=device)
        if grad_norm is None
        else grad_norm.detach().to(device, torch.float32)
    )
    scale = torch.as_tensor(loss_scale, dtype=torch.float32).detach().to(device)
    return StepInfo(ok, norm, found, scale, tuple(lrs))


def step_info(state: Any, previous: Any = None) -> StepInfo:
    """Read the last step's telemetry from the state of any chain (pure path).

    Looks for the states of ``clip_by_global_norm`` (pre-clip norm), ``scale_by_amp`` (loss
    scale; overflows), ``apply_if_finite`` and ``skip_if_spike`` (skips), ``accumulate``
    (micro-steps) and ``inject_hyperparams`` (lrs: one ``learning_rate``/``lr`` tensor per
    injected transform), wherever they sit; the first one found counts.

    ``scale_by_amp`` keeps no per-step overflow flag, only a counter: pass the state from
    before the update as ``previous`` and the counters' changes decide ``found_inf`` and
    ``applied`` exactly. Without ``previous``, ``found_inf``/``applied`` come from the
    flags that ``apply_if_finite`` and ``skip_if_spike`` keep, and a ``scale_by_amp``
    skip is not seen. Missing parts give the defaults of `make_step_info`;
    ``loss_scale`` is the scale for the *next* loss (the pure state holds no other).

    Example:
        >>> import optimtx as otx
        >>> tx = otx.chain(otx.clip_by_global_norm(1.0), otx.inject_hyperparams(otx.sgd)(lr=0.1))
        >>> params = {"w": torch.zeros(2)}
        >>> state = tx.init(params)
        >>> _, new = tx.update({"w": torch.tensor([3.0, 4.0])}, state, params)
        >>> info = step_info(new, previous=state)
        >>> info.applied, info.grad_norm, info.found_inf, info.loss_scale, info.lrs
        (tensor(True), tensor(5.), tensor(False), tensor(1.), (tensor(0.1000),))
    """
    nodes = list(iter_nodes(state))
    before = list(iter_nodes(previous)) if previous is not None else None
    device = _device_of(nodes)
    clip = _first(nodes, ClipByGlobalNormState)
    spike = _first(nodes, SkipIfSpikeState)
    grad_norm = clip.norm if clip is not None else (spike.record.last_norm if spike is not None else None)
    found, skipped = _skips(nodes, before, device)
    amp = _first(nodes, ScaleByAmpState)
    lrs = tuple(
        node.hyperparams[name]
        for node in nodes
        if isinstance(node, InjectHyperparamsState)
        for name in _LR_NAMES
        if name in node.hyperparams
    )
    return make_step_info(
        device,
        applied=~(found | skipped),
        grad_norm=grad_norm,
        found_inf=found,
        loss_scale=amp.scale if amp is not None else 1.0,
        lrs=lrs,
    )


def _skips(nodes: list[Any], before: list[Any] | None, device: torch.device) -> tuple[Tensor, Tensor]:
    """(found_inf, other skip) as bool 0-d tensors."""
    false = torch.zeros((), dtype=torch.bool, device=device)
    found, skipped = false, false
    finite = _first(nodes, ApplyIfFiniteState)
    if finite is not None:
        found = found | ~finite.last_finite.to(device)
    spike = _first(nodes, SkipIfSpikeState)
    if spike is not None:
        skipped = skipped | ~spike.record.last_applied.to(device)
    acc = _first(nodes, AccumulateState)
    if before is None:
        if acc is not None:
            skipped = skipped | (acc.mini_step.to(device) != 0)
        return found, skipped
    amp, amp_before = _first(nodes, ScaleByAmpState), _first(before, ScaleByAmpState)
    if amp is not None and amp_before is not None:
        found = found | (amp.skipped_steps != amp_before.skipped_steps).to(device)
    acc_before = _first(before, AccumulateState)
    if acc is not None and acc_before is not None:
        skipped = skipped | (acc.gradient_step == acc_before.gradient_step).to(device)
    return found, skipped


def _first(nodes: list[Any], kind: type) -> Any:
    return next((n for n in nodes if isinstance(n, kind)), None)


def _device_of(nodes: list[Any]) -> torch.device:
    tensor = next((n for n in nodes if isinstance(n, Tensor)), None)
    return tensor.device if tensor is not None else torch.device("cpu")
