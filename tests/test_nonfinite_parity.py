"""Every rule with a torch class gives torch's inf and nan, not just its finite numbers.

Gradients carry +inf, -inf and nan at random positions over several steps; each rule runs as a plain
factory and under [`inject_hyperparams`][optimtx.inject_hyperparams], on the pure path
(``update`` + ``apply_updates``), through ``TransformOptimizer(in_place=False)`` and
``TransformOptimizer(in_place=True)``. The reference is torch's foreach class; the in-place path of
Adam, AdamW, SGD and Adagrad runs torch's fused kernel, so there it is the fused class (see
docs/reliability.md for where the two disagree). ``equal_nan=True`` keeps nan apart from inf.
"""

from __future__ import annotations

import math

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import optimtx as otx
from tests.test_optimizers import run_ours
from tests.test_optimizers_torch import float64_scalars

FLAG = st.booleans()
BETA1 = st.sampled_from([0.0, 0.5, 0.9])
BETA2 = st.sampled_from([0.0, 0.9, 0.999])
EPS = st.sampled_from([1e-8, 1e-3])
CLASSES = {
    "adam": "Adam", "adamw": "AdamW", "sgd": "SGD", "adagrad": "Adagrad", "rmsprop": "RMSprop", "adamax": "Adamax",
    "radam": "RAdam", "nadam": "NAdam", "adadelta": "Adadelta", "asgd": "ASGD", "rprop": "Rprop",
    "adafactor": "Adafactor",
}  # fmt: skip
FUSED = ("adam", "adamw", "sgd", "adagrad")


def _adam_like(draw, name):
    kw = {"betas": (draw(BETA1), draw(BETA2)), "eps": draw(EPS)}
    if name in ("adam", "adamw"):
        kw["amsgrad"] = draw(FLAG)
    if name in ("radam", "nadam"):
        kw["decoupled_weight_decay"] = draw(FLAG)
    if name == "nadam":
        kw["momentum_decay"] = draw(st.sampled_from([0.0, 4e-3, 0.1]))
    return kw


def _sgd(draw):
    momentum = draw(st.sampled_from([0.0, 0.5, 0.9]))
    nesterov = momentum > 0 and draw(FLAG)
    dampening = 0.0 if nesterov else draw(st.sampled_from([0.0, 0.3]))
    return {"momentum": momentum, "nesterov": nesterov, "dampening": dampening}


def _other(draw, name):
    if name == "rmsprop":
        # centered with alpha 0 takes sqrt(g*g - g*g): torch's rounding decides nan or a 1/eps step (left out)
        centered = draw(FLAG)
        return {"alpha": draw(st.sampled_from([0.5, 0.99] if centered else [0.0, 0.99])), "eps": draw(EPS),
                "momentum": draw(st.sampled_from([0.0, 0.9])), "centered": centered}  # fmt: skip
    if name == "adagrad":
        return {"lr_decay": draw(st.sampled_from([0.0, 0.1])), "eps": draw(st.sampled_from([1e-10, 1e-3])),
                "initial_accumulator_value": draw(st.sampled_from([0.0, 0.5]))}  # fmt: skip
    if name == "adadelta":
        return {"rho": draw(st.sampled_from([0.0, 0.9])), "eps": draw(st.sampled_from([1e-6, 1e-3]))}
    if name == "asgd":
        return {"lambd": draw(st.sampled_from([0.0, 1e-4])), "alpha": draw(st.sampled_from([0.0, 0.75])),
                "t0": draw(st.sampled_from([0.0, 2.0, 1e6]))}  # fmt: skip
    if name == "rprop":
        return {"etas": (draw(st.sampled_from([0.3, 0.5])), draw(st.sampled_from([1.2, 2.0]))),
                "step_sizes": (draw(st.sampled_from([0.0, 1e-6])), draw(st.sampled_from([1.0, 50.0])))}  # fmt: skip
    return {"beta2_decay": draw(st.sampled_from([-0.8, -0.5])), "d": draw(st.sampled_from([1.0, 2.0])),
            "eps": (draw(st.sampled_from([None, 1e-3])), draw(st.sampled_from([0.0, 1e-3])))}  # fmt: skip


