"""The tutorial's "Configure" and "Advanced usages" blocks, with ``mmengine`` replaced by ``optimtx``."""

from __future__ import annotations

import logging
from collections import OrderedDict

import torch.nn as nn
from optimtx.logging import print_log

from optimtx.optim import AmpOptimWrapper, DefaultOptimWrapperConstructor, OptimWrapper, build_optim_wrapper
from optimtx.registry import OPTIM_WRAPPER_CONSTRUCTORS
from tests.approx import approx_nested, flat


class ToyModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.backbone = nn.ModuleDict(dict(layer0=nn.Linear(1, 1), layer1=nn.Linear(1, 1)))
        self.head = nn.Sequential(OrderedDict(linear=nn.Linear(1, 1), bn=nn.BatchNorm1d(1)))


def paramwise_lines(caplog):
    return [
        r.getMessage().removeprefix("paramwise_options -- ")
        for r in caplog.records
        if r.getMessage().startswith("paramwise_options -- ")
    ]


def groups_of(wrapper, model):
    names = {id(p): n for n, p in model.named_parameters()}
    return [([names[id(p)] for p in g["params"]], g["lr"], g["weight_decay"]) for g in wrapper.optimizer.param_groups]


def test_configure_sgd_with_and_without_type_and_amp():
    optimizer = dict(type="SGD", lr=0.01, momentum=0.9, weight_decay=0.0001)
    wrapper = build_optim_wrapper(ToyModel(), dict(type="OptimWrapper", optimizer=optimizer))
    assert type(wrapper) is OptimWrapper
    assert wrapper.optimizer.defaults["momentum"] == 0.9 and wrapper.optimizer.defaults["weight_decay"] == 0.0001
    assert type(build_optim_wrapper(ToyModel(), dict(optimizer=optimizer))) is OptimWrapper
    amp = build_optim_wrapper(ToyModel(), dict(type="AmpOptimWrapper", optimizer=optimizer, accumulative_counts=2))
    assert isinstance(amp, AmpOptimWrapper) and amp._accumulative_counts == 2


def test_norm_decay_mult_zero(caplog):
    model = ToyModel()
    optim_wrapper = dict(
        optimizer=dict(type="SGD", lr=0.01, weight_decay=0.0001), paramwise_cfg=dict(norm_decay_mult=0)
    )
    with caplog.at_level(logging.DEBUG, logger="optimtx"):
        optimizer = build_optim_wrapper(model, optim_wrapper)
    # The tutorial's sample also shows lr/weight_decay lines for plain biases; MMEngine's
    # current code (and ours) only reports the keys a rule actually set.
    assert paramwise_lines(caplog) == ["head.bn.weight:weight_decay=0.0", "head.bn.bias:weight_decay=0.0"]
    assert groups_of(optimizer, model) == [
        (
            [
                "backbone.layer0.weight",
                "backbone.layer0.bias",
                "backbone.layer1.weight",
                "backbone.layer1.bias",
                "head.linear.weight",
                "head.linear.bias",
            ],
            0.01,
            0.0001,
        ),
        (["head.bn.weight", "head.bn.bias"], 0.01, 0.0),
    ]
    summary = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert summary == ["2 param groups: defaults (6 params); weight_decay=0.0 (2)"]


TUTORIAL_CUSTOM_KEYS_LOG = """\
backbone.layer0.weight:lr=0.0
backbone.layer0.weight:weight_decay=0.0
backbone.layer0.weight:lr_mult=0
backbone.layer0.weight:decay_mult=0
backbone.layer0.bias:lr=0.0
backbone.layer0.bias:weight_decay=0.0
backbone.layer0.bias:lr_mult=0
backbone.layer0.bias:decay_mult=0
backbone.layer1.weight:lr=0.01
backbone.layer1.weight:weight_decay=0.0001
backbone.layer1.weight:lr_mult=1
backbone.layer1.bias:lr=0.01
backbone.layer1.bias:weight_decay=0.0001
backbone.layer1.bias:lr_mult=1
head.linear.weight:lr=0.001
head.linear.weight:weight_decay=0.0001
head.linear.weight:lr_mult=0.1
head.linear.bias:lr=0.001
head.linear.bias:weight_decay=0.0001
head.linear.bias:lr_mult=0.1
head.bn.weight:lr=0.001
head.bn.weight:weight_decay=0.0001
head.bn.weight:lr_mult=0.1
head.bn.bias:lr=0.001
head.bn.bias:weight_decay=0.0001
head.bn.bias:lr_mult=0.1""".splitlines()


