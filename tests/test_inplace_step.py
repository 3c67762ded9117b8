"""The in-place step (optimtx.core.inplace): torch's own results for the state's owner, ``update`` still pure."""

from __future__ import annotations

import copy
import math
import pickle

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.utils._pytree import tree_leaves

import optimtx as otx
from optimtx.core.inplace import inplace_step, pure_step_, with_step_
from optimtx.core.state_tree import find_one
from optimtx.transforms.rprop import ScaleByRpropState
from tests.strategies import clone_tree

LR = st.sampled_from([1e-3, 0.05, 0.5])
DECAY = st.sampled_from([0.0, 1e-2, 0.3])
FLAG = st.booleans()


@st.composite
def rules(draw):
    """``(name, optimtx factory, torch class, kwargs)`` with drawn hyperparameters, shared by both sides."""
    # asgd has no in-place step (torch's kernel keeps eta/mu in its own state: a group's first-step lr would be lost)
    names = ["adam", "adamw", "sgd", "adagrad", "radam", "nadam", "adamax", "adadelta", "rmsprop", "rprop"]
    name = draw(st.sampled_from(names))
    kw = {"lr": draw(LR), "maximize": draw(FLAG)}
    if name != "rprop":
        kw["weight_decay"] = draw(DECAY)
    if name == "asgd":
        kw |= {"lambd": draw(st.sampled_from([0.0, 1e-4, 0.1])), "alpha": draw(st.sampled_from([0.0, 0.75, 1.0]))}
        kw["t0"] = draw(st.sampled_from([0.0, 1.0, 1e6]))
    if name == "rprop":
        kw["etas"] = (draw(st.sampled_from([0.3, 0.5])), draw(st.sampled_from([1.2, 2.0])))
        kw["step_sizes"] = (draw(st.sampled_from([1e-6, 0.01])), draw(st.sampled_from([0.05, 50.0])))
    if name in ("adam", "adamw", "radam", "nadam", "adamax"):
        kw |= {"betas": (draw(st.sampled_from([0.0, 0.5, 0.9])), draw(st.sampled_from([0.0, 0.9, 0.999])))}
        kw |= {"eps": draw(st.sampled_from([1e-8, 1e-3]))}
    if name in ("adam", "adamw"):
        kw["amsgrad"] = draw(FLAG)
    if name in ("radam", "nadam"):
        kw["decoupled_weight_decay"] = draw(FLAG)
    if name == "rmsprop":
        # centered with alpha 0 takes sqrt(g*g - g*g): one ulp decides nan or a 1/eps step (docs/reliability.md)
        kw["centered"] = draw(FLAG)
        kw |= {"alpha": draw(st.sampled_from([0.5, 0.99] if kw["centered"] else [0.0, 0.99]))}
        kw |= {"eps": draw(st.sampled_from([1e-8, 1e-3])), "momentum": draw(st.sampled_from([0.0, 0.9]))}
    if name == "adadelta":
        kw |= {"rho": draw(st.sampled_from([0.0, 0.9])), "eps": draw(st.sampled_from([1e-6, 1e-3]))}
    if name == "nadam":
        kw["momentum_decay"] = draw(st.sampled_from([4e-3, 0.1]))
    if name == "sgd":
        kw["momentum"] = draw(st.sampled_from([0.0, 0.5, 0.9]))
        kw["nesterov"] = kw["momentum"] > 0 and draw(FLAG)
        kw["dampening"] = 0.0 if kw["nesterov"] else draw(st.sampled_from([0.0, 0.3]))
    if name == "adagrad":
        kw |= {"lr_decay": draw(st.sampled_from([0.0, 0.1])), "eps": draw(st.sampled_from([1e-10, 1e-3]))}
        kw["initial_accumulator_value"] = draw(st.sampled_from([0.0, 0.5]))
    classes = {"adam": "Adam", "adamw": "AdamW", "sgd": "SGD", "adagrad": "Adagrad", "radam": "RAdam", "nadam": "NAdam"}
    classes |= {"adamax": "Adamax", "adadelta": "Adadelta", "rmsprop": "RMSprop", "asgd": "ASGD", "rprop": "Rprop"}
    return name, getattr(otx, name), getattr(torch.optim, classes[name]), kw


