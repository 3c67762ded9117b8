"""TransformOptimizer against torch at the edges: frozen parameters, added groups, group keys, sparse grads."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

import optimtx as otx
from optimtx.schedules import linear
from tests.reliability.facade_helpers import optimizer_snapshot, same


def _pair(n: int, shape=(3,)):
    torch.manual_seed(n)
    values = [torch.randn(shape) for _ in range(n)]
    return [nn.Parameter(v.clone()) for v in values], [nn.Parameter(v.clone()) for v in values]


@given(
    pattern=st.lists(st.lists(st.booleans(), min_size=3, max_size=3), min_size=1, max_size=5),
    momentum=st.sampled_from([0.0, 0.9]),
    weight_decay=st.sampled_from([0.0, 0.1]),
    nesterov=st.booleans(),
)
def test_parameters_without_grad_are_skipped_like_torch_sgd(pattern, momentum, weight_decay, nesterov):
    if nesterov and momentum == 0.0:
        nesterov = False
    ours, theirs = _pair(3)
    kwargs = dict(lr=0.1, momentum=momentum, weight_decay=weight_decay, nesterov=nesterov)
    opt = otx.TransformOptimizer(ours, otx.inject_hyperparams(otx.sgd)(**kwargs))
    ref = torch.optim.SGD(theirs, **kwargs)
    for step, has_grad in enumerate(pattern):
        for j, flag in enumerate(has_grad):
            grad = torch.full((3,), float(step + j + 1)) if flag else None
            ours[j].grad, theirs[j].grad = grad, None if grad is None else grad.clone()
        opt.step()
        ref.step()
        for a, b in zip(ours, theirs, strict=True):
            torch.testing.assert_close(a.detach(), b.detach(), rtol=1e-6, atol=1e-6)


def test_frozen_parameter_state_is_untouched_bitwise():
    (a, b), _ = _pair(2)
    opt = otx.TransformOptimizer([a, b], otx.inject_hyperparams(otx.adamw)(lr=0.1, weight_decay=0.5))
    a.grad, b.grad = torch.ones(3), torch.ones(3)
    opt.step()
    before_b, before_m = b.detach().clone(), otx.state_dict(opt.transform_states[0])
    b.grad = None  # frozen from now on
    a.grad = torch.ones(3)
    opt.step()
    after_m = otx.state_dict(opt.transform_states[0])
    assert torch.equal(b.detach(), before_b)  # no weight decay applied to it
    for key in ("mu", "nu"):
        found = [k for k in _flat(after_m) if k.endswith(f"{key}.1")]
        for k in found:
            assert torch.equal(_flat(after_m)[k], _flat(before_m)[k])


def _flat(tree, prefix=""):
    out = {}
    if isinstance(tree, dict):
        for k, v in tree.items():
            out.update(_flat(v, f"{prefix}{k}."))
    elif isinstance(tree, (list, tuple)):
        for i, v in enumerate(tree):
            out.update(_flat(v, f"{prefix}{i}."))
    else:
        out[prefix.rstrip(".")] = tree
    return out


def test_frozen_parameters_in_shared_clip_do_not_change_the_norm():
    ours, theirs = _pair(2)
    opt = otx.TransformOptimizer(ours, otx.chain(otx.clip_by_global_norm(0.5), otx.sgd(0.1, momentum=0.9)))
    ref = torch.optim.SGD(theirs, lr=0.1, momentum=0.9)
    for step in range(3):
        ours[0].grad, theirs[0].grad = torch.full((3,), 2.0), torch.full((3,), 2.0)
        ours[1].grad = theirs[1].grad = None
        if step == 1:
            ours[1].grad, theirs[1].grad = torch.ones(3), torch.ones(3)
        opt.step()
        torch.nn.utils.clip_grad_norm_([p for p in theirs if p.grad is not None], 0.5)
        ref.step()
        for a, b in zip(ours, theirs, strict=True):
            torch.testing.assert_close(a.detach(), b.detach())


def test_add_param_group_keeps_existing_momentum_like_torch():
    (a, b), (a2, b2) = _pair(2)
    for tx in (otx.inject_hyperparams(otx.sgd)(lr=0.1, momentum=0.9), otx.sgd(0.1, momentum=0.9)):
        a.data, b.data, a2.data, b2.data = (torch.ones(3) for _ in range(4))
        opt = otx.TransformOptimizer([a], tx)
        ref = torch.optim.SGD([a2], lr=0.1, momentum=0.9)
        for step in range(4):
            if step == 2:
                opt.add_param_group({"params": [b]})
                ref.add_param_group({"params": [b2]})
            for p in (a, a2, b, b2):
                p.grad = torch.full((3,), float(step + 1))
            opt.step()
            ref.step()
            torch.testing.assert_close(a.detach(), a2.detach())
            torch.testing.assert_close(b.detach(), b2.detach())


@pytest.mark.parametrize(
    "group",
    [
        {"params": [torch.ones(2, requires_grad=True)], "lr": "fast"},
        {"params": [torch.ones(2, requires_grad=True)], "eps": 10.0},
        {"params": [torch.ones(2, requires_grad=True)], "momentum": 0.5},
        {"params": [torch.ones(2).to_sparse()]},
        "duplicate",
        "not a dict",
    ],
)
def test_failed_add_param_group_changes_nothing(group):
    (a,), _ = _pair(1)
    opt = otx.TransformOptimizer([a], otx.chain(otx.clip_by_global_norm(1.0), otx.inject_hyperparams(otx.sgd)(lr=0.1)))
    a.grad = torch.ones(3)
    opt.step()
    before = optimizer_snapshot(opt)
    if group == "duplicate":
        group = {"params": [a], "lr": 0.5}  # a parameter that is already in a group
    caller = dict(group) if isinstance(group, dict) else group
    with pytest.raises((ValueError, TypeError)):
        opt.add_param_group(group)
    assert same(optimizer_snapshot(opt), before)
    assert len(opt.param_groups) == 1 and len(opt.transform_states) == 1
    assert caller == group  # the caller's dict is not modified


def test_group_keys_that_would_be_ignored_are_refused_at_construction():
    model = nn.Linear(2, 1)
    with pytest.raises(ValueError, match=r"eps=10.0"):
        otx.TransformOptimizer(
            [{"params": [model.weight]}, {"params": [model.bias], "eps": 10.0}],
            otx.inject_hyperparams(otx.adamw)(lr=1e-3),
        )
    opt = otx.TransformOptimizer(
        [{"params": [model.weight]}, {"params": [model.bias], "eps": 10.0}],
        otx.inject_hyperparams(otx.adamw)(lr=1e-3, eps=1e-8),
    )
    assert opt.param_groups[1]["eps"] == 10.0
    labelled = otx.TransformOptimizer(
        [{"params": [model.weight], "name": "w", "initial_lr": 0.1}], dict(type="sgd", lr=0.1)
    )
    assert labelled.param_groups[0]["name"] == "w"


def test_group_key_written_later_is_refused_before_the_step_changes_anything():
    (a,), _ = _pair(1)
    opt = otx.TransformOptimizer([a], otx.inject_hyperparams(otx.sgd)(lr=0.1))
    a.grad = torch.ones(3)
    opt.param_groups[0]["momentum"] = 0.9
    before = a.detach().clone()
    with pytest.raises(ValueError, match=r"momentum=0.9"):
        opt.step()
    assert torch.equal(a.detach(), before)


def test_custom_keys_eps_is_honoured_when_injected():
    model = nn.Linear(3, 1)
    ref_model = nn.Linear(3, 1)
    ref_model.load_state_dict(model.state_dict())
    opt = otx.TransformOptimizer(
        [{"params": [model.weight]}, {"params": [model.bias], "eps": 10.0}],
        otx.inject_hyperparams(otx.adam)(lr=0.1, eps=1e-8),
    )
    ref = torch.optim.Adam(
        [{"params": [ref_model.weight]}, {"params": [ref_model.bias], "eps": 10.0}], lr=0.1, eps=1e-8
    )
    for _ in range(3):
        for m, o in ((model, opt), (ref_model, ref)):
            o.zero_grad()
            m(torch.ones(2, 3)).sum().backward()
            o.step()
    torch.testing.assert_close(model.bias.detach(), ref_model.bias.detach())


def test_multistep_gamma_zero_is_honoured():
    (a,), (a2,) = _pair(1)
    opt = otx.TransformOptimizer([a], otx.inject_hyperparams(otx.sgd)(lr=0.1, momentum=0.9))
    ref = torch.optim.SGD([a2], lr=0.1, momentum=0.9)
    scheds = [torch.optim.lr_scheduler.MultiStepLR(o, milestones=[2], gamma=0.0) for o in (opt, ref)]
    for _ in range(5):
        for p in (a, a2):
            p.grad = torch.ones(3)
        opt.step()
        ref.step()
        for s in scheds:
            s.step()
        assert opt.param_groups[0]["lr"] == ref.param_groups[0]["lr"]
        torch.testing.assert_close(a.detach(), a2.detach())


def test_scheduled_lr_is_reported_in_the_group_and_by_get_lr():
    (a,), _ = _pair(1)
    opt = otx.TransformOptimizer([a], otx.inject_hyperparams(otx.sgd)(lr=linear(1.0, 0.0, 4)))
    wrapper = otx.OptimWrapper(opt)
    seen = []
    for _ in range(4):
        before = a.detach().clone()
        a.grad = torch.ones(3)
        wrapper.step()
        used = (before - a.detach())[0].item()
        seen.append(wrapper.get_lr()["lr"][0])
        assert seen[-1] == pytest.approx(used)  # the lr the last step really used
    assert seen == pytest.approx([1.0, 0.75, 0.5, 0.25])


def test_writing_a_schedule_driven_lr_is_refused_not_overridden():
    (a,), _ = _pair(1)
    opt = otx.TransformOptimizer([a], otx.inject_hyperparams(otx.sgd)(lr=linear(1.0, 0.0, 4)))
    a.grad = torch.ones(3)
    opt.step()
    opt.param_groups[0]["lr"] = 0.0
    before = a.detach().clone()
    with pytest.raises(ValueError, match=r"schedule"):
        opt.step()
    assert torch.equal(a.detach(), before)


def test_get_lr_without_lr_is_a_clear_error():
    (a,), _ = _pair(1)
    wrapper = otx.OptimWrapper(otx.TransformOptimizer([a], otx.sgd(0.1)))
    with pytest.raises(KeyError, match=r"inject"):
        wrapper.get_lr()


@pytest.mark.parametrize("make", [lambda: otx.sgd(0.1), lambda: otx.inject_hyperparams(otx.adamw)(lr=0.1)])
def test_sparse_gradients_are_refused_up_front_naming_the_parameter(make):
    emb = nn.Embedding(5, 3, sparse=True)
    dense = nn.Parameter(torch.ones(2))
    opt = otx.TransformOptimizer([dense, emb.weight], make())
    emb(torch.tensor([1, 2])).sum().backward()
    dense.grad = torch.ones(2)
    before = optimizer_snapshot(opt)
    with pytest.raises(ValueError, match=r"parameter 1 \(shape \(5, 3\)\).*sparse"):
        opt.step()
    assert same(optimizer_snapshot(opt), before)


def test_failing_transform_changes_nothing_in_any_group():
    calls = []

    def update(updates, state, params=None, **extra):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("boom")
        return {k: -u for k, u in updates.items()}, state

    tx = otx.GradientTransformation(lambda p: (otx.inject_hyperparams(otx.scale)(factor=1.0).init(p),), update)
    del tx  # a user transform without injected values runs once over all groups; use two injected groups instead
    a, b = nn.Parameter(torch.ones(2)), nn.Parameter(torch.ones(2))
    inner = otx.inject_hyperparams(otx.sgd)(lr=0.1)

    def flaky_update(updates, state, params=None, **extra):
        calls.append(1)
        if len(calls) % 2 == 0:
            raise RuntimeError("boom")
        return inner.update(updates, state, params, **extra)

    opt = otx.TransformOptimizer(
        [{"params": [a]}, {"params": [b]}], otx.GradientTransformation(inner.init, flaky_update)
    )
    a.grad, b.grad = torch.ones(2), torch.ones(2)
    before = optimizer_snapshot(opt)
    with pytest.raises(RuntimeError, match=r"boom"):
        opt.step()
    assert same(optimizer_snapshot(opt), before)  # group 0 was computed but not applied


def test_mixed_dtype_group_matches_torch_and_reloads():
    torch.manual_seed(0)
    values = [torch.randn(4), torch.randn(3).bfloat16(), torch.randn(2).double()]
    ours = [nn.Parameter(v.clone()) for v in values]
    theirs = [nn.Parameter(v.clone()) for v in values]
    opt = otx.TransformOptimizer(ours, otx.inject_hyperparams(otx.sgd)(lr=0.1, momentum=0.9, weight_decay=0.01))
    ref = torch.optim.SGD(theirs, lr=0.1, momentum=0.9, weight_decay=0.01, foreach=False)
    for _step in range(3):
        for a, b in zip(ours, theirs, strict=True):
            g = torch.randn(a.shape).to(a.dtype)
            a.grad, b.grad = g, g.clone()
        opt.step()
        ref.step()
    for a, b in zip(ours, theirs, strict=True):
        assert a.dtype == b.dtype
        tol = 2e-2 if a.dtype == torch.bfloat16 else 1e-6
        torch.testing.assert_close(a.detach(), b.detach(), rtol=tol, atol=tol)
    fresh = otx.TransformOptimizer(ours, otx.inject_hyperparams(otx.sgd)(lr=0.1, momentum=0.9, weight_decay=0.01))
    fresh.load_state_dict(opt.state_dict())


def test_complex_parameters_sgd_matches_torch():
    torch.manual_seed(0)
    value = torch.randn(3, dtype=torch.complex64)
    a, b = nn.Parameter(value.clone()), nn.Parameter(value.clone())
    opt = otx.TransformOptimizer([a], otx.inject_hyperparams(otx.sgd)(lr=0.1, momentum=0.9, weight_decay=0.1))
    ref = torch.optim.SGD([b], lr=0.1, momentum=0.9, weight_decay=0.1)
    for _ in range(3):
        g = torch.randn(3, dtype=torch.complex64)
        a.grad, b.grad = g, g.clone()
        opt.step()
        ref.step()
    torch.testing.assert_close(a.detach(), b.detach())


def test_masks_that_depend_on_the_whole_tree_see_it_when_a_parameter_is_frozen():
    """A positional mask must select the same parameters whether or not some have no gradient."""
    params = [nn.Parameter(torch.ones(2)) for _ in range(3)]

    def mask(tree):  # decays "0" and "2", by position
        return {k: i % 2 == 0 for i, k in enumerate(tree)}

    tx = otx.chain(otx.masked(otx.add_decayed_weights(0.5), mask), otx.sgd(1.0))
    opt = otx.TransformOptimizer(params, tx)
    params[0].grad, params[2].grad = torch.zeros(2), torch.zeros(2)  # params[1] is frozen
    opt.step()
    torch.testing.assert_close(params[0].detach(), torch.full((2,), 0.5))
    torch.testing.assert_close(params[1].detach(), torch.ones(2))
    torch.testing.assert_close(params[2].detach(), torch.full((2,), 0.5))  # a restricted tree would skip it


def test_construction_never_modifies_the_callers_groups_or_config():
    cfg = dict(type="chain", transforms=[dict(type="clip_by_global_norm", max_norm=1.0), dict(type="adamw", lr=1e-3)])
    frozen_cfg = {"type": "chain", "transforms": [dict(t) for t in cfg["transforms"]]}
    model = nn.Linear(2, 1)
    groups = [{"params": model.weight}, {"params": [model.bias], "lr": 0.5}]
    keys = [set(g) for g in groups]
    otx.TransformOptimizer(groups, cfg)
    assert cfg == frozen_cfg
    assert [set(g) for g in groups] == keys and groups[0]["params"] is model.weight
