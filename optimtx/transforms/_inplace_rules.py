"""In-place steps of the rules torch has kernels for: Adam(W), SGD, Adagrad, RMSprop, RAdam, NAdam, Adamax, Adadelta,
ASGD, Rprop.

The factories in ``optimizers.py`` attach these with `optimtx.core.inplace.with_step_`.
A step runs torch's own functional optimizer (``torch.optim.adam.adam`` and friends) on the
donated parameters and state, with the fused kernel where torch has one for the device
(``fused=True``) and the batched foreach kernels elsewhere, so the result is torch's result.
Whenever the inputs fall outside what those kernels take (complex or mixed-dtype tensors,
several devices, a stored ``mu_dtype``, a learning-rate schedule, a state that is not the
chain's), the step falls back to the pure ``update`` plus an in-place add
(`optimtx.core.inplace.pure_step_`), which gives the same result more slowly.

Hyperparameters given as tensors (``inject_hyperparams``) are read to Python numbers, as
torch's group values are; on an accelerator that read waits for the device.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor
from torch.optim.adadelta import adadelta as torch_adadelta
from torch.optim.adagrad import adagrad as torch_adagrad
from torch.optim.adam import adam as torch_adam
from torch.optim.adamax import adamax as torch_adamax
from torch.optim.nadam import nadam as torch_nadam
from torch.optim.radam import radam as torch_radam
from torch.optim.rmsprop import rmsprop as torch_rmsprop
from torch.optim.rprop import rprop as torch_rprop
from torch.optim.sgd import sgd as torch_sgd
from torch.utils._foreach_utils import _get_fused_kernels_supported_devices

from optimtx.core.base import EmptyState, Params, State, UpdateFn, Updates
from optimtx.core.inplace import host_number, pure_step_
from optimtx.core.tree import leaves, matched_leaves
from optimtx.transforms.adam import ScaleByAdamaxState, ScaleByAdamState
from optimtx.transforms.momentum import TraceState
from optimtx.transforms.rms import ScaleByAdagradState, ScaleByRmsState
from optimtx.transforms.scaling import ScaleByLearningRateState

Hyper = float | Tensor
Step = Callable[[Updates, State, Params, UpdateFn], State]


def _rule_index(
    state: State, kind: type, lr_state: tuple[type, ...] = (EmptyState,), also: tuple[type, ...] = ()
) -> int | None:
    """Where the rule's state sits in the chain's state, if every other entry is stateless (else ``None``).

    ``also``: kinds of other entries the caller handles itself (RMSprop's momentum trace).
    """
    if not isinstance(state, tuple) or not state or isinstance(state, EmptyState):
        return None
    found = [i for i, s in enumerate(state) if isinstance(s, kind)]
    if len(found) != 1 or not (found[0] == len(state) - 1 or isinstance(state[-1], lr_state)):
        return None
    rest = [s for i, s in enumerate(state[:-1]) if i != found[0]]
    return found[0] if all(isinstance(s, (EmptyState, *also)) for s in rest) else None


def _tensors(grads: Updates, params: Params, like: dict[str, Tensor]) -> tuple[list[Tensor], list[Tensor]] | None:
    """Gradients and parameters as torch's kernels take them, or ``None`` when they do not fit those kernels.

    The checks are those of the pure update (names, shapes, devices), so a malformed tree
    raises the same error; gradients of another floating dtype are converted.
    """
    g = matched_leaves(grads, like)
    p = matched_leaves(params, like, "params", keep_dtype=True)
    refs = leaves(like)
    if not p:
        return None
    device = p[0].device
    for param, grad, ref in zip(p, g, refs, strict=True):
        if param.is_complex() or not param.is_floating_point() or param.is_sparse or grad.is_sparse:
            return None
        if param.dtype != ref.dtype or param.device != device or grad.dtype != param.dtype:
            return None
    return g, p


def _fused(params: list[Tensor], devices: list[str] | None = None) -> bool:
    """Whether torch has a fused kernel for these tensors' device."""
    supported = _get_fused_kernels_supported_devices() if devices is None else devices
    return params[0].device.type in supported


def _steps(count: Tensor, n: int) -> list[Tensor]:
    """torch's per-parameter ``step`` tensors (float32, before the increment), from one shared count."""
    return _copies(count, n, torch.float32)


def _copies(value: Tensor, n: int, dtype: torch.dtype) -> list[Tensor]:
    """``n`` separate 0-d tensors equal to ``value`` in ``dtype`` (torch's per-parameter scalars), on its device.

    On the CPU the value is read once and the copies made from that number (half the time of
    converting and repeating the tensor); elsewhere they are made on the device (no sync).
    """
    if value.device.type == "cpu":
        return list(torch.full((n,), value.item(), dtype=dtype).unbind(0))
    return list(value.to(dtype).repeat(n).unbind(0))


Kernel = Callable[[Any, list[Tensor], list[Tensor], float], Any]


def rule_step(state_kind: type, like: str, lr: Hyper, kernel: Kernel) -> Step:
    """An in-place step for a chain holding one rule state (``state_kind``) and stateless blocks.

    ``kernel(rule_state, params, grads, lr)`` runs torch's functional optimizer on the
    state's buffers and returns the rule's new state; the step checks the inputs first
    (``like`` names the per-parameter field they are matched against) and falls back to the
    pure update where the kernel does not apply.
    """

    def step(grads: Updates, state: State, params: Params, update: UpdateFn) -> State:
        bare = isinstance(state, state_kind)  # the rule alone, not in a chain (ASGD with number hyperparameters)
        index = 0 if bare else _rule_index(state, state_kind)
        if index is None or callable(lr):
            return pure_step_(grads, state, params, update)
        rule_state = state if bare else state[index]
        buffers: dict[str, Tensor] = getattr(rule_state, like)
        got = _tensors(grads, params, buffers)
        if got is None or any(b.dtype != q.dtype for b, q in zip(leaves(buffers), got[1], strict=True)):
            return pure_step_(grads, state, params, update)
        g, p = got
        with torch.no_grad():
            stepped = kernel(rule_state, p, g, host_number(lr))
        if bare:
            return stepped
        new = list(state)
        new[index] = stepped
        return tuple(new)

    return step


def adam_step(
    b1: Hyper, b2: Hyper, eps: Hyper, weight_decay: Hyper, amsgrad: bool, maximize: bool, decoupled: bool
) -> Callable[[Hyper], Step]:
    """The in-place step of ``adam`` (``decoupled=False``) or ``adamw`` for these settings, given ``lr``.

    Example:
        >>> from optimtx.core.inplace import with_step_, inplace_step
        >>> from optimtx.transforms.optimizers import adamw
        >>> w = torch.ones(2)
        >>> tx = adamw(0.1)
        >>> state = inplace_step(tx)({"w": torch.ones(2)}, tx.init({"w": w}), {"w": w})
        >>> w, state[0].count
        (tensor([0.8990, 0.8990]), tensor(1))
    """

    def kernel(state: ScaleByAdamState, p: list[Tensor], g: list[Tensor], lr: float) -> ScaleByAdamState:
        torch_adam(
            p, g, leaves(state.mu), leaves(state.nu), leaves(state.nu_max), _steps(state.count, len(p)),
            foreach=not _fused(p), fused=_fused(p), decoupled_weight_decay=decoupled, amsgrad=amsgrad,
            beta1=host_number(b1), beta2=host_number(b2), lr=lr, weight_decay=host_number(weight_decay),
            eps=host_number(eps), maximize=maximize,
        )  # fmt: skip
        return state._replace(count=state.count + 1)

    return lambda lr: rule_step(ScaleByAdamState, "mu", lr, kernel)


def sgd_step(
    momentum: Hyper, dampening: Hyper, weight_decay: Hyper, nesterov: bool, maximize: bool
) -> Callable[[Hyper], Step]:
    """The in-place step of ``sgd`` for these settings, given ``lr``.

    Example:
        >>> from optimtx.core.inplace import inplace_step
        >>> from optimtx.transforms.optimizers import sgd
        >>> w = torch.ones(2)
        >>> tx = sgd(0.1, momentum=0.9)
        >>> state = inplace_step(tx)({"w": torch.ones(2)}, tx.init({"w": w}), {"w": w})
        >>> w
        tensor([0.9000, 0.9000])
    """
    has_trace = isinstance(momentum, Tensor) or momentum != 0

    def with_lr(lr: Hyper) -> Step:
        def step(grads: Updates, state: State, params: Params, update: UpdateFn) -> State:
            index = _rule_index(state, TraceState) if has_trace else _stateless_index(state)
            if index is None or callable(lr):
                return pure_step_(grads, state, params, update)
            trace_state = state[index] if has_trace else None
            like = trace_state.trace if trace_state is not None else dict(params)
            got = _tensors(grads, params, like)
            m = host_number(momentum) if has_trace else 0.0
            if got is None:
                return pure_step_(grads, state, params, update)
            g, p = got
            d = host_number(dampening)
            # A tensor momentum of 0 (injected) is torch's momentum=0: no buffer is read or written.
            bufs: list[Tensor | None] = list(leaves(like)) if has_trace and m != 0 else [None] * len(p)
            if has_trace and any(b is not None and b.dtype != q.dtype for b, q in zip(bufs, p, strict=True)):
                return pure_step_(grads, state, params, update)
            if has_trace and d != 0 and trace_state is not None and bool(trace_state.count == 0):
                bufs = [None] * len(p)  # torch's first step copies the gradient (no dampening)
            with torch.no_grad():
                torch_sgd(
                    p, g, bufs, foreach=not _fused(p), fused=_fused(p), weight_decay=host_number(weight_decay),
                    momentum=m, lr=host_number(lr), dampening=d, nesterov=nesterov, maximize=maximize,
                )  # fmt: skip
            if trace_state is None:
                return state
            kept = trace_state.trace if m == 0 else {k: b for k, b in zip(like, bufs, strict=True) if b is not None}
            new = list(state)
            new[index] = TraceState(trace_state.count + 1, kept)
            return tuple(new)

        return step

    return with_lr


def _stateless_index(state: State) -> int | None:
    """For SGD without momentum: every entry stateless (``-1`` stands for "no rule state")."""
    if isinstance(state, tuple) and state and all(isinstance(s, EmptyState) for s in state):
        return -1
    return None


def adagrad_step(lr: Hyper, lr_decay: Hyper, weight_decay: Hyper, eps: Hyper, maximize: bool) -> Step:
    """The in-place step of ``adagrad`` for these settings.

    Example:
        >>> from optimtx.core.inplace import inplace_step
        >>> from optimtx.transforms.optimizers import adagrad
        >>> w = torch.ones(1)
        >>> tx = adagrad(0.1, eps=0.0)
        >>> state = inplace_step(tx)({"w": torch.full((1,), 3.0)}, tx.init({"w": w}), {"w": w})
        >>> w
        tensor([0.9000])
    """
    decays = isinstance(lr_decay, Tensor) or lr_decay != 0

    def step(grads: Updates, state: State, params: Params, update: UpdateFn) -> State:
        lr_kind = (ScaleByLearningRateState,) if decays else (EmptyState,)
        index = _rule_index(state, ScaleByAdagradState, lr_kind)
        if index is None or callable(lr):
            return pure_step_(grads, state, params, update)
        sums: dict[str, Tensor] = state[index].sum
        got = _tensors(grads, params, sums)
        if got is None or any(s.dtype != q.dtype for s, q in zip(leaves(sums), got[1], strict=True)):
            return pure_step_(grads, state, params, update)
        g, p = got
        count = state[-1].count if decays else torch.zeros((), dtype=torch.int64, device=p[0].device)
        fused = _fused(p, ["cpu"])  # torch's fused Adagrad is CPU only
        with torch.no_grad():
            torch_adagrad(
                p, g, leaves(sums), _steps(count, len(p)), fused=fused, foreach=not fused,
                lr=host_number(lr), weight_decay=host_number(weight_decay), lr_decay=host_number(lr_decay),
                eps=host_number(eps), maximize=maximize,
            )  # fmt: skip
        if not decays:
            return state
        return (*state[:-1], ScaleByLearningRateState(count=state[-1].count + 1))

    return step


def radam_nadam_step(
    state_kind: type,
    b1: Hyper,
    b2: Hyper,
    eps: Hyper,
    weight_decay: Hyper,
    decoupled: bool,
    maximize: bool,
    **extra: Hyper,
) -> Callable[[Hyper], Step]:
    """The in-place step of ``radam`` or ``nadam`` (the one whose rule state is ``state_kind``), given ``lr``.

    NAdam's ``momentum_decay`` comes in ``extra``; torch keeps one ``mu_product`` per
    parameter, the state one shared value, handed to torch as equal copies.

    Example:
        >>> from optimtx.core.inplace import inplace_step
        >>> from optimtx.transforms.radam import radam
        >>> w = torch.ones(1)
        >>> tx = radam(0.1)
        >>> state = inplace_step(tx)({"w": torch.full((1,), 5.0)}, tx.init({"w": w}), {"w": w})
        >>> w
        tensor([0.5000])
    """
    is_nadam = "momentum_decay" in extra

    def kernel(state: Any, p: list[Tensor], g: list[Tensor], lr: float) -> Any:
        mu, nu, steps = leaves(state.mu), leaves(state.nu), _steps(state.count, len(p))
        beta1, beta2, decay, eps_ = (host_number(v) for v in (b1, b2, weight_decay, eps))
        if not is_nadam:
            torch_radam(
                p, g, mu, nu, steps, decoupled_weight_decay=decoupled, foreach=True, maximize=maximize,
                beta1=beta1, beta2=beta2, lr=lr, weight_decay=decay, eps=eps_,
            )  # fmt: skip
            return state._replace(count=state.count + 1)
        products = list(state.mu_product.repeat(len(p)).unbind(0))
        torch_nadam(
            p, g, mu, nu, products, steps, decoupled_weight_decay=decoupled, foreach=True, maximize=maximize,
            beta1=beta1, beta2=beta2, lr=lr, weight_decay=decay, eps=eps_,
            momentum_decay=host_number(extra["momentum_decay"]),
        )  # fmt: skip
        return state._replace(count=state.count + 1, mu_product=products[0].clone())

    return lambda lr: rule_step(state_kind, "mu", lr, kernel)


def adamax_step(b1: Hyper, b2: Hyper, eps: Hyper, weight_decay: Hyper, maximize: bool) -> Callable[[Hyper], Step]:
    """The in-place step of ``adamax`` for these settings, given ``lr`` (torch's foreach kernel).

    Example:
        >>> from optimtx.core.inplace import inplace_step
        >>> from optimtx.transforms.optimizers import adamax
        >>> w = torch.ones(1)
        >>> tx = adamax(0.1)
        >>> state = inplace_step(tx)({"w": torch.full((1,), 5.0)}, tx.init({"w": w}), {"w": w})
        >>> w
        tensor([0.9000])
    """

    def kernel(state: ScaleByAdamaxState, p: list[Tensor], g: list[Tensor], lr: float) -> ScaleByAdamaxState:
        torch_adamax(
            p, g, leaves(state.mu), leaves(state.inf_norm), _steps(state.count, len(p)), foreach=True,
            maximize=maximize, eps=host_number(eps), beta1=host_number(b1), beta2=host_number(b2), lr=lr,
            weight_decay=host_number(weight_decay),
        )  # fmt: skip
        return state._replace(count=state.count + 1)

    return lambda lr: rule_step(ScaleByAdamaxState, "mu", lr, kernel)


def adadelta_step(
    state_kind: type, rho: Hyper, eps: Hyper, weight_decay: Hyper, maximize: bool
) -> Callable[[Hyper], Step]:
    """The in-place step of ``adadelta`` (whose rule state is ``state_kind``), given ``lr``.

    Example:
        >>> from optimtx.core.inplace import inplace_step
        >>> from optimtx.transforms.adadelta import adadelta
        >>> w = torch.ones(1)
        >>> tx = adadelta(1.0, eps=1e-6)
        >>> state = inplace_step(tx)({"w": torch.full((1,), 5.0)}, tx.init({"w": w}), {"w": w})
        >>> w.round(decimals=4)
        tensor([0.9968])
    """

    def kernel(state: Any, p: list[Tensor], g: list[Tensor], lr: float) -> Any:
        steps = _steps(torch.zeros((), dtype=torch.int64, device=p[0].device), len(p))  # Adadelta does not use it
        torch_adadelta(
            p, g, leaves(state.nu), leaves(state.delta_nu), steps, foreach=True, lr=lr, rho=host_number(rho),
            eps=host_number(eps), weight_decay=host_number(weight_decay), maximize=maximize,
        )  # fmt: skip
        return state

    return lambda lr: rule_step(state_kind, "nu", lr, kernel)


def rmsprop_step(
    alpha: Hyper, eps: Hyper, weight_decay: Hyper, momentum: Hyper, centered: bool, maximize: bool
) -> Callable[[Hyper], Step]:
    """The in-place step of ``rmsprop`` for these settings, given ``lr`` (torch's foreach kernel).

    The momentum trace, when the chain has one, is torch's ``momentum_buffer`` (zeros at first,
    which is the trace's first step too).

    Example:
        >>> from optimtx.core.inplace import inplace_step
        >>> from optimtx.transforms.optimizers import rmsprop
        >>> w = torch.ones(1)
        >>> tx = rmsprop(0.1, alpha=0.75, eps=0.0, momentum=0.5)
        >>> state = inplace_step(tx)({"w": torch.full((1,), 2.0)}, tx.init({"w": w}), {"w": w})
        >>> w
        tensor([0.8000])
    """
    has_trace = isinstance(momentum, Tensor) or momentum != 0

    def with_lr(lr: Hyper) -> Step:
        def kernel(state: ScaleByRmsState, p: list[Tensor], g: list[Tensor], rate: float, trace: Any) -> None:
            m = host_number(momentum) if has_trace else 0.0
            bufs = leaves(trace.trace) if has_trace and m != 0 else []
            torch_rmsprop(
                p, g, leaves(state.nu), leaves(state.mu), bufs, _steps(torch.zeros((), dtype=torch.int64), len(p)),
                foreach=True, maximize=maximize, lr=rate, alpha=host_number(alpha), eps=host_number(eps),
                weight_decay=host_number(weight_decay), momentum=m, centered=centered,
            )  # fmt: skip

        def step(grads: Updates, state: State, params: Params, update: UpdateFn) -> State:
            index = _rule_index(state, ScaleByRmsState, also=(TraceState,) if has_trace else ())
            trace_at = index + 1 if index is not None and has_trace else None
            if index is None or callable(lr) or (trace_at is not None and not isinstance(state[trace_at], TraceState)):
                return pure_step_(grads, state, params, update)
            got = _tensors(grads, params, state[index].nu)
            if got is None or any(b.dtype != q.dtype for b, q in zip(leaves(state[index].nu), got[1], strict=True)):
                return pure_step_(grads, state, params, update)
            trace = state[trace_at] if trace_at is not None else None
            if trace is not None and any(b.dtype != q.dtype for b, q in zip(leaves(trace.trace), got[1], strict=True)):
                return pure_step_(grads, state, params, update)
            with torch.no_grad():
                kernel(state[index], got[1], got[0], host_number(lr), trace)
            if trace is None or trace_at is None:
                return state
            new = list(state)
            new[trace_at] = trace._replace(count=trace.count + 1)
            return tuple(new)

        return step

    return with_lr


def rprop_step(
    state_kind: type, etas: tuple[Hyper, Hyper], step_sizes: tuple[Hyper, Hyper], maximize: bool
) -> Callable[[Hyper], Step]:
    """The in-place step of ``rprop`` (whose rule state is ``state_kind``), given ``lr`` (torch's foreach kernel).

    At the first update the step sizes are set to ``lr`` as it is then, as torch fills them at
    its first step (the step reads the count from its device for that).

    Example:
        >>> from optimtx.core.inplace import inplace_step
        >>> from optimtx.transforms.rprop import rprop
        >>> w = torch.ones(2)
        >>> tx = rprop(lr=0.1)
        >>> state = inplace_step(tx)({"w": torch.tensor([2.0, -1.0])}, tx.init({"w": w}), {"w": w})
        >>> w
        tensor([0.9000, 1.1000])
    """

    def kernel(state: Any, p: list[Tensor], g: list[Tensor], lr: float) -> Any:
        sizes = leaves(state.step_size)
        if bool(state.count == 0):
            torch._foreach_copy_(sizes, [torch.full_like(s, lr) for s in sizes])
        torch_rprop(
            p, g, leaves(state.prev), sizes, _steps(state.count, len(p)), foreach=True, maximize=maximize,
            etaminus=host_number(etas[0]), etaplus=host_number(etas[1]),
            step_size_min=host_number(step_sizes[0]), step_size_max=host_number(step_sizes[1]),
        )  # fmt: skip
        return state._replace(count=state.count + 1)

    return lambda lr: rule_step(state_kind, "prev", lr, kernel)
