"""Issue 21, item 3: one implementation per behaviour, so the entry points agree.

``explain`` on a config reads back what ``build_optim_wrapper`` builds (its groups' lr and
weight decay, the rules' labels and reasons) instead of working them out again; an optimizer's
defaults come from building it, never from its class signature; the facade's gradient clipping
gives the pure chain's numbers.
"""

from __future__ import annotations

import re

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

import optimtx as otx
from optimtx.config.explain import explain, optimizer_defaults
from optimtx.registry import OPTIMIZERS

OPTIMIZER_CFGS = [
    dict(type="SGD", lr=0.1, momentum=0.9, weight_decay=1e-4),
    dict(type="AdamW", lr=1e-3),
    dict(type="Adam"),
    dict(type="TransformOptimizer", transform=dict(type="adamw", lr=0.01, weight_decay=0.05)),
]

mults = st.sampled_from([0.0, 0.5, 1.0, 2.0])
paramwise_cfgs = st.fixed_dictionaries(
    {},
    optional={
        "bias_lr_mult": mults,
        "bias_decay_mult": mults,
        "norm_decay_mult": mults,
        "custom_keys": st.dictionaries(
            st.sampled_from(["0", "1", "2.weight", "head"]),
            st.fixed_dictionaries({}, optional={"lr_mult": mults, "decay_mult": mults}),
            max_size=2,
        ),
    },
)


def _model(frozen: bool) -> nn.Module:
    model = nn.Sequential(nn.Linear(2, 3), nn.LayerNorm(3), nn.Linear(3, 1))
    if frozen:
        model[0].bias.requires_grad_(False)
    return model


@pytest.mark.filterwarnings("ignore::optimtx.core.warnings.FrozenParameterWarning")  # both entry points warn
@settings(max_examples=25, deadline=None)
@given(optimizer=st.sampled_from(OPTIMIZER_CFGS), paramwise=paramwise_cfgs, frozen=st.booleans())
def test_explain_agrees_with_build_over_generated_configs(optimizer, paramwise, frozen):
    model = _model(frozen)
    cfg = dict(optimizer=dict(optimizer), paramwise_cfg=paramwise)
    try:
        wrapper = otx.build_optim_wrapper(model, cfg)
    except (TypeError, ValueError) as refused:  # explain refuses it the same way
        with pytest.raises(type(refused), match="^" + re.escape(str(refused)) + "$"):
            explain(model, cfg)
        return
    rows = {row.name: row for row in explain(model, cfg)}
    group_of = {id(p): g for g in wrapper.optimizer.param_groups for p in g["params"]}
    reasons = wrapper.paramwise_reasons
    for name, p in model.named_parameters():
        row = rows[name]
        group = group_of.get(id(p))
        expected = (None, None) if group is None else (group.get("lr"), group.get("weight_decay"))
        assert (row.lr, row.weight_decay) == expected, (name, row, group)
        if name in reasons and group is not None:
            assert (row.label, row.rule) == reasons[name]


@pytest.mark.parametrize(
    "optimizer",
    [
        dict(type="SGD", lr=-1.0, weight_decay=0.1),
        dict(type="NoSuchOptimizer", lr=0.1, weight_decay=0.1),
        dict(type="TransformOptimizer", transform=dict(type="adamw", lr=float("nan"))),
        dict(type="Adam", lr=0.1),  # bias_decay_mult without a weight decay
    ],
)
@pytest.mark.parametrize("paramwise", [{}, dict(bias_decay_mult=0.0)])
def test_explain_refuses_what_build_refuses(optimizer, paramwise):
    model = nn.Linear(2, 1)
    cfg = dict(optimizer=optimizer, paramwise_cfg=paramwise)
    try:
        otx.build_optim_wrapper(model, cfg)
    except (TypeError, ValueError, KeyError) as refused:
        with pytest.raises(type(refused)) as from_explain:
            explain(model, cfg)
        assert str(from_explain.value) == str(refused)
    else:
        assert not paramwise and optimizer["type"] == "Adam"  # the one config here that is valid
        explain(model, cfg)


