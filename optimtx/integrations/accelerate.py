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

__all__ = ["OptimtxAcceleratedOptimizer", "prepare"]


class OptimtxAcceleratedOptimizer(AcceleratedOptimizer):
    """Accelerate's optimizer wrapper whose ``step_was_skipped`` also counts the optimtx chain's own skips.

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

    _optimtx_applied: Any = None

    def step(self, closure: Any = None) -> None:
        before = _chain_states(self.optimizer)
        self._optimtx_applied = None
        super().step(closure)
        after = _chain_states(self.optimizer)
        if before is not None and after is not None and any(a is not b for a, b in zip(after, before, strict=True)):
            self._optimtx_applied = step_info(after, previous=before).applied

    @property
    def step_was_skipped(self) -> bool:
        """Whether the last step was skipped, by Accelerate's GradScaler or by the optimtx chain."""
        skipped_by_chain = self._optimtx_applied is not None and not bool(self._optimtx_applied)
        return bool(self._is_overflow) or skipped_by_chain


def _chain_states(optimizer: Any) -> tuple[Any, ...] | None:
    """The transform states of a `TransformOptimizer` (shared prefix first), or None for other optimizers."""
    if not isinstance(optimizer, TransformOptimizer):
        return None
    return (optimizer._shared_state, *optimizer.transform_states)


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
        if isinstance(obj, AcceleratedOptimizer) and isinstance(obj.optimizer, TransformOptimizer):
            obj.__class__ = OptimtxAcceleratedOptimizer  # same object, same state; one property more
        if i in wrappers:
            wrappers[i].optimizer = obj
            obj = wrappers[i]
        out.append(obj)
    return tuple(out)
