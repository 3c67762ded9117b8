"""Whole optimizers give the parameters of their torch.optim class (or, for Lion, of the paper)."""

from __future__ import annotations

import inspect

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import optimtx as otx
from tests.strategies import clone_tree, gradient_runs

TOL = {"rtol": 1e-9, "atol": 1e-12}
LR = st.floats(1e-4, 0.5)
DECAY = st.sampled_from([0.0, 1e-3, 0.1])
BETA = st.floats(0.0, 0.99)
EPS = st.sampled_from([1e-10, 1e-8, 1e-3])
MAXIMIZE = st.booleans()


def run_ours(tx, params, grads_seq):
    state = tx.init(params)
    for grads in grads_seq:
        updates, state = tx.update(grads, state, params)
        params = otx.apply_updates(params, updates)
    return params


def run_torch(cls, kwargs, params, grads_seq, foreach):
    ps = [torch.nn.Parameter(p.clone()) for p in params.values()]
    opt = cls(ps, foreach=foreach, **kwargs)
    for grads in grads_seq:
        for p, g in zip(ps, grads.values(), strict=True):
            p.grad = g.clone()
        opt.step()
    return {k: p.detach() for k, p in zip(params, ps, strict=True)}


def assert_trees_close(got, expected, **tol):
    assert list(got) == list(expected)
    for k in expected:
        torch.testing.assert_close(got[k], expected[k], equal_nan=True, **(tol or TOL))


def check_parity(factory, cls, kwargs, run):
    params, grads_seq = run
    got = run_ours(factory(**kwargs), params, grads_seq)
    for foreach in (False, True):
        assert_trees_close(got, run_torch(cls, kwargs, params, grads_seq, foreach))


@st.composite
def sgd_kwargs(draw):
    nesterov = draw(st.booleans())
    momentum = draw(st.floats(0.1, 0.99)) if nesterov else draw(st.sampled_from([0.0, 0.5, 0.9]))
    dampening = 0.0 if nesterov else draw(st.sampled_from([0.0, 0.3]))
    return dict(
        lr=draw(LR),
        momentum=momentum,
        dampening=dampening,
        weight_decay=draw(DECAY),
        nesterov=nesterov,
        maximize=draw(MAXIMIZE),
    )


@st.composite
def adam_kwargs(draw, default_decay):
    decay = draw(st.sampled_from([default_decay, 0.0, 0.1]))
    return dict(
        lr=draw(LR),
        betas=(draw(BETA), draw(BETA)),
        eps=draw(EPS),
        weight_decay=decay,
        amsgrad=draw(st.booleans()),
        maximize=draw(MAXIMIZE),
    )


@st.composite
def adamax_kwargs(draw):
    return dict(
        lr=draw(LR), betas=(draw(BETA), draw(BETA)), eps=draw(EPS), weight_decay=draw(DECAY), maximize=draw(MAXIMIZE)
    )


@st.composite
def rmsprop_kwargs(draw):
    return dict(
        lr=draw(st.floats(1e-4, 0.1)),
        alpha=draw(st.floats(0.5, 0.999)),
        eps=draw(EPS),
        weight_decay=draw(DECAY),
        momentum=draw(st.sampled_from([0.0, 0.5, 0.9])),
        centered=draw(st.booleans()),
        maximize=draw(MAXIMIZE),
    )


@st.composite
def adagrad_kwargs(draw):
    return dict(
        lr=draw(LR),
        lr_decay=draw(st.sampled_from([0.0, 0.01, 0.5])),
        weight_decay=draw(DECAY),
        initial_accumulator_value=draw(st.sampled_from([0.0, 0.1, 2.0])),
        eps=draw(EPS),
        maximize=draw(MAXIMIZE),
    )


@given(kwargs=sgd_kwargs(), run=gradient_runs())
def test_sgd_matches_torch(kwargs, run):
    check_parity(otx.sgd, torch.optim.SGD, kwargs, run)


@given(kwargs=adam_kwargs(0.0), run=gradient_runs())
def test_adam_matches_torch(kwargs, run):
    check_parity(otx.adam, torch.optim.Adam, kwargs, run)


@given(kwargs=adam_kwargs(1e-2), run=gradient_runs())
def test_adamw_matches_torch(kwargs, run):
    check_parity(otx.adamw, torch.optim.AdamW, kwargs, run)


@given(kwargs=adamax_kwargs(), run=gradient_runs())
def test_adamax_matches_torch(kwargs, run):
    check_parity(otx.adamax, torch.optim.Adamax, kwargs, run)


@given(kwargs=rmsprop_kwargs(), run=gradient_runs())
def test_rmsprop_matches_torch(kwargs, run):
    check_parity(otx.rmsprop, torch.optim.RMSprop, kwargs, run)


@given(kwargs=adagrad_kwargs(), run=gradient_runs())
def test_adagrad_matches_torch(kwargs, run):
    check_parity(otx.adagrad, torch.optim.Adagrad, kwargs, run)


def lion_by_the_paper(params, grads_seq, lr, betas, weight_decay):
    """Algorithm 1 of Chen et al. (2023), "Symbolic Discovery of Optimization Algorithms", one tensor at a time."""
    b1, b2 = betas
    params = clone_tree(params)
    m = {k: torch.zeros_like(v) for k, v in params.items()}
    for grads in grads_seq:
        for k, g in grads.items():
            c = b1 * m[k] + (1 - b1) * g
            params[k] = params[k] - lr * (torch.sign(c) + weight_decay * params[k])
            m[k] = b2 * m[k] + (1 - b2) * g
    return params


