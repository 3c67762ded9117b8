"""``OptimWrapper``: a torch optimizer plus accumulation, clipping and MMEngine's method names.

Behaviour follows MMEngine's ``OptimWrapper`` method by method, with these deliberate
differences: bad arguments raise ``ValueError``/``TypeError`` naming the value (not
``AssertionError``); the caller's ``clip_grad`` and state dicts are never modified; unknown or
missing ``clip_grad`` keys raise at construction; the last accumulation window never gets a
loss factor of 0; a ``load_state_dict`` that does not fit raises and changes nothing; the
pre-clip gradient norm stays a tensor (``last_grad_norm``) instead of being logged, so no
host sync is forced.
"""

from __future__ import annotations

import copy
import logging
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, nullcontext
from typing import Any

import torch
from torch import Tensor, nn

from optimtx.core.logging import print_log
from optimtx.core.validation import check_positive_int
from optimtx.core.warnings import (
    AccumulationBatchNormWarning,
    AccumulationResumeWarning,
    AccumulationSyncWarning,
    warn_user,
)
from optimtx.wrapper.fast_step import supports_fused_amp_step
from optimtx.wrapper.grad_clipping import ClipConfig, clip_grads_, parse_clip_grad
from optimtx.wrapper.porting import is_per_parameter_state, regroup_per_parameter_state
from optimtx.wrapper.step_info import StepInfo
from optimtx.wrapper.step_pipeline import (
    ItemWindow,
    SpikeGuard,
    build_step_info,
    check_count_status,
    divide_grads_,
    group_lrs,
    optimizer_step,
    param_device,
)
from optimtx.wrapper.wrapped_optimizer import (
    base_param_settings,
    check_optimizer,
    check_optimizer_state_fits,
    copy_containers,
    group_momentum,
    keep_scheduler_bookkeeping,
    load_optimizer_state,
    trainable_params,
)

__all__ = ["OptimWrapper"]