@st.composite
def grad_runs(draw, nonfinite: bool = True):
    """A small float32 tree and three steps of gradients, some holding inf or nan (with ``nonfinite``)."""
    gen = torch.Generator().manual_seed(draw(st.integers(0, 2**31 - 1)))
    shapes = draw(st.lists(st.sampled_from([(), (3,), (2, 3), (5,)]), min_size=1, max_size=3))
    params = {f"p{i}": torch.randn(s, generator=gen) for i, s in enumerate(shapes)}
    runs = []
    for _ in range(3):
        grads = {k: torch.randn(v.shape, generator=gen) for k, v in params.items()}
        if nonfinite and draw(st.booleans()):
            flat = grads[draw(st.sampled_from(sorted(grads)))].view(-1)
            flat[draw(st.integers(0, flat.numel() - 1))] = draw(st.sampled_from([math.inf, -math.inf, math.nan]))
        runs.append(grads)
    return params, runs


def _run(make_opt, params, runs, none_at=None):
    ps = [torch.nn.Parameter(p.clone()) for p in params.values()]
    opt = make_opt(ps)
    for step, grads in enumerate(runs):
        for j, (p, g) in enumerate(zip(ps, grads.values(), strict=True)):
            p.grad = None if (step, j) == none_at else g.clone()
        opt.step()
    return [p.detach() for p in ps], opt


@settings(max_examples=40, deadline=None)
@given(rules(), grad_runs(), FLAG)
def test_transform_optimizer_equals_torch_bit_for_bit(rule, run, injected):
    """The in-place path runs torch's kernel: the same bits as torch's class (fused where torch has it).

    Injected hyperparameters are stored as float32 tensors (``inject_hyperparams``), so
    ``betas=(0.9, ...)`` is read back as float32's 0.9: equal to that rounding only. NAdam's
    ``mu_product`` is kept in float64 (torch: the default dtype), so NAdam too.
    """
    name, factory, cls, kw = rule
    params, runs = run
    tx = otx.inject_hyperparams(factory)(**kw) if injected else factory(**kw)
    ours, _ = _run(lambda ps: otx.TransformOptimizer(ps, tx), params, runs)
    kind = {"fused": True} if name in ("adam", "adamw", "sgd", "adagrad") else {"foreach": True}
    theirs, _ = _run(lambda ps: cls(ps, **kw, **kind), params, runs)
    tol = 1e-5 if injected or name == "nadam" else 0.0
    for a, b in zip(ours, theirs, strict=True):
        torch.testing.assert_close(a, b, rtol=tol, atol=tol, equal_nan=True)
    assert inplace_step(tx) is not None


@settings(max_examples=25, deadline=None)
@given(rules(), grad_runs(nonfinite=False))
def test_in_place_and_pure_paths_agree(rule, run):
    """Same parameters and the same state (to float rounding) with and without the in-place step.

    Finite gradients only: with inf/nan the in-place path runs torch's fused kernel and the pure path follows
    torch's foreach class, whose AMSGrad states differ after a nan (tests/test_nonfinite_parity.py).
    """
    _, factory, _, kw = rule
    params, runs = run
    fast, opt_fast = _run(lambda ps: otx.TransformOptimizer(ps, factory(**kw)), params, runs)
    slow, opt_slow = _run(lambda ps: otx.TransformOptimizer(ps, factory(**kw), in_place=False), params, runs)
    for a, b in zip(fast, slow, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5, equal_nan=True)
    fast_state = tree_leaves(opt_fast.state_dict()["shared_transform_state"])
    slow_state = tree_leaves(opt_slow.state_dict()["shared_transform_state"])
    assert len(fast_state) == len(slow_state)
    for a, b in zip(fast_state, slow_state, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5, equal_nan=True)


@settings(max_examples=20, deadline=None)
@given(rules(), grad_runs(nonfinite=False))
def test_a_parameter_without_gradient_is_skipped_as_the_pure_path_skips_it(rule, run):
    """Its per-parameter state stays; the step count is the transform's one count, as on the pure path."""
    _, factory, _, kw = rule
    params, runs = run
    none_at = (1, len(params) - 1)
    fast, _ = _run(lambda ps: otx.TransformOptimizer(ps, factory(**kw)), params, runs, none_at)
    slow, _ = _run(lambda ps: otx.TransformOptimizer(ps, factory(**kw), in_place=False), params, runs, none_at)
    for a, b in zip(fast, slow, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5, equal_nan=True)


