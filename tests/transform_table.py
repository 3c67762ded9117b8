"""The table of every transform factory, run through the generic laws in test_contract.py.

One ``TransformCase`` per factory (a combinator gets a case with a sample inner transform):
sample kwargs, invalid kwargs with the error they must raise, and capability flags.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

import torch

import optimtx as otx


@dataclasses.dataclass(frozen=True)
class TransformCase:
    """How to build, call and break one transform factory."""

    name: str
    factory: Callable[..., otx.GradientTransformation]
    kwargs: dict[str, Any]
    # (kwargs, exception type, regex the message must match)
    invalid: tuple[tuple[dict[str, Any], type[Exception], str], ...] = ()
    needs_params: bool = False  # update() requires params
    compilable: bool = True  # runs under torch.compile(fullgraph=True)
    differentiable: bool = True  # outputs carry autograd through updates
    state_dtype: torch.dtype | None = None  # per-parameter state kept in this dtype on purpose (mu_dtype, ...)


TABLE: list[TransformCase] = [
    TransformCase("identity", otx.identity, {}),
    TransformCase(
        "named_chain",
        lambda **kw: otx.named_chain(*kw["transforms"]),
        {"transforms": [("clip", otx.clip_by_global_norm(1.0)), ("opt", otx.adam(0.1))]},
        invalid=(({"transforms": [("a", otx.sgd(0.1)), ("a", otx.sgd(0.1))]}, ValueError, "unique"),),
    ),
    TransformCase(
        "scale",
        otx.scale,
        {"factor": -0.5},
        invalid=(
            ({"factor": "x"}, TypeError, "factor"),
            ({"factor": float("nan")}, ValueError, "factor: nan"),
            ({"factor": torch.ones(2)}, ValueError, "shape"),
        ),
    ),
    TransformCase(
        "clip_by_global_norm",
        otx.clip_by_global_norm,
        {"max_norm": 1.0},
        invalid=(
            ({"max_norm": -1.0}, ValueError, "max_norm"),
            ({"max_norm": 1.0, "norm_type": 0}, ValueError, "norm_type"),
            ({"max_norm": 1.0, "error_if_nonfinite": "yes"}, TypeError, "error_if_nonfinite"),
        ),
    ),
    TransformCase("clip_by_global_norm_inf", otx.clip_by_global_norm, {"max_norm": 0.5, "norm_type": math.inf}),
    TransformCase(
        "clip_by_value",
        otx.clip_by_value,
        {"clip_value": 0.1},
        invalid=(({"clip_value": -1}, ValueError, "clip_value"),),
    ),
    TransformCase(
        "scale_by_learning_rate",
        otx.scale_by_learning_rate,
        {"lr": 0.1},
        invalid=(({"lr": -0.1}, ValueError, "lr"), ({"lr": "fast"}, TypeError, "lr")),
    ),
    TransformCase(
        "scale_by_learning_rate_schedule",
        otx.scale_by_learning_rate,
        {"lr": lambda count: 0.1 / (1.0 + count)},
        invalid=(({"lr": torch.ones(2)}, ValueError, "0-d"),),
    ),
    TransformCase(
        "add_decayed_weights",
        otx.add_decayed_weights,
        {"weight_decay": 0.1},
        invalid=(
            ({"weight_decay": -0.1}, ValueError, "weight_decay"),
            ({"weight_decay": 0.1, "mask": 3}, TypeError, "mask"),
        ),
        needs_params=True,
    ),
    TransformCase(
        "add_decayed_weights_masked",
        otx.add_decayed_weights,
        {"weight_decay": 0.1, "mask": lambda params: {k: v.ndim > 1 for k, v in params.items()}},
        needs_params=True,
    ),
    TransformCase(
        "trace",
        otx.trace,
        {"momentum": 0.9, "dampening": 0.1},
        invalid=(
            ({"momentum": -0.9}, ValueError, "momentum"),
            ({"momentum": 0.0, "nesterov": True}, ValueError, "nesterov"),
            ({"momentum": 0.9, "dampening": 0.5, "nesterov": True}, ValueError, "dampening"),
        ),
    ),
    TransformCase("trace_nesterov", otx.trace, {"momentum": 0.9, "nesterov": True}),
    TransformCase(
        "scale_by_adam",
        otx.scale_by_adam,
        {"b1": 0.8, "b2": 0.99},
        invalid=(
            ({"b1": 1.0}, ValueError, "b1"),
            ({"b2": -0.1}, ValueError, "b2"),
            ({"eps": -1.0}, ValueError, "eps"),
        ),
    ),
    TransformCase("scale_by_adam_amsgrad", otx.scale_by_adam, {"amsgrad": True}),
    TransformCase(
        "scale_by_adamax",
        otx.scale_by_adamax,
        {"b1": 0.8},
        invalid=(({"b2": 1.0}, ValueError, "b2"), ({"eps": -1.0}, ValueError, "eps")),
    ),
    TransformCase(
        "scale_by_rms",
        otx.scale_by_rms,
        {"alpha": 0.9, "centered": True},
        invalid=(({"alpha": -0.9}, ValueError, "alpha"), ({"eps": -1.0}, ValueError, "eps")),
    ),
    TransformCase(
        "scale_by_adagrad",
        otx.scale_by_adagrad,
        {"initial_accumulator_value": 0.1},
        invalid=(({"initial_accumulator_value": -0.1}, ValueError, "initial_accumulator_value"),),
    ),
    TransformCase(
        "scale_by_lion", otx.scale_by_lion, {"b1": 0.9, "b2": 0.99}, invalid=(({"b1": 1.5}, ValueError, "b1"),)
    ),
    TransformCase(
        "sgd",
        otx.sgd,
        {"lr": 0.1, "momentum": 0.9, "weight_decay": 1e-2, "nesterov": True},
        invalid=(
            ({"lr": -0.1}, ValueError, "lr"),
            ({"lr": 0.1, "momentum": -0.9}, ValueError, "momentum"),
            ({"lr": 0.1, "weight_decay": -1.0}, ValueError, "weight_decay"),
            ({"lr": 0.1, "nesterov": True}, ValueError, "nesterov"),
        ),
        needs_params=True,
    ),
    TransformCase(
        "adam",
        otx.adam,
        {"lr": 1e-3, "weight_decay": 1e-2, "amsgrad": True},
        invalid=(
            ({"lr": -1e-3}, ValueError, "lr"),
            ({"betas": (1.0, 0.999)}, ValueError, "betas"),
            ({"betas": (0.9, 1.0)}, ValueError, "betas"),
            ({"eps": -1e-8}, ValueError, "eps"),
            ({"weight_decay": -1e-2}, ValueError, "weight_decay"),
        ),
        needs_params=True,
    ),
    TransformCase(
        "adamw",
        otx.adamw,
        {"lr": 1e-3},
        invalid=(({"betas": (0.9,)}, ValueError, "betas"), ({"weight_decay": -1.0}, ValueError, "weight_decay")),
        needs_params=True,
    ),
    TransformCase(
        "rmsprop",
        otx.rmsprop,
        {"lr": 1e-2, "momentum": 0.9, "centered": True, "weight_decay": 1e-3},
        invalid=(({"alpha": -0.1}, ValueError, "alpha"), ({"momentum": -0.1}, ValueError, "momentum")),
        needs_params=True,
    ),
    TransformCase(
        "adagrad",
        otx.adagrad,
        {"lr": 1e-2, "lr_decay": 1e-3, "weight_decay": 1e-3},
        invalid=(({"lr_decay": -1.0}, ValueError, "lr_decay"), ({"eps": -1.0}, ValueError, "eps")),
        needs_params=True,
    ),
    TransformCase(
        "lion",
        otx.lion,
        {"lr": 1e-4, "weight_decay": 1e-2},
        invalid=(({"betas": (0.9, 1.0)}, ValueError, "betas"), ({"lr": -1.0}, ValueError, "lr")),
        needs_params=True,
    ),
    TransformCase(
        "adamax",
        otx.adamax,
        {"lr": 2e-3, "weight_decay": 1e-2},
        invalid=(({"betas": (0.9, 2.0)}, ValueError, "betas"), ({"lr": -1.0}, ValueError, "lr")),
        needs_params=True,
    ),
    # torch.optim equivalents (tests/test_optimizers_torch.py holds their parity tests).
    TransformCase(
        "radam",
        otx.radam,
        {"lr": 1e-2, "weight_decay": 1e-2, "maximize": True},
        invalid=(
            ({"lr": -1.0}, ValueError, "lr"),
            ({"betas": (1.0, 0.999)}, ValueError, "betas"),
            ({"eps": -1.0}, ValueError, "eps"),
            ({"weight_decay": -1.0}, ValueError, "weight_decay"),
            ({"decoupled_weight_decay": 1}, TypeError, "decoupled_weight_decay"),
            ({"maximize": "yes"}, TypeError, "maximize"),
        ),
        needs_params=True,
    ),
    TransformCase(
        "radam_decoupled", otx.radam, {"weight_decay": 0.1, "decoupled_weight_decay": True}, needs_params=True
    ),
    TransformCase(
        "nadam",
        otx.nadam,
        {"lr": 1e-2, "weight_decay": 1e-2, "decoupled_weight_decay": True},
        invalid=(
            ({"momentum_decay": -1.0}, ValueError, "momentum_decay"),
            ({"betas": (0.9, 1.5)}, ValueError, "betas"),
            ({"eps": -1.0}, ValueError, "eps"),
        ),
        needs_params=True,
    ),
    TransformCase(
        "adadelta",
        otx.adadelta,
        {"lr": 0.5, "rho": 0.8, "weight_decay": 1e-2, "maximize": True},
        invalid=(
            ({"rho": 1.5}, ValueError, "rho"),
            ({"eps": -1.0}, ValueError, "eps"),
            ({"lr": -1.0}, ValueError, "lr"),
            ({"weight_decay": -1.0}, ValueError, "weight_decay"),
        ),
        needs_params=True,
    ),
    TransformCase(
        "adafactor",
        otx.adafactor,
        {"lr": 1e-2, "weight_decay": 1e-2, "maximize": True},
        invalid=(
            ({"beta2_decay": 0.5}, ValueError, "beta2_decay"),
            ({"eps": (-1.0, 1e-3)}, ValueError, r"eps\[0\]"),
            ({"eps": (None, -1.0)}, ValueError, r"eps\[1\]"),
            ({"eps": 1e-3}, ValueError, "pair"),
            ({"d": 0.5}, ValueError, "d"),
            ({"weight_decay": -1.0}, ValueError, "weight_decay"),
        ),
        needs_params=True,
    ),
    TransformCase("adafactor_eps1", otx.adafactor, {"eps": (1e-30, 1e-3), "d": 2.0}, needs_params=True),
    TransformCase(
        "rprop",
        otx.rprop,
        {"lr": 1e-2, "etas": (0.4, 1.3), "step_sizes": (1e-4, 1.0), "maximize": True},
        invalid=(
            ({"etas": (1.5, 1.2)}, ValueError, "etas"),
            ({"etas": (0.5, 0.9)}, ValueError, "etas"),
            ({"step_sizes": (1e-6,)}, ValueError, "step_sizes"),
            ({"lr": -1.0}, ValueError, "lr"),
            ({"lr": lambda count: 0.1}, TypeError, "initial step size"),
        ),
    ),
    TransformCase(
        "scale_by_rprop_optax_form",
        otx.scale_by_rprop,
        {"lr": 1e-2, "etas": (0.4, 1.3), "step_sizes": (1e-4, 1.0), "optax_form": True},
        invalid=(({"optax_form": 1}, TypeError, "optax_form"),),
    ),
    TransformCase(
        "asgd",
        otx.asgd,
        {"lr": 1e-2, "lambd": 1e-2, "t0": 1.0, "weight_decay": 1e-2, "maximize": True},
        invalid=(
            ({"lr": -1.0}, ValueError, "lr"),
            ({"weight_decay": -1.0}, ValueError, "weight_decay"),
            ({"lambd": "x"}, TypeError, "lambd"),
        ),
        needs_params=True,
    ),
    TransformCase(
        "muon_with_adamw",
        otx.muon_with_adamw,
        {"lr": 0.02, "adamw_lr": 1e-3, "exclude": ()},  # routed by shape: TransformOptimizer's keys are positions
        needs_params=True,
        invalid=(
            ({"lr": -1.0}, ValueError, "lr"),
            ({"adjust_lr_fn": "other"}, ValueError, "adjust_lr_fn"),
            ({"exclude": "embed"}, TypeError, "exclude"),
        ),
    ),
    TransformCase(
        "adam_bf16_mu",
        otx.adam,
        {"lr": 1e-2, "mu_dtype": torch.bfloat16},
        invalid=(({"mu_dtype": "int8"}, ValueError, "mu_dtype"), ({"mu_dtype": 3}, TypeError, "mu_dtype")),
        state_dtype=torch.bfloat16,
    ),
    TransformCase(
        "adamw_bf16_mu", otx.adamw, {"lr": 1e-2, "mu_dtype": "bfloat16"}, needs_params=True, state_dtype=torch.bfloat16
    ),
    TransformCase(
        "sgd_bf16_mu", otx.sgd, {"lr": 0.1, "momentum": 0.9, "mu_dtype": "bfloat16"}, state_dtype=torch.bfloat16
    ),
    TransformCase("lion_bf16_mu", otx.lion, {"lr": 1e-3, "mu_dtype": torch.bfloat16}, state_dtype=torch.bfloat16),
    # Combinators, each with a sample inner transform.
    TransformCase(
        "accumulate",
        otx.accumulate,
        {"inner": otx.adam(0.1), "every_k": 2},
        invalid=(
            ({"inner": otx.adam(0.1), "every_k": 0}, ValueError, "every_k"),
            ({"inner": "adam", "every_k": 2}, TypeError, "GradientTransformation"),
        ),
    ),
    TransformCase(
        "scale_by_amp",
        otx.scale_by_amp,
        {"inner": otx.sgd(0.1, momentum=0.9), "init_scale": 4.0, "growth_interval": 1},
        invalid=(
            ({"inner": otx.identity(), "growth_factor": 0.5}, ValueError, "growth_factor"),
            ({"inner": otx.identity(), "backoff_factor": 2.0}, ValueError, "backoff_factor"),
            ({"inner": otx.identity(), "growth_interval": 0}, ValueError, "growth_interval"),
            ({"inner": otx.identity(), "enabled": 1}, TypeError, "enabled"),
        ),
    ),
    TransformCase("scale_by_amp_disabled", otx.scale_by_amp, {"inner": otx.adam(0.1), "enabled": False}),
    TransformCase(
        "apply_if_finite",
        otx.apply_if_finite,
        {"inner": otx.adamw(0.1)},
        needs_params=True,
        invalid=(({"inner": None}, TypeError, "GradientTransformation"),),
    ),
    TransformCase(
        "masked",
        otx.masked,
        {"inner": otx.adamw(0.1), "mask": lambda p: {k: i % 2 == 0 for i, k in enumerate(p)}},
        needs_params=True,
        invalid=(({"inner": otx.identity(), "mask": ["w"]}, TypeError, "mask"),),
    ),
    TransformCase(
        "quantize_state",
        otx.quantize_state,
        {"inner": otx.adamw(0.1), "bits": 8, "min_size": 0, "block_size": 4},
        needs_params=True,
        invalid=(
            ({"inner": otx.adamw(0.1), "bits": 16}, ValueError, "bits"),
            ({"inner": otx.adamw(0.1), "block_size": 3}, ValueError, "block_size"),
            ({"inner": None}, TypeError, "GradientTransformation"),
        ),
    ),
    TransformCase("quantize_state_4bit_lion", otx.quantize_state, {"inner": otx.lion(0.01), "bits": 4, "min_size": 0}),
    TransformCase(
        "muon_with_adamw_nd",
        otx.muon_with_adamw,
        {"lr": 0.02, "adamw_lr": 1e-3, "flatten_nd": True, "exclude": ()},
        needs_params=True,
        invalid=(({"flatten_nd": "yes"}, TypeError, "flatten_nd"),),
    ),
    TransformCase(
        "multi_transform",
        otx.multi_transform,
        {
            "transforms": {"even": otx.sgd(0.1, momentum=0.9), "odd": otx.lion(0.01)},
            "labels": lambda p: {k: ("even", "odd")[i % 2] for i, k in enumerate(p)},
        },
        invalid=(
            ({"transforms": {}, "labels": {}}, TypeError, "non-empty"),
            ({"transforms": {"a": "sgd"}, "labels": {}}, TypeError, "transforms"),
        ),
    ),
    TransformCase(
        "inject_hyperparams",
        lambda **kw: otx.inject_hyperparams(otx.adam)(**kw),
        {"lr": otx.schedules.cosine_decay(0.1, 5), "betas": (0.9, 0.99)},
        invalid=(
            ({"lr": -1.0}, ValueError, "lr"),
            ({"lr": 0.1, "momentum": 0.9}, TypeError, "unexpected keyword"),
        ),
    ),
    # optax-equal optimizers and filters (issue 12).
    TransformCase(
        "clip_by_norm",
        otx.clip_by_norm,
        {"max_norm": 1.0},
        invalid=(
            ({"max_norm": -1.0}, ValueError, "max_norm"),
            ({"max_norm": 1.0, "per_tensor": "yes"}, TypeError, "per_tensor"),
            ({"max_norm": 1.0, "norm_type": -2, "per_tensor": True}, ValueError, "norm_type"),
        ),
    ),
    TransformCase("clip_by_norm_per_tensor", otx.clip_by_norm, {"max_norm": 0.5, "per_tensor": True}),
    TransformCase(
        "clip_by_norm_per_tensor_inf", otx.clip_by_norm, {"max_norm": 0.5, "norm_type": "inf", "per_tensor": True}
    ),
    TransformCase(
        "scale_by_trust_ratio",
        otx.scale_by_trust_ratio,
        {"trust_coefficient": 0.5, "eps": 1e-3},
        invalid=(({"trust_coefficient": -1.0}, ValueError, "trust_coefficient"), ({"eps": -1.0}, ValueError, "eps")),
        needs_params=True,
    ),
    TransformCase(
        "lamb",
        otx.lamb,
        {"lr": 1e-2, "weight_decay": 1e-2},
        invalid=(
            ({"lr": -1.0}, ValueError, "lr"),
            ({"betas": (0.9, 1.0)}, ValueError, "betas"),
            ({"eps": -1.0}, ValueError, "eps"),
            ({"weight_decay": -1.0}, ValueError, "weight_decay"),
        ),
        needs_params=True,
    ),
    TransformCase(
        "lamb_schedule",
        otx.lamb,
        {"lr": otx.schedules.cosine_decay(0.1, 5), "weight_decay": otx.schedules.linear(0.1, 0.0, 4)},
        needs_params=True,
    ),
    TransformCase(
        "lars",
        otx.lars,
        {"lr": 0.1, "weight_decay": 1e-3, "nesterov": True},
        invalid=(
            ({"lr": -0.1}, ValueError, "lr"),
            ({"lr": 0.1, "momentum": -0.9}, ValueError, "momentum"),
            ({"lr": 0.1, "momentum": 0.0, "nesterov": True}, ValueError, "nesterov"),
            ({"lr": 0.1, "trust_coefficient": -1.0}, ValueError, "trust_coefficient"),
            ({"lr": 0.1, "nesterov": 1}, TypeError, "nesterov"),
        ),
        needs_params=True,
    ),
    TransformCase(
        "lookahead",
        otx.lookahead,
        {"inner": otx.adam(0.1), "sync_period": 2, "slow_step_size": 0.5},
        invalid=(
            ({"inner": "adam", "sync_period": 2, "slow_step_size": 0.5}, TypeError, "GradientTransformation"),
            ({"inner": otx.sgd(0.1), "sync_period": 0, "slow_step_size": 0.5}, ValueError, "sync_period"),
            ({"inner": otx.sgd(0.1), "sync_period": 2.0, "slow_step_size": 0.5}, TypeError, "sync_period"),
            ({"inner": otx.sgd(0.1), "sync_period": 2, "slow_step_size": 1.5}, ValueError, "slow_step_size"),
        ),
        needs_params=True,
    ),
    TransformCase(
        "adaptive_grad_clip",
        otx.adaptive_grad_clip,
        {"clipping": 0.05},
        invalid=(({"clipping": -1.0}, ValueError, "clipping"), ({"clipping": 0.1, "eps": -1.0}, ValueError, "eps")),
        needs_params=True,
    ),
    TransformCase("zero_nans", otx.zero_nans, {}),
    TransformCase("centralize", otx.centralize, {}),
    TransformCase(
        "schedule_free_adamw",
        otx.schedule_free_adamw,
        {"lr": 1e-2, "warmup_steps": 2, "weight_decay": 1e-2},
        invalid=(
            ({"lr": -1.0}, ValueError, "lr"),
            ({"warmup_steps": -1}, ValueError, "warmup_steps"),
            ({"warmup_steps": 1.5}, TypeError, "warmup_steps"),
            ({"betas": (0.0, 0.999)}, ValueError, "betas"),
            ({"betas": (0.9, 1.0)}, ValueError, "betas"),
            ({"weight_lr_power": -1.0}, ValueError, "weight_lr_power"),
            ({"state_dtype": torch.int8}, ValueError, "state_dtype"),
        ),
        needs_params=True,
    ),
    TransformCase(
        "schedule_free_adamw_bf16_state",
        otx.schedule_free_adamw,
        {"state_dtype": torch.bfloat16},
        needs_params=True,
        state_dtype=torch.bfloat16,
    ),
    TransformCase(
        "schedule_free_sgd",
        otx.schedule_free_sgd,
        {"lr": 0.1, "momentum": 0.8, "weight_decay": 1e-3},
        invalid=(
            ({"momentum": 0.0}, ValueError, "momentum"),
            ({"momentum": 1.0}, ValueError, "momentum"),
            ({"weight_decay": -1.0}, ValueError, "weight_decay"),
        ),
        needs_params=True,
    ),
    TransformCase(
        "ema_params",
        lambda **kw: otx.chain(otx.sgd(0.1), otx.ema_params(**kw)),
        {"decay": 0.9},
        invalid=(({"decay": 1.5}, ValueError, "decay"), ({"decay": "x"}, TypeError, "decay")),
        needs_params=True,
    ),
    TransformCase(
        "inject_hyperparams_schedule_free_adamw",
        lambda **kw: otx.inject_hyperparams(otx.schedule_free_adamw)(**kw),
        {"lr": 1e-2, "betas": (0.9, 0.99), "weight_decay": 1e-2},
        needs_params=True,
    ),
    TransformCase(
        "inject_hyperparams_lars", lambda **kw: otx.inject_hyperparams(otx.lars)(**kw), {"lr": 0.1}, needs_params=True
    ),
    TransformCase(
        "skip_if_spike",
        otx.skip_if_spike,
        {"inner": otx.adam(0.1), "threshold": 2.0, "window": 2},
        invalid=(
            ({"inner": otx.adam(0.1), "threshold": 0.0, "window": 2}, ValueError, "threshold"),
            ({"inner": otx.adam(0.1), "threshold": 2.0, "window": 0}, ValueError, "window"),
            ({"inner": None, "threshold": 2.0, "window": 2}, TypeError, "GradientTransformation"),
        ),
    ),
]

# Transforms added for the optax namespace (issue 22). ``flatten`` is not here: its inner state covers the
# whole flat vector, so it cannot leave gradless parameters out (tests/test_optax_namespace_laws.py has its laws).
TABLE += [
    TransformCase("keep_params_nonnegative", otx.keep_params_nonnegative, {}, needs_params=True),
    TransformCase(
        "clip_by_block_rms",
        otx.clip_by_block_rms,
        {"threshold": 0.5},
        invalid=(({"threshold": 0.0}, ValueError, "threshold"), ({"threshold": "x"}, TypeError, "threshold")),
    ),
    TransformCase(
        "normalize_by_update_norm",
        otx.normalize_by_update_norm,
        {"scale_factor": 0.5},
        invalid=(({"eps": -1.0}, ValueError, "eps"),),
    ),
    TransformCase(
        "scale_by_param_block_norm",
        otx.scale_by_param_block_norm,
        {},
        invalid=(({"min_scale": -1.0}, ValueError, "min_scale"),),
        needs_params=True,
    ),
    TransformCase("scale_by_param_block_rms", otx.scale_by_param_block_rms, {"min_scale": 0.1}, needs_params=True),
    TransformCase(
        "conditionally_transform",
        otx.conditionally_transform,
        {"inner": otx.adam(0.1), "should_transform_fn": lambda step: step >= 1},
        invalid=(
            ({"inner": None, "should_transform_fn": lambda step: True}, TypeError, "GradientTransformation"),
            ({"inner": otx.adam(0.1), "should_transform_fn": 3}, TypeError, "should_transform_fn"),
        ),
    ),
    TransformCase(
        "conditionally_mask",
        otx.conditionally_mask,
        {"inner": otx.sgd(0.1, momentum=0.9), "should_transform_fn": lambda step: step % 2 == 0},
        invalid=(({"inner": otx.sgd(0.1), "should_transform_fn": None}, TypeError, "should_transform_fn"),),
    ),
    TransformCase(
        "apply_every",
        otx.apply_every,
        {"k": 2},
        invalid=(({"k": 0}, ValueError, "k"), ({"k": 1.5}, TypeError, "k")),
    ),
    TransformCase(
        "scale_by_factored_rms",
        otx.scale_by_factored_rms,
        {"min_dim_size_to_factor": 2, "epsilon": 1e-6},
        invalid=(({"decay_rate": 1.5}, ValueError, "decay_rate"), ({"decay_rate_fn": 3}, TypeError, "decay_rate_fn")),
    ),
    TransformCase("set_to_zero", otx.set_to_zero, {}, differentiable=False),  # zeros depend on nothing
    TransformCase(
        "freeze",
        otx.freeze,
        {"mask": lambda params: {k: i % 2 == 0 for i, k in enumerate(params)}},
        invalid=(({"mask": "x"}, TypeError, "mask"),),
        differentiable=False,  # frozen entries are zeros
    ),
    TransformCase(
        "selective_transform",
        lambda **kw: otx.selective_transform(otx.adam(0.1), **kw),
        {"freeze_mask": lambda params: {k: i % 2 == 1 for i, k in enumerate(params)}},
        invalid=(({"freeze_mask": 3}, TypeError, "freeze_mask"),),
        differentiable=False,  # frozen entries are zeros
    ),
    TransformCase(
        "add_noise",
        otx.add_noise,
        {"eta": 0.01, "gamma": 0.55, "key": 0},
        invalid=(
            ({"eta": -1.0, "gamma": 0.5}, ValueError, "eta"),
            ({"eta": 0.1, "gamma": 0.5, "key": "k"}, TypeError, "key"),
        ),
    ),
    TransformCase(
        "ema",
        otx.ema,
        {"decay": 0.9},
        invalid=(({"decay": 1.5}, ValueError, "decay"), ({"decay": 0.9, "debias": "yes"}, TypeError, "debias")),
    ),
    TransformCase(
        "ema_biased_bf16",
        otx.ema,
        {"decay": 0.5, "debias": False, "accumulator_dtype": torch.bfloat16},
        state_dtype=torch.bfloat16,
    ),
    TransformCase(
        "stateless",
        otx.stateless,
        {"f": lambda updates, params: {k: 2 * v for k, v in updates.items()}},
        invalid=(({"f": 3}, TypeError, "callable"),),
    ),
    TransformCase("stateless_with_tree_map", otx.stateless_with_tree_map, {"f": lambda u, p: 0.5 * u}),
    TransformCase("with_extra_args_support", otx.with_extra_args_support, {"tx": otx.adam(0.1)}),
    TransformCase(
        "snapshot", otx.snapshot, {"measure_name": "norm", "measure": lambda u: sum(v.abs().sum() for v in u.values())}
    ),
    TransformCase(
        "monitor_with_ema",
        lambda **kw: otx.monitor({"sum": otx.measure_with_ema(**kw)}),
        {"measure": lambda u: {k: v.abs().sum() for k, v in u.items()}, "decay": 0.9},
    ),
]

# Hostile values (issue 10): NaN, infinity, bools given as strings, wrong-shaped tensors. Kept in one
# block so the cases above stay as they were; tests/reliability/ covers every argument by kind.
_NAN, _INF = float("nan"), float("inf")
_HOSTILE: dict[str, tuple[tuple[dict[str, Any], type[Exception], str], ...]] = {
    "scale_by_learning_rate": (({"lr": _NAN}, ValueError, "lr: nan"), ({"lr": _INF}, ValueError, "lr: inf")),
    "add_decayed_weights": (({"weight_decay": _INF}, ValueError, "weight_decay: inf"),),
    "trace": (
        ({"momentum": _NAN}, ValueError, "momentum"),
        ({"momentum": 0.9, "nesterov": "no"}, TypeError, "nesterov"),
        ({"momentum": 0.9, "dampening": _NAN}, ValueError, "dampening"),
    ),
    "scale_by_adam": (({"amsgrad": "no"}, TypeError, "amsgrad"), ({"eps": _INF}, ValueError, "eps")),
    "scale_by_rms": (({"alpha": 2.0}, ValueError, "alpha"), ({"centered": "False"}, TypeError, "centered")),
    "sgd": (
        ({"lr": 0.1, "weight_decay": _INF}, ValueError, "weight_decay: inf"),
        ({"lr": _NAN}, ValueError, "lr: nan"),
        ({"lr": 0.1, "momentum": 0.9, "nesterov": "yes"}, TypeError, "nesterov"),
    ),
    "adam": (
        ({"amsgrad": "no"}, TypeError, "amsgrad"),
        ({"betas": (2.0, 3.0)}, ValueError, "betas"),
        ({"betas": (_NAN, 0.9)}, ValueError, "betas"),
        ({"lr": torch.ones(2)}, ValueError, "shape"),
    ),
    "adamw": (({"amsgrad": 1}, TypeError, "amsgrad"), ({"eps": _NAN}, ValueError, "eps")),
    "rmsprop": (({"alpha": 2.0}, ValueError, "alpha"), ({"centered": "no"}, TypeError, "centered")),
    "adagrad": (({"initial_accumulator_value": -1.0}, ValueError, "initial_accumulator_value"),),
    "lion": (({"weight_decay": _NAN}, ValueError, "weight_decay"),),
    "adamax": (({"eps": _INF}, ValueError, "eps"),),
    "accumulate": (({"inner": otx.identity(), "every_k": 2, "average": "no"}, TypeError, "average"),),
    "scale_by_amp": (({"inner": otx.identity(), "init_scale": _INF}, ValueError, "init_scale"),),
}
# The transforms added alongside issue 10 (retrofitted to the same checks).
_HOSTILE.update(
    {
        "radam": (
            ({"lr": _NAN}, ValueError, "lr"),
            ({"eps": _INF}, ValueError, "eps"),
            ({"betas": (_NAN, 0.9)}, ValueError, "betas"),
            ({"lr": torch.ones(2)}, ValueError, "shape"),
        ),
        "nadam": (
            ({"momentum_decay": _NAN}, ValueError, "momentum_decay"),
            ({"decoupled_weight_decay": "no"}, TypeError, "decoupled_weight_decay"),
            ({"maximize": 1}, TypeError, "maximize"),
            ({"weight_decay": _INF}, ValueError, "weight_decay"),
        ),
        "adadelta": (
            ({"rho": _NAN}, ValueError, "rho"),
            ({"eps": _INF}, ValueError, "eps"),
            ({"maximize": "no"}, TypeError, "maximize"),
            ({"lr": torch.ones(2)}, ValueError, "shape"),
        ),
        "adafactor": (
            ({"beta2_decay": _NAN}, ValueError, "beta2_decay"),
            ({"d": _INF}, ValueError, "d"),
            ({"eps": (None, _NAN)}, ValueError, r"eps\[1\]"),
            ({"maximize": "no"}, TypeError, "maximize"),
        ),
        "rprop": (
            ({"lr": _NAN}, ValueError, "lr"),
            ({"etas": (_NAN, 1.2)}, ValueError, "etas"),
            ({"step_sizes": (2.0, 1.0)}, ValueError, "step_sizes"),
            ({"maximize": "no"}, TypeError, "maximize"),
        ),
        "asgd": (
            ({"alpha": _NAN}, ValueError, "alpha"),
            ({"t0": _NAN}, ValueError, "t0"),
            ({"lambd": _INF}, ValueError, "lambd"),
            ({"maximize": "no"}, TypeError, "maximize"),
        ),
        "muon_with_adamw": (
            ({"lr": _NAN}, ValueError, "lr"),
            ({"nesterov": "no"}, TypeError, "nesterov"),
            ({"adamw_betas": (0.9, _NAN)}, ValueError, "betas"),
            ({"weight_decay": _INF}, ValueError, "weight_decay"),
        ),
        "lookahead": (
            ({"inner": otx.sgd(0.1), "sync_period": 2, "slow_step_size": _NAN}, ValueError, "slow_step_size"),
        ),
        "adaptive_grad_clip": (({"clipping": _NAN}, ValueError, "clipping"),),
        "clip_by_norm": (({"max_norm": _NAN}, ValueError, "max_norm"),),
        "schedule_free_sgd": (({"lr": _INF}, ValueError, "lr"), ({"warmup_steps": 1.5}, TypeError, "warmup_steps")),
        "ema_params": (({"decay": _NAN}, ValueError, "decay"), ({"decay": True}, TypeError, "decay")),
    }
)
TABLE = [dataclasses.replace(c, invalid=c.invalid + _HOSTILE.get(c.name, ())) for c in TABLE]

# The rules added for optax's catalogue live in their own file (this one is long enough).
from tests.transform_table_optax_rules import SPECS as _OPTAX_RULE_SPECS  # noqa: E402

TABLE += [TransformCase(**spec) for spec in _OPTAX_RULE_SPECS]

# The preconditioners of issue 23 (soap, shampoo, psgd_kron, mars) and their scale_by blocks.
_PRECONDITIONERS = [
    TransformCase(
        "scale_by_soap",
        otx.scale_by_soap,
        {"b1": 0.9, "precondition_frequency": 2, "precondition_1d": True},
        invalid=(
            ({"b1": 1.0}, ValueError, "b1"),
            ({"precondition_frequency": 0}, ValueError, "precondition_frequency"),
            ({"eps": -1.0}, ValueError, "eps"),
            ({"shampoo_beta": _NAN}, ValueError, "shampoo_beta"),
            ({"normalize_gradient": "no"}, TypeError, "normalize_gradient"),
        ),
        # A rotated coordinate of the second moment can be exactly 0 (a rank-one statistic), where sqrt has
        # no derivative, as Adam's has none at a zero gradient; the soap case below covers autograd.
        differentiable=False,
    ),
    TransformCase(
        "soap",
        otx.soap,
        {"lr": 1e-2, "precondition_frequency": 2, "weight_decay": 0.1},
        invalid=(({"lr": -1.0}, ValueError, "lr"), ({"betas": (0.9, 1.0)}, ValueError, "betas")),
        needs_params=True,
    ),
    TransformCase(
        "scale_by_shampoo",
        otx.scale_by_shampoo,
        {"block_size": 2, "start_preconditioning_step": 1, "preconditioning_compute_steps": 1, "graft_type": "adagrad"},
        invalid=(
            ({"graft_type": "adam"}, ValueError, "graft_type"),
            ({"preconditioner_type": "rows"}, ValueError, "preconditioner_type"),
            ({"block_size": 0}, ValueError, "block_size"),
            ({"b1": 1.5}, ValueError, "b1"),
            ({"inverse_exponent_override": -1}, ValueError, "inverse_exponent_override"),
        ),
    ),
    TransformCase(
        "shampoo",
        otx.shampoo,
        {
            "lr": 1e-2,
            "block_size": 2,
            "start_preconditioning_step": 2,
            "preconditioning_compute_steps": 2,
            "weight_decay": 1e-2,
            "graft_type": "rmsprop",
        },
        invalid=(({"lr": _NAN}, ValueError, "lr"), ({"decoupled_weight_decay": "yes"}, TypeError, "decoupled")),
        needs_params=True,
    ),
    TransformCase(
        "scale_by_psgd_kron",
        otx.scale_by_psgd_kron,
        {"b1": 0.8, "memory_save_mode": "smart_one_diag", "balance_every": 1},
        invalid=(
            ({"memory_save_mode": "some_diag"}, ValueError, "memory_save_mode"),
            ({"b1": 1.5}, ValueError, "b1"),
            ({"preconditioner_update_probability": 2.0}, ValueError, "preconditioner_update_probability"),
            ({"max_size_triangular": 0}, ValueError, "max_size_triangular"),
            ({"seed": -1}, ValueError, "seed"),
        ),
    ),
    TransformCase(
        "psgd_kron",
        otx.psgd_kron,
        {"lr": 1e-2, "weight_decay": 1e-2, "preconditioner_update_probability": 0.5},
        invalid=(({"lr": -1.0}, ValueError, "lr"), ({"weight_decouple": 1}, TypeError, "weight_decouple")),
        needs_params=True,
    ),
    TransformCase(
        "scale_by_mars",
        otx.scale_by_mars,
        {"gamma": 0.05, "ams_bound": True},
        invalid=(
            ({"mars_type": "shampoo"}, ValueError, "mars_type"),
            ({"gamma": -1.0}, ValueError, "gamma"),
            ({"b2": 1.0}, ValueError, "b2"),
        ),
    ),
    TransformCase(
        "mars",
        otx.mars,
        {"lr": 1e-2, "weight_decay": 1e-2, "optimize_1d": False},
        invalid=(({"betas_1d": (0.9, 1.5)}, ValueError, "betas_1d"), ({"lr_1d": -1.0}, ValueError, "lr_1d")),
        needs_params=True,
    ),
]
TABLE += _PRECONDITIONERS
