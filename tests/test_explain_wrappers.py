"""explain() for every wrapper kind, for multi-optimizer configs, and the reasons a built wrapper keeps."""

from __future__ import annotations

import warnings

import pytest
import torch
from torch import nn

import optimtx as otx


class Gan(nn.Module):
    def __init__(self):
        super().__init__()
        self.generator = nn.Sequential(nn.Linear(2, 4), nn.LayerNorm(4), nn.Linear(4, 2))
        self.discriminator = nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 1))


GAN_CFG = dict(
    constructor="MultiOptimWrapperConstructor",
    generator=dict(
        type="AmpOptimWrapper",
        dtype="bfloat16",
        optimizer=dict(type="AdamW", lr=2e-4, weight_decay=0.05),
        paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0),
    ),
    discriminator=dict(optimizer=dict(type="SGD", lr=0.1, momentum=0.9)),
)


def test_multi_constructor_builds_one_wrapper_per_submodule():
    gan = Gan()
    wrappers = otx.build_optim_wrapper(gan, GAN_CFG)
    assert isinstance(wrappers, otx.OptimWrapperDict) and list(wrappers.keys()) == ["generator", "discriminator"]
    assert isinstance(wrappers["generator"], otx.AmpOptimWrapper)
    gen_params = {id(p) for g in wrappers["generator"].optimizer.param_groups for p in g["params"]}
    assert gen_params == {id(p) for p in gan.generator.parameters()}
    disc_params = {id(p) for g in wrappers["discriminator"].optimizer.param_groups for p in g["params"]}
    assert disc_params == {id(p) for p in gan.discriminator.parameters()}


@pytest.mark.parametrize(
    ("cfg", "error", "match"),
    [
        (
            dict(constructor="MultiOptimWrapperConstructor", encoder=dict(optimizer=dict(type="SGD", lr=0.1))),
            KeyError,
            "encoder",
        ),
        (dict(constructor="MultiOptimWrapperConstructor", generator="SGD"), TypeError, "generator"),
        (dict(constructor="MultiOptimWrapperConstructor"), TypeError, "non-empty"),
        (
            dict(
                constructor="MultiOptimWrapperConstructor",
                paramwise_cfg=dict(norm_decay_mult=0.0),
                generator=dict(optimizer=dict(type="SGD", lr=0.1)),
            ),
            ValueError,
            "paramwise_cfg",
        ),
    ],
)
def test_multi_constructor_errors(cfg, error, match):
    with pytest.raises(error, match=match):
        otx.build_optim_wrapper(Gan(), cfg)


def test_explain_an_optim_wrapper_dict_gives_one_table_per_wrapper():
    gan = Gan()
    wrappers = otx.build_optim_wrapper(gan, GAN_CFG)
    tables = otx.explain(gan, wrappers)
    assert list(tables) == ["generator", "discriminator"]
    gen = {r.name: r for r in tables["generator"]}
    assert gen["1.weight"].weight_decay == 0 and gen["0.weight"].weight_decay == 0.05
    assert "norm" in gen["1.weight"].label and gen["1.weight"].rule.startswith("norm_decay_mult")
    assert {r.lr for r in tables["discriminator"]} == {0.1}
    text = str(tables)
    assert "[generator]" in text and "[discriminator]" in text and "norm_decay_mult" in text
    # The config gives the same numbers and labels as the built wrappers.
    from_cfg = otx.explain(gan, GAN_CFG)
    for name in tables:
        assert [(r.name, r.label, r.lr, r.weight_decay) for r in from_cfg[name]] == [
            (r.name, r.label, r.lr, r.weight_decay) for r in tables[name]
        ]


@pytest.mark.parametrize("wrapper_type", ["OptimWrapper", "AmpOptimWrapper"])
def test_explain_every_single_wrapper_kind_with_reasons(wrapper_type):
    model = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2), nn.Linear(2, 1))
    cfg = dict(
        type=wrapper_type,
        optimizer=dict(type="SGD", lr=0.1, weight_decay=1e-4),
        paramwise_cfg=dict(norm_decay_mult=0.0, custom_keys={"2.": dict(lr_mult=10.0)}),
    )
    wrapper = otx.build_optim_wrapper(model, cfg)
    rows = {r.name: r for r in otx.explain(model, wrapper)}
    assert rows["1.weight"].rule.startswith("norm_decay_mult -> param_groups[")
    assert rows["2.weight"].rule.startswith("custom_keys['2.']") and rows["2.weight"].lr == pytest.approx(1.0)
    # Read back live: a scheduler's change shows.
    for group in wrapper.optimizer.param_groups:
        group["lr"] *= 0.5
    assert {r.name: r.lr for r in otx.explain(model, wrapper)}["0.weight"] == pytest.approx(0.05)


def test_explain_a_hand_built_optim_wrapper_dict_uses_matching_children():
    gan = Gan()
    wrappers = otx.OptimWrapperDict(
        generator=otx.OptimWrapper(torch.optim.SGD(gan.generator.parameters(), lr=0.3)),
        discriminator=otx.OptimWrapper(torch.optim.SGD(gan.discriminator.parameters(), lr=0.4)),
    )
    tables = otx.explain(gan, wrappers)
    assert [r.label for r in tables["generator"]] == ["group0"] * 6
    assert {r.lr for r in tables["discriminator"]} == {0.4}


@pytest.mark.parametrize("bad", [None, 3, "SGD", [dict(optimizer=dict(type="SGD"))]])
def test_explain_refuses_what_it_cannot_read(bad):
    with pytest.raises(TypeError, match="explain"):
        otx.explain(nn.Linear(1, 1), bad)


def test_explain_needs_a_module_first():
    with pytest.raises(TypeError, match=r"nn\.Module"):
        otx.explain(dict(optimizer=dict(type="SGD", lr=0.1)), nn.Linear(1, 1))


def test_frozen_parameters_warn_once_per_build_with_their_category():
    model = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 1))
    model[0].requires_grad_(False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        otx.build_optim_wrapper(model, dict(optimizer=dict(type="SGD", lr=0.1), paramwise_cfg=dict(bias_lr_mult=2.0)))
    frozen = [w for w in caught if issubclass(w.category, otx.FrozenParameterWarning)]
    assert len(frozen) == 1 and "0.weight" in str(frozen[0].message) and "add_param_group" in str(frozen[0].message)
    assert frozen[0].filename == __file__  # points at the user's call
