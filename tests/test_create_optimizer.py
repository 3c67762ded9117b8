"""otx.create_optimizer: timm's grouping (checked against timm's own on timm models) and torch's numerics."""

from __future__ import annotations

import json
import pathlib
import warnings

import pytest
import torch
from torch import nn

import optimtx as otx
from optimtx.config.factory import TIMM_OPTIMIZERS
from optimtx.config.timm_groups import layer_ids

REFERENCE = json.loads((pathlib.Path(__file__).parent / "reference_data" / "timm_param_groups.json").read_text())
MODELS = REFERENCE["models"]
SETTINGS = REFERENCE["settings"]


class _Recorded(nn.Module):
    """A stand-in with a timm model's parameter names and shapes (on the meta device) and its grouping hooks."""

    def __init__(self, record):
        super().__init__()
        for name, shape in record["params"]:
            *path, leaf = name.split(".")
            module = self
            for part in path:
                if part not in module._modules:
                    module.add_module(part, nn.Module())
                module = module._modules[part]
            module.register_parameter(leaf, nn.Parameter(torch.empty(shape, device="meta")))
        self._no_weight_decay = set(record["no_weight_decay"])
        if record["pretrained_cfg"]["classifier"] is not None:
            self.pretrained_cfg = dict(record["pretrained_cfg"])

    def no_weight_decay(self):
        return self._no_weight_decay


class _RecordedWithMatcher(_Recorded):
    def __init__(self, record):
        super().__init__(record)
        self._matcher = record["group_matcher"]

    def group_matcher(self, coarse=False):
        return self._matcher


def _stand_in(name):
    record = MODELS[name]
    model = (_RecordedWithMatcher if record["group_matcher"] is not None else _Recorded)(record)
    assert [n for n, _ in model.named_parameters()] == [n for n, _ in record["params"]]
    return model


CASES = [(m, s) for m in MODELS for s in SETTINGS]


@pytest.mark.parametrize(("model_name", "setting"), CASES, ids=[f"{m}-{s}" for m, s in CASES])
def test_groups_equal_timms_own(model_name, setting):
    want = MODELS[model_name]["groups"][setting]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", otx.OptimtxWarning)  # layer decay on a one-layer stand-in warns
        opt = otx.create_optimizer(_stand_in(model_name), "adamw", lr=1e-3, **SETTINGS[setting])
    got = [
        {"names": g["param_names"], "weight_decay": g["weight_decay"], "lr_scale": g.get("lr_scale")}
        for g in opt.param_groups
    ]
    assert got == [{k: g[k] for k in ("names", "weight_decay", "lr_scale")} for g in want]
    for group, reference in zip(opt.param_groups, want, strict=True):
        assert reference["lr"] == 1e-3  # timm leaves the scaling to its schedulers ...
        assert group["lr"] == pytest.approx(1e-3 * (group.get("lr_scale") or 1.0))  # ... optimtx applies it


def test_layer_ids_follow_the_group_matcher():
    ids = layer_ids(_stand_in("vit_tiny_patch16_224"))
    assert ids["cls_token"] == ids["patch_embed.proj.weight"] == 0
    assert ids["blocks.0.attn.qkv.weight"] == 1 and ids["blocks.11.mlp.fc2.bias"] == 12
    assert ids["norm.weight"] == 12  # MATCH_PREV_GROUP: the final norm joins the last block
    assert ids["head.weight"] == 13  # unmatched: the head is the last layer


def _model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(5, 4), nn.LayerNorm(4), nn.Linear(4, 3))


def _torch_groups(model, weight_decay):
    return [
        {"params": [p for p in model.parameters() if p.ndim <= 1], "weight_decay": 0.0},
        {"params": [p for p in model.parameters() if p.ndim > 1], "weight_decay": weight_decay},
    ]


TORCH_EQUIVALENT = {
    "sgd": lambda g: torch.optim.SGD(g, lr=0.05, momentum=0.9, nesterov=True),
    "nesterov": lambda g: torch.optim.SGD(g, lr=0.05, momentum=0.9, nesterov=True),
    "momentum": lambda g: torch.optim.SGD(g, lr=0.05, momentum=0.9),
    "adam": lambda g: torch.optim.Adam(g, lr=0.05),
    "adamw": lambda g: torch.optim.AdamW(g, lr=0.05),
    "nadam": lambda g: torch.optim.NAdam(g, lr=0.05),
    "radam": lambda g: torch.optim.RAdam(g, lr=0.05),
    "adamax": lambda g: torch.optim.Adamax(g, lr=0.05),
    "adagrad": lambda g: torch.optim.Adagrad(g, lr=0.05, eps=1e-8),
    "adadelta": lambda g: torch.optim.Adadelta(g, lr=0.05),
    "rmsprop": lambda g: torch.optim.RMSprop(g, lr=0.05, alpha=0.9, momentum=0.9),
}


