"""Every MMEngine port accepted (issue 21, item 6) and explain asks the registry (item 3).

Checkpoints saved with a scheduler load before one exists (and the reverse); mmagic's
``MultiOptimWrapperConstructor`` forms build and explain; ``paramwise_cfg.group_per_param``
gives MMEngine's one-group-per-parameter layout exactly; a constructor registered in place of
a built-in one is the one ``explain`` uses.
"""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

import optimtx as otx
from optimtx.registry import OPTIM_WRAPPER_CONSTRUCTORS
from tests.paramwise_cases import PARAMWISE_CFGS, SIX_MULTS, ExampleModel

mmengine_optim = pytest.importorskip("mmengine.optim")
from tests.mmengine_quiet import quiet_mmengine  # noqa: E402, F401  (autouse fixture)

CFG = dict(optimizer=dict(type="SGD", lr=0.01, momentum=0.9, weight_decay=0.1), paramwise_cfg=SIX_MULTS)


def _train(model, wrapper, steps, seed):
    g = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        wrapper.update_params(model(torch.randn(2, 3, 8, 8, generator=g)).square().mean())


def _groups(optimizer):
    return [
        ({k: v for k, v in g.items() if k != "params"}, [id(p) for p in g["params"]]) for g in optimizer.param_groups
    ]


def test_a_checkpoint_saved_with_a_scheduler_loads_before_any_scheduler_exists():
    torch.manual_seed(0)
    mm_model = ExampleModel()
    mm_wrapper = mmengine_optim.build_optim_wrapper(mm_model, copy.deepcopy(CFG))
    mmengine_optim.LinearLR(mm_wrapper, start_factor=0.5, end=4, by_epoch=False)
    _train(mm_model, mm_wrapper, 2, seed=1)
    checkpoint = copy.deepcopy({"model": mm_model.state_dict(), "optim": mm_wrapper.state_dict()})
    assert "initial_lr" in checkpoint["optim"]["param_groups"][0]
    model = ExampleModel()
    model.load_state_dict(checkpoint["model"])
    ours = otx.build_optim_wrapper(model, CFG)
    ours.load_state_dict(checkpoint["optim"])
    assert all("initial_lr" in g for g in ours.optimizer.param_groups)
    _train(mm_model, mm_wrapper, 3, seed=2)
    _train(model, ours, 3, seed=2)
    for a, b in zip(mm_model.parameters(), model.parameters(), strict=True):
        torch.testing.assert_close(b, a, rtol=1e-5, atol=1e-7)


def test_a_checkpoint_saved_without_a_scheduler_loads_where_one_is_attached():
    torch.manual_seed(0)
    mm_model = ExampleModel()
    mm_wrapper = mmengine_optim.build_optim_wrapper(mm_model, copy.deepcopy(CFG))
    _train(mm_model, mm_wrapper, 2, seed=1)
    model = ExampleModel()
    ours = otx.build_optim_wrapper(model, CFG)
    otx.LinearLR(ours, start_factor=0.5, end=4, by_epoch=False)
    ours.load_state_dict(copy.deepcopy(mm_wrapper.state_dict()))
    assert ours.get_lr()["lr"][0] == pytest.approx(0.01)


@pytest.mark.parametrize("name", sorted(PARAMWISE_CFGS))
def test_group_per_param_gives_mmengines_groups_exactly(name):
    model = ExampleModel()
    model.sub.param1.requires_grad_(False)
    cfg = dict(CFG, paramwise_cfg=dict(PARAMWISE_CFGS[name] or {}, group_per_param=True))
    theirs = mmengine_optim.build_optim_wrapper(model, copy.deepcopy(cfg))
    ours = otx.build_optim_wrapper(model, cfg)
    assert _groups(ours.optimizer) == _groups(theirs.optimizer)
    ours.load_state_dict(copy.deepcopy(theirs.state_dict()))  # and their checkpoints load as they are


def test_group_per_param_must_be_a_bool():
    with pytest.raises(TypeError, match="group_per_param must be True or False"):
        otx.build_optim_wrapper(ExampleModel(), dict(CFG, paramwise_cfg=dict(group_per_param="yes")))


class TextEncoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(5, 2)
        self.proj = nn.Linear(2, 2)


class Diffusion(nn.Module):
    def __init__(self):
        super().__init__()
        self.unet = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2))
        self.vae = nn.Linear(2, 2)
        self.text_encoder = TextEncoder()


def _ids(wrapper):
    return [id(p) for g in wrapper.optimizer.param_groups for p in g["params"]]


ADAMW = dict(type="AdamW", lr=1e-4)


