"""build_optim_wrapper: defaults, config immutability, error paths."""

from __future__ import annotations

import copy

import pytest
import torch

import optimtx as otx
from optimtx.optim import build_optim_wrapper
from tests.paramwise_cases import SIX_MULTS, ExampleModel

SGD_CFG = dict(type="SGD", lr=0.01, momentum=0.9, weight_decay=1e-4)


def test_plain_config_gives_one_group_in_parameter_order():
    model = ExampleModel()
    wrapper = build_optim_wrapper(model, dict(type="OptimWrapper", optimizer=SGD_CFG))
    assert isinstance(wrapper.optimizer, torch.optim.SGD)
    assert wrapper.optimizer.defaults["momentum"] == 0.9
    assert wrapper.optimizer.param_groups[0]["params"] == list(model.parameters())
    assert type(build_optim_wrapper(model, dict(optimizer=SGD_CFG))) is otx.OptimWrapper


def test_config_is_never_mutated():
    cfg = dict(
        type="AmpOptimWrapper", optimizer=dict(SGD_CFG), paramwise_cfg=dict(SIX_MULTS, custom_keys={"sub": dict(lr_mult=0.1)}),
        constructor="DefaultOptimWrapperConstructor", clip_grad=dict(type="norm", max_norm=1.0), accumulative_counts=2,
    )
    snapshot = copy.deepcopy(cfg)
    build_optim_wrapper(ExampleModel(), cfg)
    assert cfg == snapshot


def test_wrapper_kwargs_reach_the_wrapper():
    wrapper = build_optim_wrapper(ExampleModel(), dict(optimizer=SGD_CFG, accumulative_counts=3, clip_grad=dict(max_norm=2.0)))
    assert wrapper._accumulative_counts == 3 and wrapper.clip_grad_kwargs["max_norm"] == 2.0


def test_class_types_are_accepted():
    wrapper = build_optim_wrapper(ExampleModel(), dict(type=otx.OptimWrapper, optimizer=dict(type=torch.optim.AdamW, lr=0.01)))
    assert isinstance(wrapper.optimizer, torch.optim.AdamW)


def test_error_paths():
    model = ExampleModel()
    with pytest.raises(KeyError, match="INVALID_CONSTRUCTOR is not in the optimizer wrapper constructor registry"):
        build_optim_wrapper(model, dict(optimizer=SGD_CFG, constructor="INVALID_CONSTRUCTOR", paramwise_cfg=dict(invalid_mult=1)))
    with pytest.raises(KeyError, match="Did you mean 'DefaultOptimWrapperConstructor'"):
        build_optim_wrapper(model, dict(optimizer=SGD_CFG, constructor="DefaultOptimWrapperConstrutor"))
    with pytest.raises(ValueError, match='`optim_wrapper_cfg` must contain "optimizer" config'):
        build_optim_wrapper(model, dict(type="OptimWrapper"))
    with pytest.raises(TypeError, match="cfg must be a dict"):
        build_optim_wrapper(model, ["optimizer"])
    with pytest.raises(KeyError, match="Did you mean 'OptimWrapper'"):
        build_optim_wrapper(model, dict(type="OptimWraper", optimizer=SGD_CFG))


def test_unknown_paramwise_keys_are_ignored_like_mmengine():
    wrapper = build_optim_wrapper(ExampleModel(), dict(optimizer=SGD_CFG, paramwise_cfg=dict(unknown_mult=3)))
    assert len(wrapper.optimizer.param_groups) == 1
