"""Resuming MMEngine checkpoints made with paramwise_cfg (one param group per parameter) in optimtx."""

from __future__ import annotations

import copy

import pytest
import torch

from optimtx.config.builder import build_optim_wrapper
from tests.paramwise_cases import PARAMWISE_CFGS, SIX_MULTS, ExampleModel

mmengine_optim = pytest.importorskip("mmengine.optim")
from tests.mmengine_quiet import quiet_mmengine  # noqa: E402, F401  (autouse fixture)

OPTIMIZERS = {
    "sgd": dict(type="SGD", lr=0.01, momentum=0.9, weight_decay=0.1),
    "adamw": dict(type="AdamW", lr=0.01, weight_decay=0.05),
}


def _train(model, wrapper, steps, seed):
    g = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        x = torch.randn(2, 3, 8, 8, generator=g)
        wrapper.update_params(model(x).square().mean())


@pytest.mark.parametrize("opt_name", sorted(OPTIMIZERS))
@pytest.mark.parametrize("cfg_name", ["six_mults", *sorted(k for k in PARAMWISE_CFGS if k != "none")][:4])
def test_an_mmengine_checkpoint_resumes_in_optimtx_exactly(opt_name, cfg_name):
    paramwise_cfg = SIX_MULTS if cfg_name == "six_mults" else PARAMWISE_CFGS[cfg_name]
    cfg = dict(optimizer=OPTIMIZERS[opt_name], paramwise_cfg=paramwise_cfg, clip_grad=dict(max_norm=1.0))
    torch.manual_seed(0)
    mm_model = ExampleModel()
    mm_wrapper = mmengine_optim.build_optim_wrapper(mm_model, copy.deepcopy(cfg))
    _train(mm_model, mm_wrapper, 3, seed=1)
    checkpoint = copy.deepcopy({"model": mm_model.state_dict(), "optim": mm_wrapper.state_dict()})
    saved = copy.deepcopy(checkpoint)

    ours_model = ExampleModel()
    ours_model.load_state_dict(checkpoint["model"])
    ours = build_optim_wrapper(ours_model, cfg)
    assert len(ours.optimizer.param_groups) < len(mm_wrapper.optimizer.param_groups)
    ours.load_state_dict(checkpoint["optim"])
    assert repr(checkpoint) == repr(saved)  # the caller's checkpoint is not modified

    _train(mm_model, mm_wrapper, 3, seed=2)
    _train(ours_model, ours, 3, seed=2)
    for (name, a), b in zip(mm_model.named_parameters(), ours_model.parameters(), strict=True):
        torch.testing.assert_close(b, a, rtol=1e-5, atol=1e-7, msg=name)


def test_settings_that_cannot_be_merged_are_refused_and_nothing_changes():
    cfg = dict(optimizer=OPTIMIZERS["sgd"], paramwise_cfg=SIX_MULTS)
    mm_model = ExampleModel()
    mm_wrapper = mmengine_optim.build_optim_wrapper(mm_model, copy.deepcopy(cfg))
    sd = mm_wrapper.state_dict()
    sd["param_groups"][0]["weight_decay"] = 123.0  # conv1.weight now disagrees with its optimtx group
    ours = build_optim_wrapper(ExampleModel(), cfg)
    before = copy.deepcopy(ours.optimizer.state_dict())
    with pytest.raises(ValueError, match="weight_decay"):
        ours.load_state_dict(sd)
    assert repr(ours.optimizer.state_dict()) == repr(before)


def test_a_hand_built_optimizer_refuses_a_per_parameter_checkpoint_clearly():
    from optimtx.wrapper.optim_wrapper import OptimWrapper

    cfg = dict(optimizer=OPTIMIZERS["sgd"], paramwise_cfg=SIX_MULTS)
    mm_model = ExampleModel()
    sd = mmengine_optim.build_optim_wrapper(mm_model, copy.deepcopy(cfg)).state_dict()
    model = ExampleModel()
    params = list(model.parameters())
    ours = OptimWrapper(
        torch.optim.SGD([{"params": params[:3]}, {"params": params[3:]}], lr=0.01, momentum=0.9, weight_decay=0.1)
    )
    with pytest.raises(ValueError, match="build_optim_wrapper"):
        ours.load_state_dict(sd)


def test_a_gradscaler_loss_scaler_state_loads_into_amp_optim_wrapper():
    model = ExampleModel()
    wrapper = build_optim_wrapper(model, dict(type="AmpOptimWrapper", optimizer=OPTIMIZERS["sgd"]))
    sd = wrapper.state_dict()
    sd["loss_scaler"] = torch.amp.GradScaler("cpu", init_scale=1024.0, growth_interval=7).state_dict()
    wrapper.load_state_dict(sd)
    assert float(wrapper.loss_scaler.get_scale()) == 1024.0 and wrapper.loss_scaler.growth_interval == 7