@pytest.mark.parametrize(
    ("modules", "picked"),
    [
        ("unet", lambda m: m.unet),
        (".*unet", lambda m: m.unet),
        (["unet", "text_encoder"], lambda m: nn.ModuleList([m.unet, m.text_encoder])),
        ("text_encoder.embedding", lambda m: m.text_encoder.embedding),
        (["unet", "unet.0"], lambda m: m.unet),  # a module inside another picked one is not repeated
    ],
)
def test_mmagic_single_wrapper_over_named_modules(modules, picked):
    model = Diffusion()
    cfg = dict(constructor="MultiOptimWrapperConstructor", modules=modules, optimizer=ADAMW, accumulative_counts=2)
    wrapper = otx.build_optim_wrapper(model, cfg)
    assert isinstance(wrapper, otx.OptimWrapper) and wrapper._accumulative_counts == 2
    assert _ids(wrapper) == [id(p) for p in picked(model).parameters()]
    rows = otx.explain(model, cfg)
    assert [r.lr for r in rows] == [1e-4] * len(_ids(wrapper))


def test_mmagic_dict_entries_by_pattern_and_by_modules_key():
    model = Diffusion()
    cfg = {
        "constructor": "MultiOptimWrapperConstructor",
        ".*embedding": dict(optimizer=dict(type="SGD", lr=0.1)),
        "generator": dict(modules=["unet", "vae"], optimizer=dict(type="SGD", lr=0.2)),
    }
    wrappers = otx.build_optim_wrapper(model, cfg)
    assert _ids(wrappers[".*embedding"]) == [id(model.text_encoder.embedding.weight)]
    assert _ids(wrappers["generator"]) == [id(p) for m in (model.unet, model.vae) for p in m.parameters()]
    explained = otx.explain(model, cfg)
    assert sorted(explained) == [".*embedding", "generator"]
    assert [r.lr for r in explained["generator"]] == [0.2] * 6


@pytest.mark.parametrize(
    ("modules", "error"),
    [("nothing.*", KeyError), ("(", ValueError), ([], TypeError), (3, TypeError), (["unet", 3], TypeError)],
)
def test_mmagic_modules_that_pick_nothing_are_refused_by_name(modules, error):
    cfg = dict(constructor="MultiOptimWrapperConstructor", modules=modules, optimizer=ADAMW)
    with pytest.raises(error):
        otx.build_optim_wrapper(Diffusion(), cfg)


def test_paramwise_over_several_picked_modules_is_refused():
    cfg = dict(
        constructor="MultiOptimWrapperConstructor",
        modules=["unet", "vae"],
        optimizer=ADAMW,
        paramwise_cfg=dict(bias_lr_mult=2.0),
    )
    with pytest.raises(ValueError, match="picks several modules"):
        otx.build_optim_wrapper(Diffusion(), cfg)


@pytest.fixture
def replaced_multi_constructor():
    """MultiOptimWrapperConstructor replaced in the registry (as a project would), then restored."""
    original = OPTIM_WRAPPER_CONSTRUCTORS.get("MultiOptimWrapperConstructor")

    class HalvedLr(original):  # type: ignore[misc, valid-type]
        def __init__(self, optim_wrapper_cfg, paramwise_cfg=None):
            halved = {
                k: dict(v, optimizer=dict(v["optimizer"], lr=v["optimizer"]["lr"] / 2)) if k != "modules" else v
                for k, v in optim_wrapper_cfg.items()
            }
            super().__init__(halved, paramwise_cfg)

    OPTIM_WRAPPER_CONSTRUCTORS.register_module(name="MultiOptimWrapperConstructor", module=HalvedLr, force=True)
    try:
        yield
    finally:
        OPTIM_WRAPPER_CONSTRUCTORS.register_module(name="MultiOptimWrapperConstructor", module=original, force=True)


def test_explain_uses_the_constructor_registered_under_the_name(replaced_multi_constructor):
    model = Diffusion()
    cfg = dict(constructor="MultiOptimWrapperConstructor", unet=dict(optimizer=dict(type="SGD", lr=0.2)))
    built = otx.build_optim_wrapper(model, cfg)
    assert built.get_lr()["unet.lr"] == [0.1]
    assert {r.lr for r in otx.explain(model, cfg)["unet"]} == {0.1}


def test_explain_builds_with_a_custom_default_constructor():
    class Tenfold(otx.DefaultOptimWrapperConstructor):
        def __init__(self, optim_wrapper_cfg, paramwise_cfg=None):
            cfg = dict(optim_wrapper_cfg)
            cfg["optimizer"] = dict(cfg["optimizer"], lr=cfg["optimizer"]["lr"] * 10)
            super().__init__(cfg, paramwise_cfg)

    OPTIM_WRAPPER_CONSTRUCTORS.register_module(name="TenfoldForTest", module=Tenfold, force=True)
    try:
        rows = otx.explain(nn.Linear(2, 1), dict(constructor="TenfoldForTest", optimizer=dict(type="SGD", lr=0.01)))
    finally:
        OPTIM_WRAPPER_CONSTRUCTORS.module_dict.pop("TenfoldForTest", None)
    assert {round(r.lr, 12) for r in rows} == {0.1}
