"""Pure core: every public argument of every transform, combinator and schedule is checked at construction.

Table-driven: for each factory, each argument has a kind (tests/reliability/hostile.py), and
every hostile value of that kind must raise ``TypeError``/``ValueError`` naming the argument.
"""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import optimtx as otx
from optimtx import schedules as S
from tests.reliability.hostile import BAD_VALUES, hostile

# factory, valid kwargs, {argument: kind}
ARGUMENTS = [
    (otx.scale, {"factor": 0.5}, {"factor": "finite"}),
    (otx.scale_by_learning_rate, {"lr": 0.1}, {"lr": "non_negative", "flip_sign": "bool"}),
    (otx.clip_by_global_norm, {"max_norm": 1.0}, {"error_if_nonfinite": "bool"}),
    (otx.clip_by_value, {"clip_value": 1.0}, {}),
    (otx.add_decayed_weights, {"weight_decay": 0.1}, {"weight_decay": "non_negative"}),
    (otx.trace, {"momentum": 0.9}, {"momentum": "non_negative", "dampening": "finite", "nesterov": "bool"}),
    (otx.scale_by_adam, {}, {"b1": "unit_open", "b2": "unit_open", "eps": "non_negative", "amsgrad": "bool"}),
    (otx.scale_by_adamax, {}, {"b1": "unit_open", "b2": "unit_open", "eps": "non_negative"}),
    (otx.scale_by_rms, {}, {"alpha": "unit_closed", "eps": "non_negative", "centered": "bool"}),
    (otx.scale_by_adagrad, {}, {"initial_accumulator_value": "non_negative", "eps": "non_negative"}),
    (otx.scale_by_lion, {}, {"b1": "unit_open", "b2": "unit_open"}),
    (
        otx.sgd,
        {"lr": 0.1, "momentum": 0.9},
        {"lr": "non_negative", "momentum": "non_negative", "weight_decay": "non_negative", "nesterov": "bool"},
    ),
    (
        otx.adam,
        {},
        {
            "lr": "non_negative",
            "betas": "betas",
            "eps": "non_negative",
            "weight_decay": "non_negative",
            "amsgrad": "bool",
        },
    ),
    (
        otx.adamw,
        {},
        {
            "lr": "non_negative",
            "betas": "betas",
            "eps": "non_negative",
            "weight_decay": "non_negative",
            "amsgrad": "bool",
        },
    ),
    (otx.adamax, {}, {"lr": "non_negative", "betas": "betas", "eps": "non_negative", "weight_decay": "non_negative"}),
    (
        otx.rmsprop,
        {},
        {
            "lr": "non_negative",
            "alpha": "unit_closed",
            "eps": "non_negative",
            "weight_decay": "non_negative",
            "momentum": "non_negative",
            "centered": "bool",
        },
    ),
    (
        otx.adagrad,
        {},
        {
            "lr": "non_negative",
            "lr_decay": "non_negative",
            "weight_decay": "non_negative",
            "initial_accumulator_value": "non_negative",
            "eps": "non_negative",
        },
    ),
    (otx.lion, {}, {"lr": "non_negative", "betas": "betas", "weight_decay": "non_negative"}),
    (
        otx.accumulate,
        {"inner": otx.identity(), "every_k": 2},
        {"inner": "transform", "every_k": "positive_int", "average": "bool"},
    ),
    (
        otx.scale_by_amp,
        {"inner": otx.identity()},
        {"inner": "transform", "init_scale": "positive", "growth_interval": "positive_int", "enabled": "bool"},
    ),
    (otx.apply_if_finite, {"inner": otx.identity()}, {"inner": "transform"}),
    (otx.masked, {"inner": otx.identity(), "mask": {}}, {"inner": "transform"}),
    (S.constant, {"value": 0.1}, {"value": "finite"}),
    (
        S.linear,
        {"init_value": 0.0, "end_value": 1.0, "transition_steps": 3},
        {"init_value": "finite", "end_value": "finite", "transition_steps": "positive_int"},
    ),
    (
        S.cosine_decay,
        {"init_value": 1.0, "decay_steps": 3},
        {"init_value": "finite", "decay_steps": "positive_int", "alpha": "finite"},
    ),
    (
        S.exponential_decay,
        {"init_value": 1.0, "transition_steps": 2, "decay_rate": 0.5},
        {"decay_rate": "positive", "staircase": "bool"},
    ),
    (S.polynomial, {"init_value": 1.0, "end_value": 0.0, "power": 2.0, "transition_steps": 3}, {"power": "finite"}),
]