@given(grad_runs())
@settings(max_examples=10, deadline=None)
def test_update_stays_pure_and_the_step_writes_in_place(run):
    params, runs = run
    tx = otx.adamw(0.1, weight_decay=0.1)
    state = tx.init(params)
    before_params, before_grads = clone_tree(params), clone_tree(runs[0])
    updates, pure_state = tx.update(runs[0], state, params)
    for k in params:  # the pure update touched nothing
        torch.testing.assert_close(params[k], before_params[k], rtol=0, atol=0, equal_nan=True)
        torch.testing.assert_close(runs[0][k], before_grads[k], rtol=0, atol=0, equal_nan=True)
    assert all(bool((v == 0).all()) for v in state[0].mu.values())
    expected = otx.apply_updates(params, updates)
    new_state = inplace_step(tx)(clone_tree(runs[0]), state, params)
    for k in params:
        torch.testing.assert_close(params[k], expected[k], rtol=1e-5, atol=1e-6, equal_nan=True)
        torch.testing.assert_close(new_state[0].mu[k], pure_state[0].mu[k], rtol=1e-5, atol=1e-6, equal_nan=True)
        assert new_state[0].mu[k] is state[0].mu[k]  # the donated buffer was written, not replaced


def test_scheduler_on_an_injected_lr_matches_torch():
    """A scheduler editing group['lr'] reaches the in-place step (values rounded to float32 when injected)."""
    params = [torch.randn(4), torch.randn(2)]
    runs = [[torch.randn(p.shape) for p in params] for _ in range(4)]
    results = []
    for make in (lambda ps: otx.TransformOptimizer(ps, dict(type="adamw", lr=0.1)),
                 lambda ps: torch.optim.AdamW(ps, lr=0.1, fused=True)):  # fmt: skip
        ps = [torch.nn.Parameter(p.clone()) for p in params]
        opt = make(ps)
        sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
        for grads in runs:
            for p, g in zip(ps, grads, strict=True):
                p.grad = g.clone()
            opt.step()
            sched.step()
        results.append(ps)
    for a, b in zip(*results, strict=True):
        torch.testing.assert_close(a.detach(), b.detach(), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize(
    "tx",
    [
        otx.adamw(0.1, mu_dtype=torch.bfloat16),  # a stored mu_dtype: no step offered
        otx.adam(lambda count: 0.1 / (1 + count)),  # a schedule: the step falls back to update
        otx.chain(otx.clip_by_global_norm(0.5), otx.sgd(0.1, momentum=0.9)),  # the chain's last part steps
        otx.sgd(0.1, momentum=0.5, dampening=0.3),  # torch's first step copies the gradient
    ],
)
def test_fallbacks_and_chains_give_the_pure_result(tx):
    params = {"w": torch.randn(3), "b": torch.randn(1, dtype=torch.float64)}
    runs = [{k: torch.randn(v.shape, dtype=v.dtype) for k, v in params.items()} for _ in range(3)]
    fast, _ = _run(lambda ps: otx.TransformOptimizer(ps, tx), params, runs)
    slow, _ = _run(lambda ps: otx.TransformOptimizer(ps, tx, in_place=False), params, runs)
    for a, b in zip(fast, slow, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


def test_complex_parameters_fall_back_to_the_pure_update():
    params = {"z": torch.randn(3, dtype=torch.complex64)}
    grads = {"z": torch.randn(3, dtype=torch.complex64)}
    tx = otx.adam(0.1)
    expected = otx.apply_updates(params, tx.update(grads, tx.init(params), params)[0])
    w = params["z"].clone()
    inplace_step(tx)(grads, tx.init(params), {"z": w})
    torch.testing.assert_close(w, expected["z"])


def test_a_malformed_gradient_raises_and_changes_nothing():
    tx = otx.adamw(0.1)
    w = torch.ones(3)
    state = tx.init({"w": w})
    with pytest.raises(ValueError, match="shape"):
        inplace_step(tx)({"w": torch.ones(2)}, state, {"w": w})
    assert torch.equal(w, torch.ones(3)) and bool((state[0].mu["w"] == 0).all())


def test_the_step_survives_copy_and_pickle():
    tx = otx.sgd(0.1, momentum=0.9)
    assert inplace_step(copy.deepcopy(tx)) is not None
    opt = otx.TransformOptimizer([torch.nn.Parameter(torch.ones(2))], dict(type="adamw", lr=0.1), in_place=False)
    assert pickle.loads(pickle.dumps(opt)).in_place is False


def test_in_place_must_be_a_bool():
    with pytest.raises(TypeError, match="in_place must be True or False, got 1"):
        otx.TransformOptimizer([torch.nn.Parameter(torch.ones(1))], otx.sgd(0.1), in_place=1)


def test_with_step_keeps_a_chain_a_chain():
    tx = with_step_(otx.chain(otx.scale(2.0), otx.scale(-1.0)), pure_step_)
    assert len(tx.parts) == 2 and inplace_step(tx) is not None


@pytest.mark.parametrize(
    ("tx", "kind", "field"),
    [
        (otx.rprop(0.1, maximize=True), ScaleByRpropState, "prev"),
    ],
)
def test_rprop_step_writes_the_donated_buffers(tx, kind, field):
    """torch's kernel ran on the state's own buffers (no fallback to the pure update), with the pure result."""
    w = torch.randn(3)
    state, expected_w, expected_state = tx.init({"w": w}), w.clone(), tx.init({"w": w.clone()})
    for _ in range(3):
        g = {"w": torch.randn(3)}
        updates, expected_state = tx.update(g, expected_state, {"w": expected_w})
        expected_w = otx.apply_updates({"w": expected_w}, updates)["w"]
        buffer = getattr(find_one(state, kind, "rule"), field)["w"]
        state = inplace_step(tx)(g, state, {"w": w})
        assert getattr(find_one(state, kind, "rule"), field)["w"] is buffer
    torch.testing.assert_close(w, expected_w, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "make",
    [
        lambda mask: otx.sgd(0.1, momentum=0.9, weight_decay=0.1, mask=mask),
        lambda mask: otx.adam(0.1, weight_decay=0.1, mask=mask),
        lambda mask: otx.adamw(0.1, weight_decay=0.1, mask=mask),
        lambda mask: otx.adamax(0.1, weight_decay=0.1, mask=mask),
        lambda mask: otx.rmsprop(0.1, weight_decay=0.1, mask=mask),
        lambda mask: otx.adagrad(0.1, weight_decay=0.1, mask=mask),
        lambda mask: otx.adam(0.1, nesterov=True),
        lambda mask: otx.adamw(0.1, eps_root=1e-3),
    ],
)
def test_options_torch_kernels_lack_step_the_pure_rule(make):
    """A weight-decay mask, nesterov or eps_root must never be dropped by the in-place (torch kernel) step."""

    def mask(tree):  # decay the second parameter only, whatever the keys (TransformOptimizer's are positions)
        return {k: i == 1 for i, k in enumerate(tree)}

    ws = [torch.nn.Parameter(torch.full((3,), 2.0)), torch.nn.Parameter(torch.full((2,), -1.0))]
    opt = otx.TransformOptimizer(ws, make(mask), in_place=True)
    pure = otx.TransformOptimizer([torch.nn.Parameter(w.detach().clone()) for w in ws], make(mask), in_place=False)
    for step in range(3):
        for o in (opt, pure):
            for p in o.param_groups[0]["params"]:
                p.grad = torch.full_like(p, 0.5 + step)
            o.step()
    for a, b in zip(opt.param_groups[0]["params"], pure.param_groups[0]["params"], strict=True):
        torch.testing.assert_close(a.detach(), b.detach(), rtol=0, atol=0)
    assert otx.inplace_step(make(mask)) is None  # refused up front, not silently dropped


@pytest.mark.parametrize("make", [lambda: otx.sgd(0.1, momentum=0.9), lambda: otx.adamw(0.1), lambda: otx.adam(0.1)])
def test_in_place_resume_through_state_dict_is_bitwise(make):
    """The checkpoint path (state_dict / load_state_dict) resumes the in-place step exactly."""
    torch.manual_seed(0)
    params = [torch.nn.Parameter(torch.randn(3)), torch.nn.Parameter(torch.randn(2, 2))]
    opt = otx.TransformOptimizer(params, make())
    for p in params:
        p.grad = torch.randn(p.shape)
    opt.step()
    params2 = [torch.nn.Parameter(p.detach().clone()) for p in params]
    opt2 = otx.TransformOptimizer(params2, make())
    opt2.load_state_dict(copy.deepcopy(opt.state_dict()))
    for a, b in zip(params, params2, strict=True):
        b.grad = a.grad.clone()
    opt.step()
    opt2.step()
    for a, b in zip(params, params2, strict=True):
        torch.testing.assert_close(a.detach(), b.detach(), rtol=0, atol=0)


def test_asgd_offers_no_in_place_step():
    """torch's ASGD kernel starts eta from its own state, not from the group's lr at the first step (issue 21)."""
    assert otx.inplace_step(otx.asgd(0.1)) is None
    assert otx.inplace_step(otx.asgd(0.1, weight_decay=torch.tensor(0.1), maximize=True)) is None