@st.composite
def rules(draw):
    """``(name, kwargs)`` with drawn hyperparameters, the same on both sides."""
    name = draw(st.sampled_from(sorted(CLASSES)))
    kw = {"lr": draw(st.sampled_from([1e-3, 0.05, 0.5])), "maximize": draw(FLAG)}
    if name != "rprop":
        kw["weight_decay"] = draw(st.sampled_from([0.0, 1e-2, 0.3]))
    if name in ("adam", "adamw", "radam", "nadam", "adamax"):
        kw |= _adam_like(draw, name)
    elif name == "sgd":
        kw |= _sgd(draw)
    else:
        kw |= _other(draw, name)
    return name, kw


@st.composite
def nonfinite_runs(draw):
    """A float32 tree and four steps of gradients, most holding +inf, -inf or nan somewhere."""
    gen = torch.Generator().manual_seed(draw(st.integers(0, 2**31 - 1)))
    shapes = draw(st.lists(st.sampled_from([(3,), (2, 3), (4,)]), min_size=1, max_size=2))
    params = {f"p{i}": torch.randn(s, generator=gen) for i, s in enumerate(shapes)}
    runs = []
    for _ in range(4):
        grads = {k: torch.randn(v.shape, generator=gen) for k, v in params.items()}
        for _ in range(draw(st.integers(0, 2))):
            flat = grads[draw(st.sampled_from(sorted(grads)))].view(-1)
            flat[draw(st.integers(0, flat.numel() - 1))] = draw(st.sampled_from([math.inf, -math.inf, math.nan]))
        runs.append(grads)
    return params, runs


def _torch_run(cls, kw, params, runs, kind):
    with float64_scalars():
        ps = [torch.nn.Parameter(p.clone()) for p in params.values()]
        opt = cls(ps, **kw, **{kind: True})
        for grads in runs:
            for p, g in zip(ps, grads.values(), strict=True):
                p.grad = g.clone()
            opt.step()
    return [p.detach() for p in ps]


def _optimizer_run(tx, params, runs, in_place):
    ps = [torch.nn.Parameter(p.clone()) for p in params.values()]
    opt = otx.TransformOptimizer(ps, tx, in_place=in_place)
    for grads in runs:
        for p, g in zip(ps, grads.values(), strict=True):
            p.grad = g.clone()
        opt.step()
    return [p.detach() for p in ps]


def _check(got, expected, path):
    for k, (a, b) in enumerate(zip(got, expected, strict=True)):
        msg = f"{path}, parameter {k}: {a} vs torch {b}"
        torch.testing.assert_close(a, b, rtol=2e-4, atol=2e-5, equal_nan=True, msg=msg)


@settings(max_examples=150, deadline=None)
@given(rules(), nonfinite_runs(), FLAG)
def test_every_torch_rule_gives_torch_non_finite_values_on_every_path(rule, run, injected):
    name, kw = rule
    params, runs = run
    cls = getattr(torch.optim, CLASSES[name])
    factory = getattr(otx, name)
    make = (lambda: otx.inject_hyperparams(factory)(**kw)) if injected else (lambda: factory(**kw))
    foreach = _torch_run(cls, kw, params, runs, "foreach")
    pure = run_ours(make(), params, runs)
    _check(list(pure.values()), foreach, f"{name} pure")
    _check(_optimizer_run(make(), params, runs, in_place=False), foreach, f"{name} in_place=False")
    in_place_ref = _torch_run(cls, kw, params, runs, "fused") if name in FUSED else foreach
    _check(_optimizer_run(make(), params, runs, in_place=True), in_place_ref, f"{name} in_place=True")


def _foreach_and_pure(factory, cls, kw, grads, injected=False):
    params = {"w": torch.tensor([1.0, -2.0, 0.5])}
    runs = [{"w": g} for g in grads]
    tx = otx.inject_hyperparams(factory)(**kw) if injected else factory(**kw)
    return list(run_ours(tx, params, runs).values()), _torch_run(cls, kw, params, runs, "foreach")


