"""Parity with MMEngine itself: per-parameter lr/weight decay, and a few training steps."""

from __future__ import annotations

import copy

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from optimtx.config.builder import build_optim_wrapper
from optimtx.config.explain import explain
from optimtx.config.paramwise import paramwise_labels
from tests.approx import approx_nested, flat
from tests.paramwise_cases import MODELS, PARAMWISE_CFGS, SIX_MULTS, ExampleModel, SharedModel
from tests.strategies import paramwise_cfgs

mmengine_optim = pytest.importorskip("mmengine.optim")
from tests.mmengine_quiet import quiet_mmengine  # noqa: E402, F401  (autouse fixture)

OPTIMIZER_CFGS = {
    "sgd": dict(type="SGD", lr=0.01, momentum=0.9, weight_decay=0.9),
    "adamw": dict(type="AdamW", lr=0.01, weight_decay=0.05),
}


def per_param(optimizer, model):
    names = {id(p): n for n, p in model.named_parameters()}
    return {names[id(p)]: (g["lr"], g["weight_decay"]) for g in optimizer.param_groups for p in g["params"]}


def mmengine_table(model, cfg):
    return per_param(mmengine_optim.build_optim_wrapper(model, copy.deepcopy(cfg)).optimizer, model)


@pytest.mark.parametrize("opt_name", sorted(OPTIMIZER_CFGS))
@pytest.mark.parametrize("cfg_name", sorted(PARAMWISE_CFGS))
@pytest.mark.parametrize("model_name", sorted(MODELS))
def test_effective_lr_and_weight_decay_equal_mmengine(model_name, cfg_name, opt_name):
    torch.manual_seed(0)
    model = MODELS[model_name]()
    cfg = dict(optimizer=OPTIMIZER_CFGS[opt_name], paramwise_cfg=PARAMWISE_CFGS[cfg_name])
    expected = mmengine_table(model, cfg)
    wrapper = build_optim_wrapper(model, cfg)
    assert per_param(wrapper.optimizer, model) == expected
    assert len(wrapper.optimizer.param_groups) <= len(expected)
    rows = {r.name: (r.lr, r.weight_decay) for r in explain(model, cfg) if r.lr is not None}
    assert flat(rows) == approx_nested(expected)
    labels, hparams = paramwise_labels(
        model, cfg["paramwise_cfg"], lr=cfg["optimizer"]["lr"], weight_decay=cfg["optimizer"]["weight_decay"]
    )
    from_labels = {n: (hparams[lb]["lr"], hparams[lb]["weight_decay"]) for n, lb in labels.items() if lb != "frozen"}
    assert flat(from_labels) == approx_nested(expected)


@pytest.mark.parametrize("paramwise_cfg", [None, {}])
def test_without_paramwise_one_group_of_all_params_like_mmengine(paramwise_cfg):
    model = ExampleModel()
    model.requires_grad_(False)
    cfg = dict(optimizer=OPTIMIZER_CFGS["sgd"], paramwise_cfg=paramwise_cfg)
    ours = build_optim_wrapper(model, cfg).optimizer
    theirs = mmengine_optim.build_optim_wrapper(model, copy.deepcopy(cfg)).optimizer
    assert len(ours.param_groups) == len(theirs.param_groups) == 1
    assert ours.param_groups[0]["params"] == theirs.param_groups[0]["params"] == list(model.parameters())


def test_shared_modules_with_bypass_duplicate_like_mmengine():
    model = SharedModel()
    cfg = dict(optimizer=OPTIMIZER_CFGS["sgd"], paramwise_cfg=dict(SIX_MULTS, bypass_duplicate=True))
    assert per_param(build_optim_wrapper(model, cfg).optimizer, model) == mmengine_table(model, cfg)
    model.conv1[0].requires_grad_(False)
    assert per_param(build_optim_wrapper(model, cfg).optimizer, model) == mmengine_table(model, cfg)
    cfg["paramwise_cfg"] = SIX_MULTS
    for build in (build_optim_wrapper, mmengine_optim.build_optim_wrapper):
        with pytest.raises(ValueError, match="some parameters appear in more than one parameter group"):
            build(SharedModel(), copy.deepcopy(cfg))


def test_model_wrapper_is_unwrapped_like_mmengine():
    class PseudoDataParallel(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.module = ExampleModel()

    model = PseudoDataParallel()
    cfg = dict(optimizer=OPTIMIZER_CFGS["sgd"], paramwise_cfg=SIX_MULTS)
    assert per_param(build_optim_wrapper(model, cfg).optimizer, model) == mmengine_table(model, cfg)


def train(wrapper, model, steps, seed=0):
    gen = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        x = torch.randn(4, 3, 5, 5, generator=gen)
        loss = model(x).pow(2).mean()
        wrapper.update_params(loss)
    return {n: p.detach().clone() for n, p in model.named_parameters()}


TRAINING_CFGS = {
    "sgd_plain": dict(optimizer=OPTIMIZER_CFGS["sgd"]),
    "sgd_paramwise": dict(optimizer=OPTIMIZER_CFGS["sgd"], paramwise_cfg=SIX_MULTS),
    "adamw_accumulate_clip": dict(
        optimizer=OPTIMIZER_CFGS["adamw"],
        paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0),
        accumulative_counts=2,
        clip_grad=dict(max_norm=0.5),
    ),
    "sgd_clip_value_custom_keys": dict(
        optimizer=OPTIMIZER_CFGS["sgd"],
        clip_grad=dict(type="value", clip_value=0.01),
        paramwise_cfg=dict(custom_keys={"sub": dict(lr_mult=0.1, decay_mult=0.0)}),
    ),
}


@pytest.mark.parametrize("name", sorted(TRAINING_CFGS))
def test_training_steps_match_mmengine(name):
    cfg = TRAINING_CFGS[name]
    torch.manual_seed(0)
    ours_model = ExampleModel()
    theirs_model = copy.deepcopy(ours_model)
    initial = {n: p.detach().clone() for n, p in ours_model.named_parameters()}
    ours = train(build_optim_wrapper(ours_model, cfg), ours_model, steps=5)
    theirs = train(mmengine_optim.build_optim_wrapper(theirs_model, copy.deepcopy(cfg)), theirs_model, steps=5)
    assert ours.keys() == theirs.keys()
    for key in ours:
        torch.testing.assert_close(ours[key], theirs[key], rtol=1e-5, atol=1e-6)
    assert any(not torch.equal(ours[k], initial[k]) for k in ours)  # training actually moved the weights


@settings(max_examples=40)
@given(cfg=st.booleans().flatmap(lambda decay: st.tuples(st.just(decay), paramwise_cfgs(with_decay=decay))))
def test_random_paramwise_cfgs_equal_mmengine(cfg):
    with_decay, paramwise_cfg = cfg
    optimizer = dict(type="SGD", lr=0.1, weight_decay=0.5) if with_decay else dict(type="SGD", lr=0.1)
    model = ExampleModel()
    model.sub.gn.requires_grad_(False)
    full = dict(optimizer=optimizer, paramwise_cfg=paramwise_cfg)
    ours = build_optim_wrapper(model, full).optimizer
    assert per_param(ours, model) == mmengine_table(model, full)
    _, hparams = paramwise_labels(model, paramwise_cfg, lr=0.1, weight_decay=optimizer.get("weight_decay"))
    assert len(ours.param_groups) == len(hparams)  # one torch group per label
    assert len({tuple(sorted(h.items(), key=str)) for h in hparams.values()}) == len(hparams)
