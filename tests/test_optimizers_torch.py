"""RAdam, NAdam, Adadelta, Adafactor, Rprop, ASGD and Muon give the parameters of their torch.optim class."""

from __future__ import annotations

import contextlib
import inspect

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import optimtx as otx
from tests.strategies import gradient_runs
from tests.test_optimizers import assert_trees_close, run_ours

LR = st.floats(1e-4, 0.5)
DECAY = st.sampled_from([0.0, 1e-3, 0.1])
BETA = st.floats(0.0, 0.99)
EPS = st.sampled_from([1e-10, 1e-8, 1e-3])
FLAG = st.booleans()


@contextlib.contextmanager
def float64_scalars():
    """torch keeps some per-step scalars (NAdam's mu_product, ASGD's eta and mu) in the default dtype."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        yield
    finally:
        torch.set_default_dtype(previous)


def run_torch(cls, kwargs, params, grads_seq, **extra):
    with float64_scalars():
        ps = [torch.nn.Parameter(p.clone()) for p in params.values()]
        opt = cls(ps, **kwargs, **extra)
        for grads in grads_seq:
            for p, g in zip(ps, grads.values(), strict=True):
                p.grad = g.clone()
            opt.step()
    return {k: p.detach() for k, p in zip(params, ps, strict=True)}, opt, ps


def check_parity(factory, cls, kwargs, run, foreach=(False, True)):
    params, grads_seq = run
    got = run_ours(factory(**kwargs), params, grads_seq)
    for fe in foreach:
        extra = {} if fe is None else {"foreach": fe}  # Muon has no foreach implementation
        assert_trees_close(got, run_torch(cls, kwargs, params, grads_seq, **extra)[0])


@st.composite
def radam_kwargs(draw):
    return dict(
        lr=draw(LR),
        betas=(draw(BETA), draw(st.floats(0.0, 0.999))),
        eps=draw(EPS),
        weight_decay=draw(DECAY),
        decoupled_weight_decay=draw(FLAG),
        maximize=draw(FLAG),
    )


@st.composite
def nadam_kwargs(draw):
    return dict(draw(radam_kwargs()), momentum_decay=draw(st.sampled_from([0.0, 4e-3, 0.1])))


@st.composite
def adadelta_kwargs(draw):
    return dict(
        lr=draw(st.floats(1e-3, 2.0)),
        rho=draw(st.floats(0.0, 1.0)),
        eps=draw(st.sampled_from([1e-8, 1e-6, 1e-2])),
        weight_decay=draw(DECAY),
        maximize=draw(FLAG),
    )


@st.composite
def adafactor_kwargs(draw):
    return dict(
        lr=draw(LR),
        beta2_decay=draw(st.floats(-1.0, 0.0)),
        eps=(draw(st.sampled_from([None, 1e-30, 1e-3])), draw(st.sampled_from([0.0, 1e-3, 0.1]))),
        d=draw(st.floats(1.0, 3.0)),
        weight_decay=draw(DECAY),
        maximize=draw(FLAG),
    )


@st.composite
def rprop_kwargs(draw):
    return dict(
        lr=draw(LR),
        etas=(draw(st.floats(0.1, 0.9)), draw(st.floats(1.1, 2.0))),
        step_sizes=(draw(st.sampled_from([0.0, 1e-6, 1e-3])), draw(st.sampled_from([0.05, 1.0, 50.0]))),
        maximize=draw(FLAG),
    )


@st.composite
def asgd_kwargs(draw):
    return dict(
        lr=draw(LR),
        lambd=draw(st.sampled_from([0.0, 1e-4, 0.1])),
        alpha=draw(st.floats(0.0, 1.0)),
        t0=draw(st.sampled_from([0.0, 2.0, 1e6])),
        weight_decay=draw(DECAY),
        maximize=draw(FLAG),
    )


@given(kwargs=radam_kwargs(), run=gradient_runs(max_steps=10))
def test_radam_matches_torch(kwargs, run):
    check_parity(otx.radam, torch.optim.RAdam, kwargs, run)


@given(kwargs=nadam_kwargs(), run=gradient_runs())
def test_nadam_matches_torch(kwargs, run):
    check_parity(otx.nadam, torch.optim.NAdam, kwargs, run)


@given(kwargs=adadelta_kwargs(), run=gradient_runs())
def test_adadelta_matches_torch(kwargs, run):
    check_parity(otx.adadelta, torch.optim.Adadelta, kwargs, run)


@given(kwargs=adafactor_kwargs(), run=gradient_runs())
def test_adafactor_matches_torch(kwargs, run):
    check_parity(otx.adafactor, torch.optim.Adafactor, kwargs, run)


@given(kwargs=rprop_kwargs(), run=gradient_runs())
def test_rprop_matches_torch(kwargs, run):
    check_parity(otx.rprop, torch.optim.Rprop, kwargs, run)


@given(kwargs=asgd_kwargs(), run=gradient_runs())
def test_asgd_matches_torch_including_the_average(kwargs, run):
    params, grads_seq = run
    tx = otx.asgd(**kwargs)
    state = tx.init(params)
    ours = params
    for grads in grads_seq:
        updates, state = tx.update(grads, state, ours)
        ours = otx.apply_updates(ours, updates)
    for foreach in (False, True):
        theirs, opt, ps = run_torch(torch.optim.ASGD, kwargs, params, grads_seq, foreach=foreach)
        assert_trees_close(ours, theirs)
        averaged = {k: opt.state[p]["ax"] for k, p in zip(params, ps, strict=True)}
        assert_trees_close(otx.asgd_averaged_params(state), averaged)


MATRICES = st.lists(st.tuples(st.integers(1, 6), st.integers(1, 6)), min_size=1, max_size=3)


@st.composite
def muon_runs(draw, dtype=torch.float64):
    shapes = draw(MATRICES)
    gen = torch.Generator().manual_seed(draw(st.integers(0, 2**31 - 1)))
    params = {f"w{i}": torch.randn(s, generator=gen, dtype=dtype) for i, s in enumerate(shapes)}
    steps = draw(st.integers(1, 5))
    grads = [{k: torch.randn(v.shape, generator=gen, dtype=dtype) for k, v in params.items()} for _ in range(steps)]
    return params, grads


@st.composite
def muon_kwargs(draw):
    nesterov = draw(FLAG)
    return dict(
        lr=draw(st.floats(1e-4, 0.1)),
        weight_decay=draw(DECAY),
        momentum=draw(st.sampled_from([0.0, 0.5, 0.95])),
        nesterov=nesterov,
        ns_coefficients=draw(st.sampled_from([(3.4445, -4.775, 2.0315), (2.0, -1.5, 0.5)])),
        eps=draw(st.sampled_from([1e-7, 1e-3])),
        ns_steps=draw(st.integers(1, 6)),
        adjust_lr_fn=draw(st.sampled_from([None, "original", "match_rms_adamw"])),
    )


@given(kwargs=muon_kwargs(), run=muon_runs())
def test_muon_matches_torch(kwargs, run):
    check_parity(otx.muon, torch.optim.Muon, kwargs, run, foreach=(None,))


@given(kwargs=muon_kwargs(), run=muon_runs(dtype=torch.float32))
def test_muon_matches_torch_in_float32(kwargs, run):
    params, grads_seq = run
    got = run_ours(otx.muon(**kwargs), params, grads_seq)
    assert_trees_close(got, run_torch(torch.optim.Muon, kwargs, params, grads_seq)[0], rtol=1e-5, atol=1e-6)


def test_muon_refuses_other_tensors_and_says_how_to_route_them():
    params = {"layer.weight": torch.ones(2, 2), "layer.bias": torch.ones(2), "conv": torch.ones(1, 1, 3, 3)}
    with pytest.raises(ValueError, match=r"not 2-D.*'layer.bias': \(2,\).*muon_with_adamw.*muon_labels"):
        otx.muon().init(params)
    state = otx.muon().init({"w": torch.ones(2, 2)})
    with pytest.raises(ValueError, match="not 2-D"):
        otx.muon().update({"w": torch.ones(2)}, state)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"ns_steps": 100}, "ns_steps"),
        ({"ns_steps": 0}, "ns_steps"),
        ({"ns_coefficients": (1.0, 2.0)}, "ns_coefficients"),
        ({"momentum": -0.1}, "momentum"),
        ({"weight_decay": -0.1}, "weight_decay"),
        ({"adjust_lr_fn": "sqrt"}, "adjust_lr_fn"),
        ({"lr": -1.0}, "lr"),
    ],
)
def test_muon_refuses_invalid_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        otx.muon(**kwargs)


def test_muon_labels_send_hidden_matrices_to_muon():
    model = torch.nn.ModuleDict(
        {
            "embed": torch.nn.Embedding(10, 4),
            "block": torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.LayerNorm(4)),
            "lm_head": torch.nn.Linear(4, 10, bias=False),
        }
    )
    assert otx.muon_labels(model) == {
        "embed.weight": "adamw",
        "block.0.weight": "muon",
        "block.0.bias": "adamw",
        "block.1.weight": "adamw",
        "block.1.bias": "adamw",
        "lm_head.weight": "adamw",
    }
    assert otx.muon_labels(model, keys="index")["1"] == "muon"
    with pytest.raises(ValueError, match="keys"):
        otx.muon_labels(model, keys="position")


def test_muon_with_adamw_equals_torch_muon_plus_torch_adamw():
    gen = torch.Generator().manual_seed(0)
    params = {
        "embed.weight": torch.randn(6, 4, generator=gen, dtype=torch.float64),
        "hidden.weight": torch.randn(5, 4, generator=gen, dtype=torch.float64),
        "hidden.bias": torch.randn(5, generator=gen, dtype=torch.float64),
    }
    grads_seq = [
        {k: torch.randn(v.shape, generator=gen, dtype=torch.float64) for k, v in params.items()} for _ in "abc"
    ]
    got = run_ours(otx.muon_with_adamw(lr=0.02, adamw_lr=1e-3, adamw_weight_decay=0.01), params, grads_seq)
    hidden = {"hidden.weight": params["hidden.weight"]}
    rest = {k: v for k, v in params.items() if k != "hidden.weight"}
    want_muon = run_torch(
        torch.optim.Muon, dict(lr=0.02), hidden, [{"hidden.weight": g["hidden.weight"]} for g in grads_seq]
    )
    adamw_kwargs = dict(lr=1e-3, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.01)
    want_adamw = run_torch(torch.optim.AdamW, adamw_kwargs, rest, [{k: g[k] for k in rest} for g in grads_seq])
    assert_trees_close(got, {k: {**want_muon[0], **want_adamw[0]}[k] for k in params})


TORCH_CLASSES = [
    (otx.radam, torch.optim.RAdam),
    (otx.nadam, torch.optim.NAdam),
    (otx.adadelta, torch.optim.Adadelta),
    (otx.adafactor, torch.optim.Adafactor),
    (otx.rprop, torch.optim.Rprop),
    (otx.asgd, torch.optim.ASGD),
    (otx.muon, torch.optim.Muon),
]
TORCH_ONLY = ("self", "params", "foreach", "capturable", "differentiable")


@pytest.mark.parametrize("factory,cls", TORCH_CLASSES, ids=[c.__name__ for _, c in TORCH_CLASSES])
def test_arguments_and_defaults_are_torch_ones(factory, cls):
    ours = inspect.signature(factory).parameters
    theirs = {n: p for n, p in inspect.signature(cls.__init__).parameters.items() if n not in TORCH_ONLY}
    assert sorted(ours) == sorted(theirs)
    for name, p in theirs.items():
        assert ours[name].default == p.default, name


CONFIGS = [
    (dict(type="radam", lr=0.01, weight_decay=0.1, decoupled_weight_decay=True), torch.optim.RAdam),
    (dict(type="nadam", lr=0.01, momentum_decay=0.01), torch.optim.NAdam),
    (dict(type="adadelta", lr=0.5, rho=0.8), torch.optim.Adadelta),
    (dict(type="adafactor", lr=0.05, weight_decay=0.01), torch.optim.Adafactor),
    (dict(type="rprop", lr=0.01, etas=(0.4, 1.3)), torch.optim.Rprop),
    (dict(type="asgd", lr=0.05, t0=2.0), torch.optim.ASGD),
    (dict(type="muon", lr=0.02, weight_decay=0.05), torch.optim.Muon),
]


@pytest.mark.parametrize("cfg,cls", CONFIGS, ids=[c["type"] for c, _ in CONFIGS])
def test_config_through_transform_optimizer_equals_torch_and_exposes_lr(cfg, cls):
    """Registered in TRANSFORMS, injected (group['lr'] exists, a scheduler's lr change acts) and equal to torch."""
    gen = torch.Generator().manual_seed(1)
    shapes = [(4, 3), (3, 5)]
    init = [torch.randn(s, generator=gen, dtype=torch.float64) for s in shapes]
    ours = [torch.nn.Parameter(t.clone()) for t in init]
    theirs = [torch.nn.Parameter(t.clone()) for t in init]
    opt = otx.TransformOptimizer(ours, cfg)
    with float64_scalars():
        ref = cls(theirs, **{k: v for k, v in cfg.items() if k != "type"})
    for step in range(4):
        if step == 2:
            for group in (*opt.param_groups, *ref.param_groups):
                group["lr"] = group["lr"] / 2
        grads = [torch.randn(s, generator=gen, dtype=torch.float64) for s in shapes]
        for p, q, g in zip(ours, theirs, grads, strict=True):
            p.grad, q.grad = g.clone(), g.clone()
        opt.step()
        with float64_scalars():
            ref.step()
    assert opt.param_groups[0]["lr"] == cfg["lr"] / 2
    for p, q in zip(ours, theirs, strict=True):
        torch.testing.assert_close(p.detach(), q.detach(), rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("name", ["radam", "nadam", "adadelta", "adafactor", "asgd"])
def test_scheduled_lr_equals_torch_with_lambda_lr(name):
    factory, cls = {f.__name__: (f, c) for f, c in TORCH_CLASSES}[name]
    gen = torch.Generator().manual_seed(2)
    params = {
        "w": torch.randn(3, 2, generator=gen, dtype=torch.float64),
        "b": torch.randn(3, generator=gen, dtype=torch.float64),
    }
    grads_seq = [
        {k: torch.randn(v.shape, generator=gen, dtype=torch.float64) for k, v in params.items()} for _ in range(5)
    ]
    factor = lambda count: 1.0 / (1.0 + count)  # noqa: E731
    got = run_ours(factory(lr=lambda count: 0.1 * factor(count.to(torch.float64))), params, grads_seq)
    with float64_scalars():
        ps = [torch.nn.Parameter(p.clone()) for p in params.values()]
        opt = cls(ps, lr=0.1)
        scheduler = torch.optim.lr_scheduler.LambdaLR(opt, factor)
        for grads in grads_seq:
            for p, g in zip(ps, grads.values(), strict=True):
                p.grad = g.clone()
            opt.step()
            scheduler.step()
    assert_trees_close(got, {k: p.detach() for k, p in zip(params, ps, strict=True)}, rtol=1e-9, atol=1e-12)


MAXIMIZING = [otx.sgd, otx.adam, otx.adamw, otx.adamax, otx.rmsprop, otx.adagrad, otx.radam, otx.nadam]
MAXIMIZING += [otx.adadelta, otx.adafactor, otx.rprop, otx.asgd]
NO_DECAY_ARG = (otx.rprop,)


@pytest.mark.parametrize("factory", MAXIMIZING, ids=[f.__name__ for f in MAXIMIZING])
def test_maximize_must_be_a_bool(factory):
    with pytest.raises(TypeError, match="maximize must be True or False, got 1"):
        factory(maximize=1)


@pytest.mark.parametrize("factory", MAXIMIZING, ids=[f.__name__ for f in MAXIMIZING])
def test_maximize_ascends_where_minimizing_descends(factory):
    params = {"w": torch.tensor([1.0, -2.0], dtype=torch.float64)}
    grads = {"w": torch.tensor([0.5, -0.25], dtype=torch.float64)}
    kwargs = {} if factory in NO_DECAY_ARG else {"weight_decay": 0.0}  # decay terms do not flip
    kwargs |= {"lambd": 0.0} if factory is otx.asgd else {}
    down, _ = factory(**kwargs).update(grads, factory(**kwargs).init(params), params)
    ascend = factory(maximize=True, **kwargs)
    up, _ = ascend.update(grads, ascend.init(params), params)
    torch.testing.assert_close(up["w"], -down["w"])


def test_muon_refuses_non_finite_newton_schulz_coefficients():
    with pytest.raises(ValueError, match=r"ns_coefficients\[0\]"):
        otx.muon(ns_coefficients=(float("nan"), 1.0, 1.0))