INF_THEN_FINITE = [torch.tensor([1.0, 2.0, 3.0]), torch.tensor([math.inf, 1.0, -1.0]), torch.tensor([1.0, 1.0, 1.0])]


def test_an_injected_momentum_of_zero_does_not_multiply_the_trace():
    """0 * inf in the trace gave nan; torch, without momentum, keeps the gradient's inf (issue 21's class)."""
    ours, theirs = _foreach_and_pure(otx.sgd, torch.optim.SGD, {"lr": 0.1, "momentum": 0.0}, INF_THEN_FINITE, True)
    assert torch.isneginf(theirs[0][0])
    _check(ours, theirs, "sgd injected momentum 0")


def test_an_injected_weight_decay_of_zero_leaves_an_inf_parameter_inf():
    """0 * an inf parameter gave nan on the next step; torch skips a weight decay of 0."""
    kw = {"lr": 0.1, "momentum": 0.0, "weight_decay": 0.0}
    ours, theirs = _foreach_and_pure(otx.sgd, torch.optim.SGD, kw, INF_THEN_FINITE, True)
    _check(ours, theirs, "sgd injected weight_decay 0")


def test_radam_before_its_adaptive_steps_keeps_an_inf():
    """While rho_t <= 5 the denominator is 1: 0 * sqrt(inf) gave nan where torch gives -inf."""
    ours, theirs = _foreach_and_pure(otx.radam, torch.optim.RAdam, {"lr": 0.1}, INF_THEN_FINITE[:2])
    assert torch.isneginf(theirs[0][0])
    _check(ours, theirs, "radam")


def test_adafactor_keeps_stepping_the_finite_entries_of_a_vector():
    """torch floors a nan norm with Python's max (to 1 and eps2): only the inf entry turns nan."""
    ours, theirs = _foreach_and_pure(otx.adafactor, torch.optim.Adafactor, {"lr": 0.1}, INF_THEN_FINITE)
    assert bool(torch.isfinite(theirs[0][1:]).all())
    _check(ours, theirs, "adafactor")


def test_amsgrad_running_maximum_after_a_nan_follows_foreach_on_the_pure_path():
    """torch's foreach maximum keeps a nan in ``max_exp_avg_sq``, its fused kernel keeps the earlier inf.

    The parameter is nan from that step on either way (the nan gradient reaches it), so only the state
    differs: the pure path gives the foreach state; ``TransformOptimizer``'s in-place step runs the fused
    kernel (the class test above holds its parameters to the fused class).
    """
    kw = {"lr": 0.1, "amsgrad": True}
    grads = [torch.tensor([math.inf, 1.0, -1.0]), torch.tensor([math.nan, 1.0, 1.0])]
    params = {"w": torch.tensor([1.0, -2.0, 0.5])}
    states = {}
    for kind in ("foreach", "fused"):
        ps = [torch.nn.Parameter(params["w"].clone())]
        opt = torch.optim.Adam(ps, **kw, **{kind: True})
        for g in grads:
            ps[0].grad = g.clone()
            opt.step()
        states[kind] = opt.state[ps[0]]["max_exp_avg_sq"]
    assert torch.isnan(states["foreach"][0]) and torch.isposinf(states["fused"][0])  # torch disagrees with itself
    tx = otx.adam(**kw)
    state = tx.init(params)
    for g in grads:
        _, state = tx.update({"w": g}, state, params)
    torch.testing.assert_close(state[0].nu_max["w"], states["foreach"], equal_nan=True)


def test_an_injected_beta1_of_zero_gives_torch_lerp_nan():
    """torch's lerp(m, inf, 1) is nan (it computes ``inf - 0 * inf``); ``m + 1 * (inf - m)`` gave inf instead."""
    kw = {"lr": 0.1, "betas": (0.0, 0.9)}  # RAdam's first steps use the first moment alone: the lerp shows
    ours, theirs = _foreach_and_pure(otx.radam, torch.optim.RAdam, kw, INF_THEN_FINITE[:2], True)
    assert torch.isnan(theirs[0][0])
    _check(ours, theirs, "radam injected b1 0")