@given(lr=LR, betas=st.tuples(BETA, BETA), weight_decay=DECAY, run=gradient_runs())
def test_lion_matches_the_paper(lr, betas, weight_decay, run):
    params, grads_seq = run
    got = run_ours(otx.lion(lr, betas, weight_decay), params, grads_seq)
    assert_trees_close(got, lion_by_the_paper(params, grads_seq, lr, betas, weight_decay))


def as_tensors(kwargs):
    """Every numeric hyperparameter as a float64 0-d tensor, betas as a pair of them (as inject_hyperparams does)."""

    def convert(v):
        if isinstance(v, bool):
            return v
        if isinstance(v, (int, float)):
            return torch.tensor(float(v), dtype=torch.float64)
        if isinstance(v, tuple):
            return tuple(convert(x) for x in v)
        return v

    return {k: convert(v) for k, v in kwargs.items()}


FACTORIES = {
    "sgd": (otx.sgd, sgd_kwargs()),
    "adam": (otx.adam, adam_kwargs(0.0)),
    "adamw": (otx.adamw, adam_kwargs(1e-2)),
    "adamax": (otx.adamax, adamax_kwargs()),
    "rmsprop": (otx.rmsprop, rmsprop_kwargs()),
    "adagrad": (otx.adagrad, adagrad_kwargs()),
    "lion": (otx.lion, st.fixed_dictionaries({"lr": LR, "betas": st.tuples(BETA, BETA), "weight_decay": DECAY})),
}


@pytest.mark.parametrize("name", list(FACTORIES))
@given(data=st.data(), run=gradient_runs())
def test_tensor_hyperparameters_equal_float_ones(name, data, run):
    factory, kwargs_strategy = FACTORIES[name]
    kwargs = data.draw(kwargs_strategy)
    params, grads_seq = run
    expected = run_ours(factory(**kwargs), params, grads_seq)
    assert_trees_close(run_ours(factory(**as_tensors(kwargs)), params, grads_seq), expected)


@pytest.mark.parametrize(
    "factory,kwargs,match",
    [
        (otx.sgd, {"lr": -0.1}, "lr"),
        (otx.sgd, {"lr": 0.1, "momentum": -0.5}, "momentum"),
        (otx.sgd, {"lr": 0.1, "weight_decay": -1.0}, "weight_decay"),
        (otx.sgd, {"lr": 0.1, "nesterov": True}, "nesterov"),
        (otx.sgd, {"lr": 0.1, "momentum": 0.9, "dampening": 0.1, "nesterov": True}, "dampening"),
        (otx.adam, {"betas": (1.0, 0.999)}, r"betas\[0\]"),
        (otx.adam, {"betas": (0.9, -0.1)}, r"betas\[1\]"),
        (otx.adam, {"betas": (0.9,)}, "betas"),
        (otx.adam, {"eps": -1e-8}, "eps"),
        (otx.adamw, {"lr": -1.0}, "lr"),
        (otx.adamw, {"weight_decay": -0.01}, "weight_decay"),
        (otx.rmsprop, {"alpha": -0.5}, "alpha"),
        (otx.rmsprop, {"momentum": -0.5}, "momentum"),
        (otx.adagrad, {"lr_decay": -1.0}, "lr_decay"),
        (otx.adagrad, {"initial_accumulator_value": -1.0}, "initial_accumulator_value"),
        (otx.lion, {"betas": (0.9, 1.5)}, r"betas\[1\]"),
    ],
)
def test_invalid_hyperparameters_name_the_value(factory, kwargs, match):
    with pytest.raises(ValueError, match=match):
        factory(**kwargs)


def test_tensor_momentum_zero_is_plain_sgd():
    params = {"w": torch.tensor([1.0, -2.0], dtype=torch.float64)}
    grads_seq = [{"w": torch.tensor([0.5, 0.25], dtype=torch.float64)}] * 3
    with_trace = run_ours(otx.sgd(0.1, momentum=torch.tensor(0.0)), params, grads_seq)
    assert_trees_close(with_trace, run_ours(otx.sgd(0.1), params, grads_seq))


def test_updates_are_differentiable_through_the_learning_rate():
    lr = torch.tensor(0.1, requires_grad=True)
    tx = otx.adamw(lr)
    params = {"w": torch.tensor([1.0, 2.0])}
    updates, _ = tx.update({"w": torch.tensor([0.3, -0.4])}, tx.init(params), params)
    otx.apply_updates(params, updates)["w"].sum().backward()
    # d/d lr of p - lr * (sign-like adam step + wd * p): -(1 - 1 + 0.01 * 3) summed over both entries
    torch.testing.assert_close(lr.grad, torch.tensor(-0.03), rtol=1e-4, atol=1e-6)


TORCH_ONLY = ("self", "params", "foreach", "capturable", "maximize", "differentiable")


@pytest.mark.parametrize(
    "factory,cls",
    [
        (otx.sgd, torch.optim.SGD),
        (otx.adam, torch.optim.Adam),
        (otx.adamw, torch.optim.AdamW),
        (otx.adamax, torch.optim.Adamax),
        (otx.rmsprop, torch.optim.RMSprop),
        (otx.adagrad, torch.optim.Adagrad),
    ],
)
def test_arguments_and_defaults_are_torch_ones(factory, cls):
    ours = inspect.signature(factory).parameters
    torch_signature = inspect.signature(cls.__init__).parameters
    theirs = {
        name: p
        for name, p in torch_signature.items()
        if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD and name not in TORCH_ONLY
    }
    # optimtx's own additions (optax's eps_root, nesterov, a weight-decay mask) are keyword-only, after torch's.
    positional = [n for n, p in ours.items() if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD]
    assert [n for n in positional if n not in ("maximize", "mu_dtype")] == list(theirs)
    for name, p in theirs.items():
        assert ours[name].default == p.default, name
    assert ours["maximize"].default is torch_signature["maximize"].default is False
