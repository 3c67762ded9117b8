"""Schedule-free AdamW and SGD (Defazio et al., 2024): no decay schedule, evaluate at an average of the iterates.

Three sequences: ``z`` (plain optimizer steps, kept in the state), ``x`` (a weighted
average of the ``z``, where to *evaluate*), and ``y = b1 * x + (1 - b1) * z`` (where
gradients are taken: these are the parameters during training). ``x`` is never stored;
[`schedule_free_eval_params`][optimtx.schedule_free_eval_params] recovers it as ``(y - (1 - b1) * z) / b1``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import torch
from torch import Tensor

from optimtx.core.base import GradientTransformation, Params, State, Updates
from optimtx.core.state_tree import check_state, find_one, zero_counter
from optimtx.core.tree import Tree, check_params, copy_tree, leaves, matched_leaves, rebuild
from optimtx.core.validation import check_non_negative, check_non_negative_int, check_state_dtype, check_unit_interval
from optimtx.transforms.kernels import add_scaled, decay_add_square, loop_invariant, mul, scalar_list
from optimtx.transforms.optimizers import Hyper, _betas, is_present
from optimtx.transforms.weight_decay import require_params

__all__ = ["ScheduleFreeState", "schedule_free_adamw", "schedule_free_eval_params", "schedule_free_sgd"]


class ScheduleFreeState(NamedTuple):
    """State of `schedule_free_adamw` and [`schedule_free_sgd`][optimtx.schedule_free_sgd].

    Attributes:
        step_count: steps made (int64 0-d), the reference's ``k``.
        b1: the interpolation ``b1`` (momentum) of the last step (float64 0-d), needed to recover ``x``.
        lr_max: the largest (warmed-up) learning rate so far (float64 0-d).
        weight_sum: the sum of the averaging weights ``lr_max ** weight_lr_power`` (float64 0-d).
        z: the ``z`` sequence, per parameter (in ``state_dtype`` when given).
        nu: AdamW's second moment per parameter (``{}`` for SGD).
    """

    step_count: Tensor
    b1: Tensor
    lr_max: Tensor
    weight_sum: Tensor
    z: dict[str, Tensor]
    nu: dict[str, Tensor]

    @staticmethod
    def hyperparameter_rules() -> dict[str, Callable[[str, Any], Any]]:
        """How ``set_hyperparams`` checks names that other factories check differently (``b1`` must be > 0 here)."""
        return {
            "momentum": lambda name, value: _check_interpolation(name, value),
            "betas": lambda name, value: _check_interpolation(f"{name}[0]", _betas(value)[0]),
        }


def schedule_free_adamw(
    lr: Hyper = 2.5e-3,
    warmup_steps: int = 0,
    betas: tuple[Hyper, Hyper] = (0.9, 0.999),
    eps: Hyper = 1e-8,
    weight_decay: Hyper = 0.0,
    weight_lr_power: Hyper = 2.0,
    state_dtype: torch.dtype | None = None,
) -> GradientTransformation:
    """Schedule-free AdamW: ``z`` takes AdamW steps (without momentum), the parameters are ``y``.

    At step ``k`` (from 0) the learning rate is ``lr_k = lr * min(1, (k + 1) / warmup_steps)``
    (``lr`` without warmup), ``z -= lr_k * (g / (sqrt(v / (1 - b2**(k+1))) + eps) + weight_decay * y)``
    with ``v`` Adam's second moment, and ``x`` moves to ``z`` by ``c = w_k / sum(w)`` with
    ``w_k = max(lr_0..lr_k) ** weight_lr_power``. Equal to ``schedulefree.AdamWScheduleFreeReference``
    and, without warmup, to ``optax.contrib.schedule_free_adamw`` (optax's inner optimizer
    sees the warmup one step later than its averaging weights, so with warmup the two
    differ; this follows the authors' reference).

    Training runs at ``y`` (the parameters); evaluate at ``x``:
    [`schedule_free_eval_params`][optimtx.schedule_free_eval_params] on the pure path, ``with
    optimtx.eval_params(optimizer):``
    in the facade.

    Args:
        lr: the constant learning rate after warmup (>= 0).
        warmup_steps: steps of linear warmup (int >= 0).
        betas: ``(b1, b2)``: ``b1`` the interpolation between ``x`` and ``z`` (in (0, 1)),
            ``b2`` the second-moment decay (in [0, 1)).
        eps: added to the denominator (>= 0).
        weight_decay: decay applied at ``y``, scaled by the learning rate (>= 0).
        weight_lr_power: the power of the largest learning rate used as averaging weight (>= 0).
        state_dtype: dtype in which ``z`` and ``v`` are stored (e.g. ``torch.bfloat16`` or ``"bfloat16"``); the
            step is then computed in float32 (or the parameters' wider dtype). ``None``: the
            parameters' dtype.

    References:
        Defazio et al., "The Road Less Scheduled" (2024), https://arxiv.org/abs/2405.15682;
        ``schedulefree.AdamWScheduleFreeReference``; optax: ``optax.contrib.schedule_free_adamw``.

    Example:
        >>> tx = schedule_free_adamw(0.1)
        >>> p = {"w": torch.ones(1)}
        >>> u, state = tx.update({"w": torch.ones(1)}, tx.init(p), p)
        >>> u  # on the first step the average x is z itself, so y = x = z = 1 - 0.1
        {'w': tensor([-0.1000])}
        >>> u, state = tx.update({"w": torch.ones(1)}, state, {"w": torch.tensor([0.9])})
        >>> schedule_free_eval_params(state, {"w": 0.9 + u["w"]})  # x: the average of z_1 = 0.9 and z_2 = 0.8
        {'w': tensor([0.8500])}
    """
    check_non_negative("lr", lr)
    b1, b2 = _betas(betas)
    _check_interpolation("betas[0]", b1)
    check_non_negative("eps", eps)
    return _schedule_free(lr, warmup_steps, b1, (b2, eps), weight_decay, weight_lr_power, state_dtype)


def schedule_free_sgd(
    lr: Hyper = 1.0,
    momentum: Hyper = 0.9,
    warmup_steps: int = 0,
    weight_decay: Hyper = 0.0,
    weight_lr_power: Hyper = 2.0,
    state_dtype: torch.dtype | None = None,
) -> GradientTransformation:
    """Schedule-free SGD: ``z -= lr_k * (g + weight_decay * y)``, averaging and interpolation as in AdamW's.

    Equal to ``schedulefree.SGDScheduleFreeReference`` and, without warmup, to
    ``optax.contrib.schedule_free_sgd`` (see [`schedule_free_adamw`][optimtx.schedule_free_adamw] for the learning
    rate, the averaging weights and how to evaluate).

    Args:
        lr: the constant learning rate after warmup (>= 0).
        momentum: ``b1``, the interpolation between ``x`` and ``z``, in (0, 1).
        warmup_steps: steps of linear warmup (int >= 0).
        weight_decay: L2 decay at ``y`` added to the gradient (>= 0).
        weight_lr_power: the power of the largest learning rate used as averaging weight (>= 0).
        state_dtype: dtype in which ``z`` is stored; ``None``: the parameters' dtype.

    References:
        Defazio et al., "The Road Less Scheduled" (2024), https://arxiv.org/abs/2405.15682;
        ``schedulefree.SGDScheduleFreeReference``; optax: ``optax.contrib.schedule_free_sgd``.

    Example:
        >>> tx = schedule_free_sgd(1.0, momentum=0.5)
        >>> p = {"w": torch.zeros(1)}
        >>> u, state = tx.update({"w": torch.ones(1)}, tx.init(p), p)
        >>> u, state.z  # z = -1, x = z, y = 0.5 * x + 0.5 * z
        ({'w': tensor([-1.])}, {'w': tensor([-1.])})
    """
    check_non_negative("lr", lr)
    _check_interpolation("momentum", momentum)
    return _schedule_free(lr, warmup_steps, momentum, None, weight_decay, weight_lr_power, state_dtype)


def _check_interpolation(name: str, value: Any) -> None:
    """Schedule-free's ``b1`` (``momentum``, ``betas[0]``): in (0, 1)."""
    check_unit_interval(name, value)
    if isinstance(value, (int, float)) and not value > 0:
        raise ValueError(f"Invalid {name}: {value!r}. Schedule-free needs it in (0, 1): x is recovered dividing by it.")


def _schedule_free(
    lr: Hyper,
    warmup_steps: int,
    b1: Hyper,
    adam: tuple[Hyper, Hyper] | None,
    weight_decay: Hyper,
    weight_lr_power: Hyper,
    state_dtype: torch.dtype | None,
) -> GradientTransformation:
    """The shared step; ``adam`` is ``(b2, eps)`` for AdamW's scaling, ``None`` for SGD."""
    check_non_negative_int("warmup_steps", warmup_steps)
    check_non_negative("weight_decay", weight_decay)
    check_non_negative("weight_lr_power", weight_lr_power)
    state_dtype = check_state_dtype("state_dtype", state_dtype)

    def init(params: Params) -> ScheduleFreeState:
        count = zero_counter(params)
        _refuse_complex(params)
        scalar = torch.zeros((), dtype=torch.float64, device=count.device)
        return ScheduleFreeState(
            step_count=count,
            b1=scalar + torch.as_tensor(b1, dtype=torch.float64, device=count.device),
            lr_max=scalar.clone(),
            weight_sum=scalar.clone(),
            z=copy_tree(params, state_dtype),
            nu={k: torch.zeros_like(v, dtype=state_dtype) for k, v in params.items()} if adam else {},
        )

    def update(
        updates: Updates, state: ScheduleFreeState, params: Params | None = None, **extra: Any
    ) -> tuple[dict[str, Tensor], ScheduleFreeState]:
        del extra
        check_state(state, ScheduleFreeState, "schedule_free")
        # By name and shape against z; dtypes are kept (z may be stored in state_dtype), _as converts below.
        ps = matched_leaves(require_params(params, "schedule_free"), state.z, "params", keep_dtype=True)
        grads = matched_leaves(updates, state.z, keep_dtype=True)
        lr_k, lr_max, weight_sum, ck = _averaging(state, lr, warmup_steps, weight_lr_power)
        b1_now = torch.as_tensor(b1, dtype=torch.float64, device=state.b1.device)
        new_state = state._replace(step_count=state.step_count + 1, b1=b1_now, lr_max=lr_max, weight_sum=weight_sum)
        if not grads:
            return {}, new_state
        compute = [_compute_dtype(p.dtype, state_dtype) for p in ps]
        gs, ys, zs = _as(grads, compute), _as(ps, compute), _as(leaves(state.z), compute)
        nu_old = _as(leaves(state.nu), compute) if adam else []
        direction, nu = _direction(gs, nu_old, state.step_count, adam)
        if adam and isinstance(weight_decay, (int, float)) and weight_decay:
            torch._foreach_add_(direction, ys, alpha=weight_decay)  # a buffer of this step; div keeps no output
        elif is_present(weight_decay):
            direction = add_scaled(direction, ys, weight_decay)
        out, new_z = _y_and_z_steps(zs, ys, direction, lr_k, ck, b1_now)
        stored = [state_dtype or p.dtype for p in ps]
        new_state = new_state._replace(
            z=rebuild(updates, _as(new_z, stored)), nu=rebuild(updates, _as(nu, stored)) if adam else {}
        )
        return rebuild(updates, _as(out, [p.dtype for p in ps])), new_state

    return GradientTransformation(init, update)


def _refuse_complex(params: Params) -> None:
    check_params(params)  # a missing, non-tensor or integer parameter is named first
    for key, p in params.items():
        if p.is_complex():
            raise TypeError(
                f"params[{key!r}] is complex ({p.dtype}); schedule-free optimizers support real parameters only "
                "(like the schedulefree reference). Optimize its real view (torch.view_as_real) instead."
            )


def _y_and_z_steps(
    zs: list[Tensor], ys: list[Tensor], direction: list[Tensor], lr_k: Tensor, ck: Tensor, b1: Tensor
) -> tuple[list[Tensor], list[Tensor]]:
    """The parameter update ``y_new - y`` and the new ``z``, with ``x`` left implicit.

    schedulefree's closed form: ``y_new - y = c * (z - y) + lr_k * (b1 * (1 - c) - 1) * d`` and
    ``z_new = z - lr_k * d``. Multiply-adds with per-tensor 0-d factors: one pass each, and
    no temporaries beyond the two results.
    """
    out = list(torch._foreach_sub(zs, ys))
    torch._foreach_mul_(out, scalar_list(loop_invariant(ck), out))
    torch._foreach_addcmul_(out, direction, scalar_list(loop_invariant(lr_k * (b1 * (1 - ck) - 1)), out))
    new_z = list(torch._foreach_addcmul(zs, direction, scalar_list(loop_invariant(-lr_k), zs)))
    return out, new_z


def _averaging(
    state: ScheduleFreeState, lr: Hyper, warmup_steps: int, power: Hyper
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """This step's learning rate, the new ``lr_max`` and ``weight_sum``, and the averaging coefficient ``c``."""
    steps = (state.step_count + 1).to(torch.float64)
    warm = torch.clamp(steps / warmup_steps, max=1.0) if warmup_steps else torch.ones_like(steps)
    lr_k = torch.as_tensor(lr, dtype=torch.float64).to(steps.device) * warm
    lr_max = torch.maximum(state.lr_max, lr_k)
    weight = lr_max**power
    weight_sum = state.weight_sum + weight
    ck = weight / torch.where(weight_sum > 0, weight_sum, torch.ones_like(weight_sum))
    return lr_k, lr_max, weight_sum, ck


def _direction(
    gs: list[Tensor], nu: list[Tensor], count: Tensor, adam: tuple[Hyper, Hyper] | None
) -> tuple[list[Tensor], list[Tensor]]:
    """AdamW's bias-corrected ``g / (sqrt(v_hat) + eps)`` and the new ``v``; the gradient itself for SGD."""
    if adam is None:
        return gs, []
    b2, eps = adam
    new_nu = decay_add_square(nu, gs, b2, 1 - b2)
    bc2 = 1 - torch.as_tensor(b2, dtype=torch.float64) ** (count + 1).to(torch.float64)
    denominator = list(torch._foreach_pow(new_nu, 0.5))
    torch._foreach_mul_(denominator, _scalar(1 / bc2.sqrt(), gs))
    torch._foreach_add_(denominator, [_scalar(torch.as_tensor(eps, dtype=torch.float64), gs)] * len(denominator))
    return list(torch._foreach_div(gs, denominator)), new_nu


def _compute_dtype(param_dtype: torch.dtype, state_dtype: torch.dtype | None) -> torch.dtype:
    return param_dtype if state_dtype is None else torch.promote_types(param_dtype, torch.float32)


def _as(xs: list[Tensor], dtypes: list[torch.dtype]) -> list[Tensor]:
    return [x if x.dtype == d else x.to(d) for x, d in zip(xs, dtypes, strict=True)]


def _scalar(value: Tensor, like: list[Tensor]) -> Tensor:
    """A per-step float64 scalar in the tensors' compute width (at least float32), computed once per step."""
    return loop_invariant(value.to(like[0].device, torch.promote_types(like[0].dtype, torch.float32)))


def schedule_free_eval_params(state: State, params: Params) -> Tree:
    """The evaluation weights ``x = (y - (1 - b1) * z) / b1`` of a schedule-free optimizer.

    ``params`` are the training parameters ``y``; ``state`` is (or contains) the
    [`ScheduleFreeState`][optimtx.ScheduleFreeState]. Returns new tensors in the parameters' dtypes.

    Example:
        >>> tx = schedule_free_sgd(1.0, momentum=0.5)
        >>> p = {"w": torch.zeros(1)}
        >>> state = tx.update({"w": torch.ones(1)}, tx.init(p), p)[1]
        >>> schedule_free_eval_params(state, {"w": torch.tensor([-1.0])})
        {'w': tensor([-1.])}
    """
    node = find_one(state, ScheduleFreeState, "schedule_free_adamw(...) or schedule_free_sgd(...)")
    ys = matched_leaves(params, node.z, "params", keep_dtype=True)
    if not ys:
        return {}
    compute = [torch.promote_types(y.dtype, torch.float32) for y in ys]
    zs = _as(leaves(node.z), compute)
    b1 = node.b1
    x = add_scaled(_as(ys, compute), zs, _scalar(-(1 - b1), zs))
    x = mul(x, _scalar(1 / b1, zs))
    return rebuild(params, _as(x, [y.dtype for y in ys]))