def test_custom_keys(caplog):
    model = ToyModel()
    optim_wrapper = dict(
        optimizer=dict(type="SGD", lr=0.01, weight_decay=0.0001),
        paramwise_cfg=dict(
            custom_keys={
                "backbone.layer0": dict(lr_mult=0, decay_mult=0),
                "backbone": dict(lr_mult=1),
                "head": dict(lr_mult=0.1),
            }
        ),
    )
    with caplog.at_level(logging.DEBUG, logger="optimtx"):
        optimizer = build_optim_wrapper(model, optim_wrapper)
    assert paramwise_lines(caplog) == TUTORIAL_CUSTOM_KEYS_LOG
    groups = groups_of(optimizer, model)
    assert flat([(lr, wd) for _, lr, wd in groups]) == approx_nested([(0.0, 0.0), (0.01, 0.0001), (0.001, 0.0001)])
    assert [len(names) for names, _, _ in groups] == [2, 2, 4]
    assert [name for name, _ in ToyModel().named_parameters()] == [
        line.split(":")[0] for line in TUTORIAL_CUSTOM_KEYS_LOG if line.endswith(("lr=0.0", "lr=0.01", "lr=0.001"))
    ]


@OPTIM_WRAPPER_CONSTRUCTORS.register_module(force=True)
class LayerDecayOptimWrapperConstructor(DefaultOptimWrapperConstructor):
    def __init__(self, optim_wrapper_cfg, paramwise_cfg=None):
        super().__init__(optim_wrapper_cfg, paramwise_cfg=None)
        self.decay_factor = paramwise_cfg.get("decay_factor", 0.5)

        super().__init__(optim_wrapper_cfg, paramwise_cfg)

    def add_params(self, params, module, prefix="", lr=None):
        if lr is None:
            lr = self.base_lr

        for name, param in module.named_parameters(recurse=False):
            param_group = dict()
            param_group["params"] = [param]
            param_group["lr"] = lr
            params.append(param_group)
            full_name = f"{prefix}.{name}" if prefix else name
            print_log(f"{full_name} : lr={lr}", logger="current")

        for name, child in module.named_children():
            chiled_prefix = f"{prefix}.{name}" if prefix else name
            self.add_params(params, child, chiled_prefix, lr=lr * self.decay_factor)


class LayerToyModel(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.layer = nn.ModuleDict(dict(linear=nn.Linear(1, 1)))
        self.linear = nn.Linear(1, 1)


def test_layer_decay_constructor(caplog):
    model = LayerToyModel()
    optim_wrapper = dict(
        optimizer=dict(type="SGD", lr=0.01, weight_decay=0.0001),
        paramwise_cfg=dict(decay_factor=0.5),
        constructor="LayerDecayOptimWrapperConstructor",
    )
    with caplog.at_level(logging.INFO, logger="optimtx"):
        optimizer = build_optim_wrapper(model, optim_wrapper)
    lines = [r.getMessage() for r in caplog.records if " : lr=" in r.getMessage()]
    assert lines == [
        "layer.linear.weight : lr=0.0025",
        "layer.linear.bias : lr=0.0025",
        "linear.weight : lr=0.005",
        "linear.bias : lr=0.005",
    ]
    assert groups_of(optimizer, model) == [
        (["layer.linear.weight", "layer.linear.bias"], 0.0025, 0.0001),
        (["linear.weight", "linear.bias"], 0.005, 0.0001),
    ]
    assert optim_wrapper["paramwise_cfg"] == dict(decay_factor=0.5)  # the caller's config is untouched
