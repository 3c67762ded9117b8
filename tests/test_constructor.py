"""DefaultOptimWrapperConstructor: group merging, the add_params contract, validation."""

from __future__ import annotations

import logging

import pytest
import torch
from torch import nn

import optimtx as otx
from optimtx.config.constructor import first_parameter_name, merge_param_groups, optimizer_class
from optimtx.optim import DefaultOptimWrapperConstructor, OptimWrapper
from optimtx.registry import OPTIM_WRAPPER_CONSTRUCTORS, OPTIMIZERS, Registry
from tests.paramwise_cases import SIX_MULTS, ExampleModel, TransformerBlock

SGD_CFG = dict(type="SGD", lr=0.01, momentum=0.0001, weight_decay=0.9)


def test_attributes_and_config_left_untouched():
    cfg = dict(type="OptimWrapper", optimizer=dict(SGD_CFG), clip_grad=dict(max_norm=1.0))
    ctor = DefaultOptimWrapperConstructor(cfg, SIX_MULTS)
    assert (ctor.base_lr, ctor.base_wd, ctor.paramwise_cfg) == (0.01, 0.9, SIX_MULTS)
    assert ctor.optimizer_cfg == SGD_CFG and "optimizer" not in ctor.optim_wrapper_cfg
    assert "optimizer" in cfg
    assert DefaultOptimWrapperConstructor(dict(optimizer=dict(type="SGD"))).paramwise_cfg == {}


def test_one_group_per_distinct_hyperparameters_with_parameter_order_kept():
    model = ExampleModel()
    wrapper = DefaultOptimWrapperConstructor(dict(optimizer=SGD_CFG), SIX_MULTS)(model)
    names = {id(p): n for n, p in model.named_parameters()}
    groups = [[names[id(p)] for p in g["params"]] for g in wrapper.optimizer.param_groups]
    assert groups == [
        ["param1", "sub.param1"],
        ["conv1.weight", "conv2.weight"],
        ["conv2.bias", "sub.conv1.bias"],
        ["bn.weight", "bn.bias", "sub.gn.weight", "sub.gn.bias"],
        ["sub.conv1.weight"],
    ]
    assert all(g["momentum"] == 0.0001 for g in wrapper.optimizer.param_groups)
    assert isinstance(wrapper, OptimWrapper)


def test_merge_keeps_distinct_extra_keys_apart_and_rejects_duplicates():
    a, b, c = (torch.zeros(1) for _ in range(3))
    merged = merge_param_groups(
        [{"params": [a], "lr": 0.1}, {"params": [b], "lr": 0.1, "lr_mult": 1.0}, {"params": [c]}], base={"lr": 0.1}
    )
    assert [[id(p) for p in g["params"]] for g in merged] == [[id(a), id(c)], [id(b)]]
    with pytest.raises(ValueError, match="some parameters appear in more than one parameter group"):
        merge_param_groups([{"params": [a]}, {"params": [a], "lr": 1.0}], base={})


def test_tensor_valued_keys_do_not_break_merging():
    a, b = torch.zeros(1), torch.zeros(1)
    merged = merge_param_groups([{"params": [a], "w": torch.ones(2)}, {"params": [b], "w": torch.ones(2)}], base={})
    assert len(merged) == 2


def test_add_params_appends_one_dict_per_parameter_like_mmengine():
    model = ExampleModel()
    params: list[dict] = []
    DefaultOptimWrapperConstructor(dict(optimizer=SGD_CFG), SIX_MULTS).add_params(params, model)
    assert [p["params"][0] for p in params] == list(model.parameters())
    assert params[3] == {"params": [model.conv2.bias], "lr": 0.02, "weight_decay": 0.45}
    assert params[1] == {"params": [model.conv1.weight]}


def test_paramwise_options_lines_at_debug_and_one_info_summary(caplog):
    with caplog.at_level(logging.DEBUG, logger="optimtx"):
        DefaultOptimWrapperConstructor(dict(optimizer=SGD_CFG), dict(norm_decay_mult=0.0))(ExampleModel())
    debug = [r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG]
    info = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert debug[:2] == [
        "paramwise_options -- bn.weight:weight_decay=0.0",
        "paramwise_options -- bn.bias:weight_decay=0.0",
    ]
    assert info == ["2 param groups: defaults (7 params); weight_decay=0.0 (4)"]


def test_frozen_parameters_are_left_out_with_one_warning(caplog):
    model = ExampleModel()
    model.conv1.requires_grad_(False)
    with caplog.at_level(logging.WARNING, logger="optimtx"), pytest.warns(otx.FrozenParameterWarning, match="conv1"):
        wrapper = DefaultOptimWrapperConstructor(dict(optimizer=SGD_CFG), SIX_MULTS)(model)
    in_groups = {id(p) for g in wrapper.optimizer.param_groups for p in g["params"]}
    assert id(model.conv1.weight) not in in_groups and id(model.conv2.weight) in in_groups
    assert [r.getMessage() for r in caplog.records] == [
        "1 parameters left out of the optimizer since requires_grad=False: conv1.weight"
    ]