@pytest.mark.parametrize("opt", sorted(TORCH_EQUIVALENT))
def test_each_timm_name_runs_the_torch_class_timm_builds(opt):
    ours, theirs = _model(), _model()
    optimizer = otx.create_optimizer(ours, opt, lr=0.05, weight_decay=0.01)
    reference = TORCH_EQUIVALENT[opt](_torch_groups(theirs, 0.01))
    x = torch.randn(8, 5, generator=torch.Generator().manual_seed(1))
    for _ in range(4):
        for model, o in ((ours, optimizer), (theirs, reference)):
            o.zero_grad()
            model(x).square().mean().backward()
            o.step()
    for a, b in zip(ours.parameters(), theirs.parameters(), strict=True):
        torch.testing.assert_close(a, b)


def test_every_timm_name_has_a_torch_check_or_is_lion():
    assert set(TIMM_OPTIMIZERS) - set(TORCH_EQUIVALENT) == {"lion"}
    assert isinstance(otx.create_optimizer(_model(), "lion", lr=1e-4), otx.TransformOptimizer)


def test_layer_decay_scales_lr_and_keeps_lr_scale_for_timm_schedulers():
    model = _model()
    model.pretrained_cfg = {"classifier": "2"}
    opt = otx.create_optimizer(model, "adamw", lr=0.1, weight_decay=0.05, layer_decay=0.5)
    assert [(g["name"], g["lr"], g["lr_scale"]) for g in opt.param_groups] == [
        ("layer_0_decay", 0.05, 0.5),
        ("layer_0_no_decay", 0.05, 0.5),
        ("layer_1_decay", 0.1, 1.0),
        ("layer_1_no_decay", 0.1, 1.0),
    ]
    scheduler = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: 0.5)
    assert [g["lr"] for g in opt.param_groups] == [0.025, 0.025, 0.05, 0.05]  # ratios kept by torch schedulers
    assert scheduler.get_last_lr() == [0.025, 0.025, 0.05, 0.05]


def test_no_opt_scale_leaves_requires_grad_alone():
    model = _model()
    model.pretrained_cfg = {"classifier": "2"}
    opt = otx.create_optimizer(model, "sgd", lr=0.1, layer_decay=0.5, layer_decay_no_opt_scale=0.6)
    assert [n for g in opt.param_groups for n in g["param_names"]] == ["2.weight", "2.bias"]
    assert all(p.requires_grad for p in model.parameters())


def test_params_and_param_group_fn_are_used_as_given():
    model = _model()
    opt = otx.create_optimizer(model.parameters(), "adamw", lr=0.1, weight_decay=0.02)
    assert len(opt.param_groups) == 1 and opt.param_groups[0]["weight_decay"] == 0.02
    groups = lambda m: [{"params": m[0].parameters(), "lr": 0.01}, {"params": m[2].parameters()}]  # noqa: E731
    opt = otx.create_optimizer(model, "adamw", lr=0.1, weight_decay=0.02, param_group_fn=groups)
    got = [(g["lr"], g["weight_decay"], len(g["params"])) for g in opt.param_groups]
    assert got == [(0.01, 0.02, 2), (0.1, 0.02, 2)]


def test_lookahead_prefix_and_rule_defaults():
    opt = otx.create_optimizer(_model(), "lookahead_adamw", lr=1e-3)
    assert opt.param_groups[0]["lr"] == 1e-3
    opt = otx.create_optimizer(_model(), "adamw")  # lr=None: the rule's own default, as timm does
    assert opt.param_groups[0]["lr"] == 1e-3


def test_layer_decay_without_layers_warns():
    with pytest.warns(otx.OptimtxWarning, match="layer_decay=0.75 has no effect on Sequential"):
        otx.create_optimizer(_model(), "adamw", lr=1e-3, layer_decay=0.75)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (dict(opt="adamww"), ValueError, r"opt='adamww' is not an optimizer .* Did you mean \['adamw'"),
        (dict(opt="lookahead_sgd_x"), ValueError, "is not an optimizer"),
        (dict(opt=3), TypeError, "opt must be an optimizer name"),
        (dict(opt="sgd", eps=1e-8), TypeError, r"sgd takes no argument\(s\) \['eps'\]"),
        (dict(opt="adamw", foreach=False), ValueError, "foreach=False"),
        (dict(opt="adamw", fallback_list=("head*",)), ValueError, "muon_with_adamw"),
    ],
)
def test_bad_arguments_are_refused(kwargs, error, match):
    with pytest.raises(error, match=match):
        otx.create_optimizer(_model(), **kwargs)