# The preconditioners of issue 23.
_FLAGS = ("precondition_1d", "correct_bias", "normalize_gradient")
ARGUMENTS += [
    (
        otx.scale_by_soap,
        {},
        {
            "b1": "unit_open",
            "b2": "unit_open",
            "eps": "non_negative",
            "precondition_frequency": "positive_int",
            "max_precondition_dim": "positive_int",
            **dict.fromkeys(_FLAGS, "bool"),
        },
    ),
    (otx.soap, {}, {"lr": "non_negative", "betas": "betas", "weight_decay": "non_negative"}),
    (
        otx.scale_by_shampoo,
        {},
        {
            "b1": "unit_open",
            "block_size": "positive_int",
            "start_preconditioning_step": "positive_int",
            "preconditioning_compute_steps": "positive_int",
            "statistics_compute_steps": "positive_int",
            "nesterov": "bool",
            "shape_interpretation": "bool",
            "moving_average_for_momentum": "bool",
            "diagonal_eps": "non_negative",
            "matrix_eps": "non_negative",
            "weight_decay": "non_negative",
        },
    ),
    (otx.shampoo, {}, {"lr": "non_negative", "betas": "betas", "decoupled_weight_decay": "bool"}),
    (
        otx.scale_by_psgd_kron,
        {},
        {
            "b1": "unit_open",
            "max_size_triangular": "positive_int",
            "momentum_into_precond_update": "bool",
            "precond_lr": "non_negative",
            "precond_init_scale": "non_negative",
        },
    ),
    (otx.psgd_kron, {}, {"lr": "non_negative", "weight_decay": "non_negative", "weight_decouple": "bool"}),
    (
        otx.scale_by_mars,
        {},
        {
            "b1": "unit_open",
            "b2": "unit_open",
            "gamma": "non_negative",
            "eps": "non_negative",
            "ams_bound": "bool",
            "correct": "bool",
        },
    ),
    (
        otx.mars,
        {},
        {
            "lr": "non_negative",
            "lr_1d": "non_negative",
            "betas": "betas",
            "betas_1d": "betas",
            "optimize_1d": "bool",
            "weight_decay": "non_negative",
            "weight_decay_1d": "non_negative",
        },
    ),
]

CASES = [(f, kw, arg, kind) for f, kw, kinds in ARGUMENTS for arg, kind in kinds.items()]
IDS = [f"{f.__name__}-{arg}" for f, _, arg, _ in CASES]


@pytest.mark.parametrize("factory,kwargs,arg,kind", CASES, ids=IDS)
def test_valid_kwargs_build(factory, kwargs, arg, kind):
    del arg, kind
    factory(**kwargs)


@pytest.mark.parametrize("factory,kwargs,arg,kind", CASES, ids=IDS)
@settings(max_examples=12)
@given(data=st.data())
def test_every_hostile_value_is_refused_naming_the_argument(factory, kwargs, arg, kind, data):
    bad = data.draw(hostile(kind))
    # Special-case values that are fine for this particular argument.
    if arg in {"max_norm", "clip_value"} and bad == math.inf:
        return
    with pytest.raises((TypeError, ValueError)) as info:
        factory(**{**kwargs, arg: bad})
    message = str(info.value)
    assert arg in message or (kind == "transform" and "GradientTransformation" in message), message


@pytest.mark.parametrize("kind", sorted(BAD_VALUES))
def test_hostile_kinds_are_nonempty(kind):
    assert len(BAD_VALUES[kind]) >= 5


def test_bool_flags_are_never_truthy_strings():
    """``adam(amsgrad="no")`` used to turn AMSGrad on; every flag now takes only True/False."""
    for factory, kwargs, flag in [
        (otx.adam, {}, "amsgrad"),
        (otx.adamw, {}, "amsgrad"),
        (otx.rmsprop, {}, "centered"),
        (otx.sgd, {"momentum": 0.9}, "nesterov"),
        (otx.scale_by_rms, {}, "centered"),
        (otx.accumulate, {"inner": otx.identity(), "every_k": 2}, "average"),
    ]:
        with pytest.raises(TypeError, match=f"{flag} must be True(,| or) False.*, got 'no'"):
            factory(**kwargs, **{flag: "no"})


def test_tensor_hyperparameters_must_be_0d_floats():
    with pytest.raises(ValueError, match="shape \\(2,\\)"):
        otx.adam(lr=torch.ones(2))
    with pytest.raises(ValueError, match="int64"):
        otx.sgd(lr=torch.tensor(1))
    otx.adam(lr=torch.tensor(0.1))  # a 0-d float tensor is fine


def test_infinite_clipping_thresholds_are_allowed():
    """``max_norm=inf`` is the usual way to only measure the norm; it stays valid (NaN does not)."""
    otx.clip_by_global_norm(math.inf)
    otx.clip_by_value(math.inf)
    with pytest.raises(ValueError, match="max_norm: nan"):
        otx.clip_by_global_norm(math.nan)


@pytest.mark.parametrize(
    "values,match",
    [
        ({"betas": (2.0, 3.0)}, "betas\\[0\\]"),
        ({"betas": (0.9,)}, "betas"),
        ({"lr": -1.0}, "lr"),
        ({"lr": math.nan}, "lr"),
        ({"eps": math.inf}, "eps"),
        ({"weight_decay": "0.1"}, "weight_decay"),
        ({"lr": True}, "lr"),
    ],
)
def test_set_hyperparams_checks_like_construction(values, match):
    tx = otx.inject_hyperparams(otx.adam)(lr=0.1, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01)
    state = tx.init({"w": torch.ones(2)})
    before = otx.get_hyperparams(state)
    with pytest.raises((TypeError, ValueError), match=match):
        otx.set_hyperparams(state, **values)
    after = otx.get_hyperparams(state)
    assert {k: str(v) for k, v in after.items()} == {k: str(v) for k, v in before.items()}


def test_set_hyperparams_is_all_or_nothing():
    """One bad value among several: nothing is set (the input state is never changed anyway)."""
    tx = otx.inject_hyperparams(otx.adam)(lr=0.1, eps=1e-8)
    state = tx.init({"w": torch.ones(2)})
    with pytest.raises(ValueError, match="eps"):
        otx.set_hyperparams(state, lr=0.5, eps=-1.0)
    assert otx.get_hyperparams(state)["lr"].item() == pytest.approx(0.1)