def test_validation_errors():
    with pytest.raises(TypeError, match="optim_wrapper_cfg should be a dict"):
        DefaultOptimWrapperConstructor([])
    with pytest.raises(ValueError, match='must contain "optimizer" config'):
        DefaultOptimWrapperConstructor(dict(type="OptimWrapper"))
    with pytest.raises(TypeError, match="paramwise_cfg should be None or a dict"):
        DefaultOptimWrapperConstructor(dict(optimizer=SGD_CFG), ["error"])
    with pytest.raises(TypeError, match="custom_keys must be a dict"):
        DefaultOptimWrapperConstructor(dict(optimizer=SGD_CFG), dict(custom_keys=[0.1, 1e-4]))
    with pytest.raises(ValueError, match="no weight_decay"):
        DefaultOptimWrapperConstructor(
            dict(optimizer=dict(type="SGD", lr=1e-4, weight_decay=None)), dict(bias_decay_mult=1, norm_decay_mult=1)
        )
    with pytest.raises(ValueError, match="no weight_decay"):
        DefaultOptimWrapperConstructor(
            dict(optimizer=dict(type="SGD", lr=1e-4)), dict(custom_keys={".b": dict(decay_mult=0.5)})
        )


def test_unknown_optimizer_type_suggests_names():
    ctor = DefaultOptimWrapperConstructor(dict(optimizer=dict(type="sgd", lr=0.1)))
    with pytest.raises(KeyError, match="Did you mean 'SGD'"):
        ctor(ExampleModel())
    with pytest.raises(KeyError, match='must contain the key "type"'):
        optimizer_class(dict(lr=0.1))


class ModelParamsSGD(torch.optim.SGD):
    def __init__(self, model_params, lr=0.1):
        super().__init__(model_params, lr=lr)


@pytest.mark.parametrize("paramwise_cfg", [None, dict(bias_lr_mult=2.0)])
def test_first_constructor_argument_name_is_used(paramwise_cfg):
    assert first_parameter_name(ModelParamsSGD) == "model_params"
    child = Registry("custom optimizer", parent=OPTIMIZERS)
    child.register_module(module=ModelParamsSGD)
    assert child.get("SGD") is torch.optim.SGD
    wrapper = DefaultOptimWrapperConstructor(dict(optimizer=dict(type=ModelParamsSGD, lr=0.1)), paramwise_cfg)(
        nn.Linear(1, 1)
    )
    assert isinstance(wrapper.optimizer, ModelParamsSGD)
    assert sum(len(g["params"]) for g in wrapper.optimizer.param_groups) == 2


def test_registered_subclass_with_its_own_key_and_raw_optimizer():
    @OPTIM_WRAPPER_CONSTRUCTORS.register_module(force=True)
    class MyConstructor(DefaultOptimWrapperConstructor):
        def __call__(self, model):
            conv1_lr_mult = self.paramwise_cfg.get("conv1_lr_mult", 1.0)
            rest = [p for n, p in model.named_parameters() if not n.startswith("conv1")]
            return torch.optim.SGD(
                [{"params": model.conv1.parameters(), "lr": self.base_lr * conv1_lr_mult}, {"params": rest}],
                lr=self.base_lr,
                weight_decay=self.base_wd,
            )

    ctor = OPTIM_WRAPPER_CONSTRUCTORS.build(
        dict(type="MyConstructor", optim_wrapper_cfg=dict(optimizer=SGD_CFG), paramwise_cfg=dict(conv1_lr_mult=5))
    )
    optimizer = ctor(ExampleModel())
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.05) and optimizer.param_groups[0]["weight_decay"] == 0.9


def test_unmatched_custom_key_warns_at_build():
    ctor = DefaultOptimWrapperConstructor(dict(optimizer=SGD_CFG), dict(custom_keys={"conv3": dict(lr_mult=0.1)}))
    with pytest.warns(otx.UnmatchedCustomKeyWarning, match="'conv3' matches no parameter name.*conv1.weight"):
        ctor(ExampleModel())


def test_transform_optimizer_config_with_paramwise_rules_trains_like_per_group_adamw():
    # A model without a norm right after a biased layer: there the bias gradient is pure
    # rounding noise, which Adam turns into full-size steps and any two implementations diverge.
    transform = dict(type="chain", transforms=[dict(type="adamw", lr=1e-2, weight_decay=0.5)])
    paramwise_cfg = dict(norm_decay_mult=0.0, flat_decay_mult=0.1)
    cfg = dict(optimizer=dict(type="TransformOptimizer", transform=transform), paramwise_cfg=paramwise_cfg)
    torch.manual_seed(0)
    model = TransformerBlock()
    reference = TransformerBlock()
    reference.load_state_dict(model.state_dict())
    wrapper = otx.build_optim_wrapper(model, cfg)
    assert [g["weight_decay"] for g in wrapper.optimizer.param_groups] == pytest.approx([0.05, 0.0, 0.5])
    torch_wrapper = otx.build_optim_wrapper(
        reference, dict(optimizer=dict(type="AdamW", lr=1e-2, weight_decay=0.5), paramwise_cfg=paramwise_cfg)
    )
    x = torch.randn(8, 4)
    for _ in range(3):
        wrapper.update_params(model(x).square().mean())
        torch_wrapper.update_params(reference(x).square().mean())
    for (name, got), want in zip(model.named_parameters(), reference.parameters(), strict=True):
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6, msg=name)