class OptimWrapper:
    """Run backward, clipping, ``optimizer.step`` and ``zero_grad`` in MMEngine's order.

    Args:
        optimizer: a ``torch.optim.Optimizer`` (or anything with its interface).
        accumulative_counts: number of ``update_params`` calls whose gradients are summed
            before one optimizer step (the loss is divided by it).
        clip_grad: ``None``, ``dict(max_norm=..., norm_type=2, error_if_nonfinite=False)``
            (clip by total norm) or ``dict(type='value', clip_value=...)``. Norm clipping also
            takes ``skip_spikes=dict(threshold=..., window=...)``: skip a step whose pre-clip
            norm exceeds ``threshold`` times the mean of the last ``window`` applied norms
            (see [`optimtx.skip_if_spike`][optimtx.skip_if_spike] and docs/training_loop.md).

    Attributes:
        last_step: a [`StepInfo`][optimtx.StepInfo] of device tensors describing the last real
            optimizer step (``None`` before the first one; accumulation micro-steps leave it).

    Example:
        >>> model = torch.nn.Linear(1, 1)
        >>> wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1), accumulative_counts=2)
        >>> for _ in range(2):
        ...     wrapper.update_params(model(torch.ones(1, 1)).sum())
        >>> wrapper.inner_count, wrapper.get_lr()
        (2, {'lr': [0.1]})
    """

    def __init__(
        self,
        optimizer: torch.optim.Optimizer,
        accumulative_counts: int = 1,
        clip_grad: Mapping[str, Any] | None = None,
    ) -> None:
        check_optimizer(optimizer)
        self.optimizer = optimizer
        self._accumulative_counts = check_positive_int("accumulative_counts", accumulative_counts)
        self._clip: ClipConfig | None = parse_clip_grad(clip_grad)
        self.clip_grad_kwargs: dict[str, Any] | None = None if self._clip is None else dict(self._clip.kwargs)
        if self._clip is not None:
            self.grad_name = "grad_norm" if self._clip.kind == "norm" else "grad_value"
        self.last_grad_norm: Tensor | None = None
        self._inner_count = 0
        self._max_counts = -1
        self._remainder_counts = -1
        self.base_param_settings = base_param_settings(optimizer)
        self._init_step_pipeline()

    def _init_step_pipeline(self) -> None:
        """Item counting, spike skipping and telemetry (docs/training_loop.md)."""
        self._items = ItemWindow()
        spikes = self._clip.skip_spikes if self._clip is not None else None
        self._spikes: SpikeGuard | None = None if spikes is None else SpikeGuard(*spikes)
        self.last_step: StepInfo | None = None

    # ----------------------------------------------------------------- training
    def update_params(
        self,
        loss: Tensor,
        step_kwargs: dict | None = None,
        zero_kwargs: dict | None = None,
        *,
        num_items: int | Tensor | None = None,
    ) -> None:
        """Backward the scaled loss; step and zero the gradients when a window is complete.

        Without ``num_items`` the loss is divided by the window length (MMEngine). With
        ``num_items`` the loss must be the *sum* over the micro-batch's ``num_items`` items;
        it is not divided, and at the step the window's gradient is divided by the window's
        total item count (summed over DDP ranks): the gradient of the big batch's mean loss.

        Example:
            >>> p = torch.nn.Parameter(torch.ones(1))
            >>> w = OptimWrapper(torch.optim.SGD([p], lr=0.5))
            >>> w.update_params((2 * p).sum())
            >>> p.data, p.grad
            (tensor([0.]), None)
        """
        step_kwargs = {} if step_kwargs is None else step_kwargs
        zero_kwargs = {} if zero_kwargs is None else zero_kwargs
        if num_items is None:
            self.backward(self.scale_loss(loss))
        else:
            self.scale_loss(loss)  # only checks that the loss is a scalar
            self.backward(loss, num_items=num_items)
        if self.should_update():
            self.step(**step_kwargs)
            self.zero_grad(**zero_kwargs)

    def backward(self, loss: Tensor, num_items: int | Tensor | None = None, **kwargs: Any) -> None:
        """``loss.backward(**kwargs)``, then count one more micro-step (and ``num_items`` items).

        ``num_items``: an int or a one-element tensor; see [`update_params`][optimtx.OptimWrapper.update_params]. A
        window
        must use it on every micro-batch or on none (``ValueError`` otherwise, before backward).

        Example:
            >>> p = torch.nn.Parameter(torch.ones(1))
            >>> w = OptimWrapper(torch.optim.SGD([p], lr=0.5))
            >>> w.backward((3 * p).sum()); p.grad, w.inner_count
            (tensor([3.]), 1)
        """
        self._warn_if_syncing_while_accumulating()
        items = self._items.check(num_items)
        loss.backward(**kwargs)
        self._inner_count += 1
        self._items.add(items)

    def step(self, **kwargs: Any) -> None:
        """Clip the gradients (if configured), then ``optimizer.step(**kwargs)``.

        Example:
            >>> p = torch.nn.Parameter(torch.zeros(2)); p.grad = torch.tensor([3.0, 4.0])
            >>> w = OptimWrapper(torch.optim.SGD([p], lr=1.0), clip_grad=dict(max_norm=1.0))
            >>> w.step(); p.data, w.last_grad_norm
            (tensor([-0.6000, -0.8000]), tensor(5.))
        """
        divisor = self._items.take(param_device(self.optimizer))
        lrs = group_lrs(self.optimizer)
        norm, grad_scale = None, None
        if self._clip is not None:
            norm = self._clip_grad(divisor)
        elif divisor is not None and supports_fused_amp_step(self.optimizer):
            grad_scale = divisor  # folded into the fused kernel
        elif divisor is not None:
            divide_grads_(self.optimizer, divisor)
        skip = self._spikes.decide(norm) if self._spikes is not None and norm is not None else None
        optimizer_step(self.optimizer, kwargs, grad_scale, skip)
        self.last_step = build_step_info(self.optimizer, lrs, norm, None, skip, 1.0)

    def zero_grad(self, **kwargs: Any) -> None:
        """``optimizer.zero_grad(**kwargs)``; also forgets the window's ``num_items`` count.

        Example:
            >>> p = torch.nn.Parameter(torch.zeros(1)); p.grad = torch.ones(1)
            >>> OptimWrapper(torch.optim.SGD([p], lr=1.0)).zero_grad(); p.grad is None
            True
        """
        self.optimizer.zero_grad(**kwargs)
        self._items.reset()  # the item count goes with the gradients it describes

    def _clip_grad(self, divisor: Tensor | None = None) -> Tensor | None:
        """Clip (dividing by ``divisor`` in the same pass); the pre-clip norm, or ``None``."""
        params = [p for p in trainable_params(self.optimizer) if p.grad is not None]
        sparse = [tuple(p.shape) for p in params if p.grad is not None and p.grad.is_sparse]
        if sparse:
            raise ValueError(
                f"clip_grad does not support sparse gradients (parameters of shapes {sparse}, e.g. from "
                "nn.Embedding(sparse=True)); nothing was changed. Use sparse=False or drop clip_grad."
            )
        grads = [p.grad for p in params if p.grad is not None]
        if not grads or self._clip is None:
            return None
        norm = clip_grads_(grads, self._clip, divisor)
        if norm is not None:
            self.last_grad_norm = norm
        return norm

    @contextmanager
    def optim_context(self, model: nn.Module) -> Iterator[None]:
        """Run the forward pass under this; it skips DDP's gradient sync on accumulation steps.

        Example:
            >>> model = torch.nn.Linear(1, 1)
            >>> w = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1))
            >>> with w.optim_context(model):
            ...     out = model(torch.ones(1, 1))
        """
        self._sync_model = model if hasattr(model, "no_sync") else None
        self._forward_in_context = True
        no_sync = getattr(model, "no_sync", None) if not self.should_sync() else None
        with no_sync() if callable(no_sync) else nullcontext():
            yield

    def _warn_if_syncing_while_accumulating(self) -> None:
        """Warn (once per wrapper) when a DDP model's micro-step ran its forward outside ``optim_context``.

        Cheap by design: two attributes, no look at the model. The model is known from
        ``optim_context`` or ``initialize_count_status``; a window-completing micro-step
        syncs anyway, so only the others are checked.
        """
        in_context = getattr(self, "_forward_in_context", False)
        self._forward_in_context = False
        if in_context or getattr(self, "_sync_model", None) is None or self.should_sync():
            return
        if getattr(self, "_warned_sync", False):
            return
        self._warned_sync = True
        warnings.warn(
            f"{type(self._sync_model).__name__} accumulates gradients (accumulative_counts="
            f"{self._accumulative_counts}) but this micro-step's forward pass ran outside "
            "optim_context(model), so its gradients were all-reduced although no update follows. "
            "Run the forward under `with optim_wrapper.optim_context(model):` to skip that sync.",
            AccumulationSyncWarning,
            stacklevel=3,
        )

    # ------------------------------------------------------------ accumulation
    def scale_loss(self, loss: Tensor) -> Tensor:
        """``loss`` divided by the length of the current accumulation window.

        Example:
            >>> w = OptimWrapper(torch.optim.SGD([torch.nn.Parameter(torch.ones(1))], lr=0.1), accumulative_counts=4)
            >>> w.scale_loss(torch.tensor(2.0))
            tensor(0.5000)
        """
        if not isinstance(loss, Tensor):
            raise TypeError(f"The loss must be a scalar tensor that requires grad, got {loss!r}.")
        if loss.numel() != 1:
            raise ValueError(
                f"The loss must be a scalar (one element), got a tensor of shape {tuple(loss.shape)}. "
                "Reduce it first, e.g. loss.mean() or loss.sum()."
            )
        return loss / self._loss_factor()

    def _loss_factor(self) -> int:
        acc = self._accumulative_counts
        if acc == 1 or self._max_counts == -1:
            return acc
        if self._inner_count < self._max_counts - self._remainder_counts:
            return acc
        # MMEngine would divide by 0 here once max_counts is passed with no remainder.
        return self._remainder_counts if self._remainder_counts > 0 else acc

    def should_update(self) -> bool:
        """True when the last ``backward`` completed an accumulation window (call it after backward).

        Example:
            >>> w = OptimWrapper(torch.optim.SGD([torch.nn.Parameter(torch.ones(1))], lr=0.1))
            >>> w.should_update()
            True
        """
        return self._inner_count % self._accumulative_counts == 0 or self._inner_count == self._max_counts

    def should_sync(self) -> bool:
        """True when the next ``backward`` completes a window, so gradients must be all-reduced.

        Example:
            >>> w = OptimWrapper(torch.optim.SGD([torch.nn.Parameter(torch.ones(1))], lr=0.1), accumulative_counts=2)
            >>> w.should_sync()
            False
        """
        upcoming = self._inner_count + 1
        return upcoming % self._accumulative_counts == 0 or upcoming == self._max_counts

    def initialize_count_status(self, model: nn.Module, init_counts: int, max_counts: int) -> None:
        """Set the micro-step count (e.g. on resume) and the total, so the last window is scaled right.

        Logs a WARNING on ``logging.getLogger("optimtx")`` when ``init_counts`` is not on a
        window boundary (and warns once with [`AccumulationResumeWarning`][optimtx.AccumulationResumeWarning]:
        the gradients of that window's earlier micro-batches are not in any checkpoint, so the
        first step after resuming sums fewer micro-batches, each still divided by
        ``accumulative_counts``), and another when ``model`` has BatchNorm layers and
        gradients are accumulated. Counts must be integers with ``0 <= init_counts <= max_counts``.

        Example:
            >>> w = OptimWrapper(torch.optim.SGD([torch.nn.Parameter(torch.ones(1))], lr=0.1), accumulative_counts=3)
            >>> w.initialize_count_status(torch.nn.Linear(1, 1), 0, 10)
            >>> w._remainder_counts
            1
        """
        init_counts, max_counts = check_count_status(init_counts, max_counts)
        acc = self._accumulative_counts
        if init_counts % acc != 0:
            self._warn_mid_window(init_counts)
            print_log(
                f"Resumed iteration number is not divisible by accumulative_counts ({init_counts} % {acc} != 0): "
                "the first accumulation window after resuming is shorter than the others.",
                logger="current",
                level=logging.WARNING,
            )
        if acc > 1 and _has_batch_norm(model):
            warn_user(
                f"accumulative_counts={acc} with BatchNorm layers: their running statistics and batch statistics "
                "see each micro-batch, not the accumulated batch, so training is not the same as with a batch "
                f"{acc} times larger. Consider GroupNorm/LayerNorm or SyncBatchNorm over a larger micro-batch.",
                AccumulationBatchNormWarning,
            )
            print_log(
                "Gradient accumulative may slightly decrease performance because the model has BatchNorm "
                "layers: their statistics see micro-batches, not the accumulated batch.",
                logger="current",
                level=logging.WARNING,
            )
        self._inner_count = init_counts
        self._max_counts = max_counts
        self._sync_model = model if hasattr(model, "no_sync") else None
        self._remainder_counts = max_counts % acc

    def _warn_mid_window(self, count: int) -> None:
        if getattr(self, "_warned_mid_window", False):
            return
        self._warned_mid_window = True
        acc = self._accumulative_counts
        warnings.warn(
            f"Resuming at micro-step {count}, inside an accumulation window of {acc} ({count % acc} micro-batches "
            "done). Their gradients are not in the checkpoint: the first step after resuming sums only the "
            f"remaining {acc - count % acc} micro-batches, each still divided by {acc}. Save checkpoints at window "
            "boundaries to avoid this.",
            AccumulationResumeWarning,
            stacklevel=3,
        )

    @property
    def inner_count(self) -> int:
        """Number of ``backward`` calls so far (set by ``initialize_count_status`` on resume)."""
        return self._inner_count

    # ------------------------------------------------------ groups and states
    @property
    def param_groups(self) -> list[dict]:
        """The optimizer's groups, plus the base settings dict when there is more than one group."""
        if self.base_param_settings is None:
            return self.optimizer.param_groups
        return [*self.optimizer.param_groups, self.base_param_settings]

    @property
    def defaults(self) -> dict:
        """The optimizer's ``defaults`` (the same dict)."""
        return self.optimizer.defaults

    def get_lr(self) -> dict[str, list[float]]:
        """``{'lr': [lr of each group]}``, preceded by ``'base_lr'`` when there are several groups.

        Example:
            >>> OptimWrapper(torch.optim.SGD([torch.nn.Parameter(torch.ones(1))], lr=0.1)).get_lr()
            {'lr': [0.1]}
        """
        missing = [i for i, group in enumerate(self.optimizer.param_groups) if "lr" not in group]
        if missing:
            raise KeyError(
                f"The param groups {missing} of {type(self.optimizer).__name__} have no 'lr' entry, so there is no "
                "learning rate to report. For a TransformOptimizer, inject it: "
                "otx.inject_hyperparams(otx.adamw)(lr=1e-3), or build it from dict(type='adamw', lr=1e-3)."
            )
        result: dict[str, list[float]] = {}
        if self.base_param_settings is not None and "lr" in self.base_param_settings:
            result["base_lr"] = [self.base_param_settings["lr"]]
        result["lr"] = [group["lr"] for group in self.optimizer.param_groups]
        return result

    def get_momentum(self) -> dict[str, list[float]]:
        """``{'momentum': [...]}``: each group's ``momentum``, else ``betas[0]``, else 0.

        Example:
            >>> p = torch.nn.Parameter(torch.ones(1))
            >>> OptimWrapper(torch.optim.Adam([p], betas=(0.8, 0.99))).get_momentum()
            {'momentum': [0.8]}
        """
        return {"momentum": [group_momentum(group) for group in self.optimizer.param_groups]}

    def state_dict(self) -> dict[str, Any]:
        """The optimizer's state dict, plus ``'base_param_settings'`` when there are several groups.

        A snapshot: its dicts and lists are new (tensors are shared with the optimizer, as
        torch's ``state_dict`` shares them). With ``accumulative_counts > 1`` it also holds
        ``'inner_count'``, so a resume knows where in the window it was saved.

        Example:
            >>> sorted(OptimWrapper(torch.optim.SGD([torch.nn.Parameter(torch.ones(1))], lr=0.1)).state_dict())
            ['param_groups', 'state']
        """
        state = dict(self.optimizer.state_dict())
        state["param_groups"] = copy_containers(state.get("param_groups"))
        if self.base_param_settings is not None:
            state["base_param_settings"] = copy_containers(self.base_param_settings)
        if self._accumulative_counts > 1:
            state["inner_count"] = self._inner_count
        if self._spikes is not None:  # only with clip_grad skip_spikes, so MMEngine's keys stay as they are
            state["skip_spikes"] = self._spikes.state_dict()
        return state

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Load a state from [`state_dict`][optimtx.OptimWrapper.state_dict] (or a plain optimizer state dict).

        The argument is neither modified nor kept (its tensors are copied). A state that
        does not fit the optimizer (other number of groups or parameters, another optimizer
        type) raises before anything changes.

        Example:
            >>> w = OptimWrapper(torch.optim.SGD([torch.nn.Parameter(torch.ones(1))], lr=0.1))
            >>> other = torch.optim.SGD([torch.nn.Parameter(torch.ones(1))], lr=0.5)
            >>> w.load_state_dict(other.state_dict()); w.get_lr()
            {'lr': [0.5]}
        """
        state = self._split_state_dict(state_dict)
        self._load_checked(state)

    def _check_loadable(self, state_dict: Mapping[str, Any]) -> None:
        """Raise if ``state_dict`` cannot be loaded; change nothing."""
        self._split_state_dict(state_dict)

    def _split_state_dict(self, state_dict: Mapping[str, Any]) -> dict[str, Any]:
        """A checked shallow copy of ``state_dict``; raises if it does not fit."""
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"state_dict must be a dict from state_dict(), got {type(state_dict).__name__}.")
        state = dict(state_dict)
        if is_per_parameter_state(state, self.optimizer):  # an MMEngine paramwise checkpoint
            state.update(regroup_per_parameter_state(state, self.optimizer, getattr(self, "param_walk_order", None)))
        if "skip_spikes" in state:
            spikes = state.pop("skip_spikes")
            if self._spikes is not None:
                state["_checked_skip_spikes"] = (self._spikes.check_state(spikes),)
        check_optimizer_state_fits(self.optimizer, state)
        if "inner_count" in state:
            check_count_status(state["inner_count"], None)
        base = state.get("base_param_settings")
        if base is not None and not isinstance(base, Mapping):
            raise TypeError(f"base_param_settings must be a dict, got {base!r}.")
        return state

    def _load_checked(self, state: dict[str, Any]) -> None:
        """Load a checked state (from `_split_state_dict`): all of it, or nothing."""
        state = copy.deepcopy(state)  # never keep (and later mutate) the caller's tensors
        spikes = state.pop("_checked_skip_spikes", None)
        base = state.pop("base_param_settings", None)
        count = state.pop("inner_count", None)
        keep_scheduler_bookkeeping(self.optimizer, state)
        load_optimizer_state(self.optimizer, state)
        if base is not None:
            self.base_param_settings = dict(base)
        if count is not None:
            self._inner_count = count
            if count % self._accumulative_counts != 0:
                self._warn_mid_window(count)
        if self._spikes is not None and spikes is not None:
            self._spikes.load_checked(spikes[0])

    def __repr__(self) -> str:
        return (
            f"Type: {type(self).__name__}\n"
            f"_accumulative_counts: {self._accumulative_counts}\n"
            f"optimizer: \n{self.optimizer!r}\n"
        )


def _has_batch_norm(model: Any) -> bool:
    if not isinstance(model, nn.Module):
        return False
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())