class _DoublesLr(torch.optim.SGD):
    """Its signature says lr=0.5; what it builds has lr=1.0 (the signature is not the truth)."""

    def __init__(self, params, lr=0.5, weight_decay=0.0):
        super().__init__(params, lr=2 * lr, weight_decay=weight_decay + 0.25)


def test_optimizer_defaults_come_from_the_built_optimizer_not_the_signature():
    OPTIMIZERS.register_module(module=_DoublesLr)
    try:
        assert optimizer_defaults(dict(type="_DoublesLr")) == {"lr": 1.0, "weight_decay": 0.25}
        rows = explain(nn.Linear(1, 1), dict(optimizer=dict(type="_DoublesLr")))
        assert {(r.lr, r.weight_decay) for r in rows} == {(1.0, 0.25)}
    finally:
        OPTIMIZERS.module_dict.pop("_DoublesLr")


@settings(max_examples=25, deadline=None)
@given(
    max_norm=st.floats(0.01, 10.0),
    grads=st.lists(st.floats(-100.0, 100.0, allow_nan=False), min_size=3, max_size=3),
    norm_type=st.sampled_from([1.0, 2.0, float("inf")]),
)
def test_facade_clipping_gives_the_pure_chains_numbers(max_norm, grads, norm_type):
    w_facade = nn.Parameter(torch.tensor([1.0, -2.0, 3.0], dtype=torch.float64))
    wrapper = otx.OptimWrapper(
        torch.optim.SGD([w_facade], lr=0.1), clip_grad=dict(max_norm=max_norm, norm_type=norm_type)
    )
    w_facade.grad = torch.tensor(grads, dtype=torch.float64)
    wrapper.step()
    pure = otx.chain(otx.clip_by_global_norm(max_norm, norm_type=norm_type), otx.sgd(lr=0.1))
    params = {"w": torch.tensor([1.0, -2.0, 3.0], dtype=torch.float64)}
    updates, _ = pure.update({"w": torch.tensor(grads, dtype=torch.float64)}, pure.init(params), params)
    torch.testing.assert_close(w_facade.detach(), otx.apply_updates(params, updates)["w"])


@settings(max_examples=25, deadline=None)
@given(
    overflows=st.lists(st.booleans(), min_size=1, max_size=8),
    growth_interval=st.integers(1, 3),
    backoff=st.sampled_from([0.25, 0.5]),
)
def test_facade_loss_scaling_gives_the_pure_transforms_numbers(overflows, growth_interval, backoff):
    """LossScaler (facade) and scale_by_amp (pure) share one scale rule: same scales, same skips, same weights."""
    settings_ = dict(init_scale=8.0, growth_factor=2.0, backoff_factor=backoff, growth_interval=growth_interval)
    w = nn.Parameter(torch.tensor([1.0, -2.0], dtype=torch.float64))
    opt = torch.optim.SGD([w], lr=0.1)
    scaler = otx.LossScaler(**settings_)
    pure = otx.scale_by_amp(otx.sgd(lr=0.1), **settings_)
    params = {"w": torch.tensor([1.0, -2.0], dtype=torch.float64)}
    state = pure.init(params)
    for i, overflow in enumerate(overflows):
        grad = torch.tensor([float("inf") if overflow else 0.5 + i, -1.0], dtype=torch.float64)
        scale = otx.current_loss_scale(state)
        assert scaler.get_scale() == float(scale)
        w.grad = grad * scaler.get_scale()
        scaler.step(opt)
        scaler.update()
        updates, state = pure.update({"w": grad * scale.to(grad.dtype)}, state, params)
        params = otx.apply_updates(params, updates)
        assert scaler.step_was_skipped() == overflow
        torch.testing.assert_close(w.detach(), params["w"])
    assert scaler.get_scale() == float(otx.current_loss_scale(state))
