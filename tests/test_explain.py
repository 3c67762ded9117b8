"""explain(): per-parameter table as data and as text."""

from __future__ import annotations

import warnings

import pytest
import torch

import optimtx as otx
from optimtx import explain
from optimtx.config.explain import ExplainRow, explain_param_groups, optimizer_defaults
from optimtx.optim import DefaultOptimWrapperConstructor, build_optim_wrapper
from optimtx.registry import OPTIM_WRAPPER_CONSTRUCTORS
from tests.paramwise_cases import SIX_MULTS, ExampleModel

CFG = dict(optimizer=dict(type="SGD", lr=0.01, weight_decay=0.9), paramwise_cfg=SIX_MULTS)


def test_rows_name_the_rule_label_and_effective_values():
    rows = {r.name: r for r in explain(ExampleModel(), CFG)}
    assert rows["conv2.bias"] == ExplainRow("conv2.bias", "bias", 0.02, 0.45, "bias_lr_mult+bias_decay_mult", False)
    assert rows["conv1.weight"] == ExplainRow("conv1.weight", "default", 0.01, 0.9, "default", False)
    assert rows["bn.weight"].rule == "norm_decay_mult" and rows["bn.weight"].weight_decay == 0.0


def test_frozen_rows_have_no_values():
    model = ExampleModel()
    model.bn.requires_grad_(False)
    with pytest.warns(otx.FrozenParameterWarning):
        row = {r.name: r for r in explain(model, CFG)}["bn.bias"]
    assert (row.label, row.lr, row.weight_decay, row.frozen) == ("frozen", None, None, True)


def test_without_paramwise_uses_optimizer_defaults():
    rows = explain(ExampleModel(), dict(optimizer=dict(type="AdamW", lr=0.1)))
    assert {(r.label, r.lr, r.weight_decay, r.rule) for r in rows} == {("default", 0.1, 0.01, "default")}
    assert optimizer_defaults(dict(type="SGD")) == {"lr": 0.001, "weight_decay": 0}


def test_text_table_has_a_header_and_a_line_per_parameter():
    text = str(explain(ExampleModel(), CFG))
    lines = text.splitlines()
    assert lines[0].split() == ["parameter", "label", "lr", "weight_decay", "rule", "frozen"]
    assert len(lines) == 1 + len(list(ExampleModel().parameters()))
    assert "conv2.bias        bias     0.02  0.45" in text


def test_explain_a_built_wrapper_matches_explain_of_the_config():
    model = ExampleModel()
    wrapper = build_optim_wrapper(model, CFG)
    from_wrapper = {r.name: (r.lr, r.weight_decay) for r in explain(model, wrapper)}
    from_cfg = {r.name: (r.lr, r.weight_decay) for r in explain(model, CFG)}
    assert from_wrapper == from_cfg
    # A built wrapper remembers which rule placed each parameter; a bare optimizer only knows its groups.
    reasons = {r.name: (r.label, r.rule.split(" -> ")[0]) for r in explain(model, wrapper)}
    assert reasons == {r.name: (r.label, r.rule) for r in explain(model, CFG)}
    assert all(r.rule.startswith("param_groups[") for r in explain(model, wrapper.optimizer))


def test_custom_constructor_configs_are_built_and_read_back():
    @OPTIM_WRAPPER_CONSTRUCTORS.register_module(force=True)
    class HalfLrConstructor(DefaultOptimWrapperConstructor):
        def add_params(self, params, module, prefix="", is_dcn_module=None):
            params.extend({"params": [p], "lr": self.base_lr / 2} for p in module.parameters())

    rows = explain(ExampleModel(), dict(CFG, constructor="HalfLrConstructor"))
    assert {(r.label, r.lr, r.rule) for r in rows} == {("group0", 0.005, "param_groups[0]")}


def test_parameters_missing_from_an_optimizer():
    model = torch.nn.Linear(1, 1)
    rows = explain_param_groups(model, torch.optim.SGD([model.weight], lr=0.1))
    assert rows[1].label == "absent" and rows[1].rule == "not in optimizer"


def test_transform_optimizer_configs_are_explained_from_the_transform():
    transform = dict(
        type="chain", transforms=[dict(type="clip_by_global_norm", max_norm=1.0), dict(type="adamw", lr=0.02)]
    )
    cfg = dict(optimizer=dict(type="TransformOptimizer", transform=transform), paramwise_cfg=dict(bias_lr_mult=2.0))
    model = ExampleModel()
    rows = {r.name: (r.lr, r.weight_decay) for r in explain(model, cfg)}
    assert rows["conv1.weight"] == (0.02, 0.01) and rows["conv2.bias"] == (0.04, 0.01)  # adamw's default decay
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the leading clip runs once over all groups: nothing to warn about
        wrapper = build_optim_wrapper(model, cfg)
    built = {r.name: (r.lr, r.weight_decay) for r in explain(model, wrapper)}
    assert built.keys() == rows.keys()
    assert all(built[name] == pytest.approx(rows[name]) for name in rows)
