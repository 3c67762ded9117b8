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


TABLE: list[TransformCase] = [
    TransformCase("identity", otx.identity, {}),
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
