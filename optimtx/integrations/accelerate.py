"""Use optimtx with Hugging Face Accelerate: ``prepare`` that lets Accelerate see optimtx's skipped steps.

``accelerator.prepare(TransformOptimizer(...))`` works as it is: Accelerate places the state,
skips the step on accumulation micro-batches (``accelerator.accumulate``), and
``accelerator.clip_grad_norm_`` clips before it. What it cannot see is a step that optimtx itself
skipped: a chain with ``scale_by_amp``, ``apply_if_finite`` or ``skip_if_spike`` leaves the
parameters alone on an overflow, but Accelerate's ``step_was_skipped`` only knows its own
GradScaler, so the learning-rate scheduler would advance anyway.

[`prepare`][optimtx.integrations.accelerate.prepare] is ``accelerator.prepare`` plus that: every
prepared optimizer that runs an optimtx chain reports the chain's skips through
``step_was_skipped`` (so ``accelerator.optimizer_step_was_skipped`` and the prepared schedulers
follow them), and an optimtx ``OptimWrapper`` passed in has its optimizer prepared in place.

Example:
    >>> from accelerate import Accelerator  # doctest: +SKIP
    >>> from optimtx.integrations.accelerate import prepare  # doctest: +SKIP
    >>> model, optimizer, scheduler = prepare(Accelerator(), model, optimizer, scheduler)  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

try:
    from accelerate import Accelerator
    from accelerate.optimizer import AcceleratedOptimizer
except ImportError as error:  # pragma: no cover - exercised only without accelerate
    raise ImportError("optimtx.integrations.accelerate needs Accelerate: pip install 'optimtx[accelerate]'.") from error

from optimtx.wrapper.optim_wrapper import OptimWrapper
from optimtx.wrapper.step_info import step_info
from optimtx.wrapper.torch_optimizer import TransformOptimizer

__all__ = ["OptimtxAcceleratedOptimizer", "prepare", "report_chain_skips"]


class OptimtxAcceleratedOptimizer(AcceleratedOptimizer):
    """Accelerate's optimizer wrapper whose ``step_was_skipped`` also counts the optimtx chain's own skips.

    The chain's states are compared with those seen at the previous query (states are replaced, never
    modified, so a step shows as new objects); ``step`` itself is left alone, because torch's
    schedulers wrap the ``step`` they find when they are created.

    Example:
        >>> import torch, optimtx as otx
        >>> from accelerate import Accelerator
        >>> w = torch.nn.Parameter(torch.ones(2))
        >>> opt = otx.TransformOptimizer([w], otx.apply_if_finite(otx.sgd(0.1)))
        >>> (prepared,) = prepare(Accelerator(cpu=True), opt)
        >>> w.grad = torch.tensor([1.0, float("inf")])
        >>> prepared.step()
        >>> prepared.step_was_skipped, w.detach()
        (True, tensor([1., 1.]))
    """

    _optimtx_seen: Any = None
    _optimtx_skipped: bool = False

    @property
    def step_was_skipped(self) -> bool:
        """Whether the last step was skipped, by Accelerate's GradScaler or by the optimtx chain."""
        now = _chain_states(self.optimizer)
        seen = self._optimtx_seen
        if now is not None and seen is not None and any(a is not b for a, b in zip(now, seen, strict=True)):
            self._optimtx_skipped = not bool(step_info(now, previous=seen).applied)
        self._optimtx_seen = now
        return bool(self._is_overflow) or self._optimtx_skipped


def _chain_states(optimizer: Any) -> tuple[Any, ...] | None:
    """The transform states of a `TransformOptimizer` (shared prefix first), or None for other optimizers."""
    if not isinstance(optimizer, TransformOptimizer):
        return None
    return (optimizer._shared_state, *optimizer.transform_states)


def report_chain_skips(prepared: Any) -> Any:
    """Make an optimizer Accelerate prepared report its optimtx chain's skips (same object; idempotent).

    Returns ``prepared``. Anything but an ``AcceleratedOptimizer`` around a `TransformOptimizer` is
    returned unchanged.
    """
    upgradable = isinstance(prepared, AcceleratedOptimizer) and not isinstance(prepared, OptimtxAcceleratedOptimizer)
    if upgradable and isinstance(prepared.optimizer, TransformOptimizer):
        prepared.__class__ = OptimtxAcceleratedOptimizer  # same object, same state; one property more
        prepared._optimtx_seen = _chain_states(prepared.optimizer)
    return prepared


def prepare(accelerator: Accelerator, *objects: Any, **kwargs: Any) -> tuple[Any, ...]:
    """``accelerator.prepare(*objects)``, with optimtx's skips visible to Accelerate.

    Args:
        accelerator: the ``Accelerator``.
        *objects: models, optimizers, schedulers, data loaders, as for ``accelerator.prepare``; an
            optimtx ``OptimWrapper`` is returned as it is, with its ``optimizer`` prepared in place.
        **kwargs: passed to ``accelerator.prepare`` (``device_placement``).

    Returns:
        The prepared objects, in order (a tuple even for one object).
    """
    wrappers = {i: obj for i, obj in enumerate(objects) if isinstance(obj, OptimWrapper)}
    unwrapped = [obj.optimizer if i in wrappers else obj for i, obj in enumerate(objects)]
    prepared = accelerator.prepare(*unwrapped, **kwargs)
    prepared = prepared if isinstance(prepared, tuple) else (prepared,)
    out = []
    for i, obj in enumerate(prepared):
        report_chain_skips(obj)
        if i in wrappers:
            wrappers[i].optimizer = obj
            obj = wrappers[i]
        out.append(obj)
    return tuple(out)
