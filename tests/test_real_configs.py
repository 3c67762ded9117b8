"""Real-style OpenMMLab configs: built, stepped, explained and resumed exactly as MMEngine does."""

from __future__ import annotations

import copy

import pytest
import torch

import optimtx as otx
from tests.real_configs import CONFIGS, inputs

mmengine_optim = pytest.importorskip("mmengine.optim")
from tests.mmengine_quiet import quiet_mmengine  # noqa: E402, F401  (autouse fixture)

IDS = [c.name for c in CONFIGS]


def _per_param(optimizer, model):
    names = {id(p): n for n, p in model.named_parameters()}
    keys = ("lr", "weight_decay", "momentum", "betas", "eps")
    return {names[id(p)]: tuple(g.get(k) for k in keys) for g in optimizer.param_groups for p in g["params"]}


def _train(model, wrapper, steps, seed):
    for i in range(steps):
        with wrapper.optim_context(model):
            loss = model(inputs(model, seed + i)).square().mean()
        wrapper.update_params(loss)


@pytest.mark.parametrize("case", CONFIGS, ids=IDS)
def test_builds_like_mmengine_and_three_steps_give_the_same_parameters(case):
    torch.manual_seed(0)
    ours_model = case.model()
    ours = otx.build_optim_wrapper(ours_model, copy.deepcopy(case.optim_wrapper))
    rows = otx.explain(ours_model, ours)
    assert {r.name for r in rows} == {n for n, _ in ours_model.named_parameters()}
    if not case.mmengine_runs_it:
        _train(ours_model, ours, 3, seed=1)
        assert all(torch.isfinite(p).all() for p in ours_model.parameters())
        return
    mm_model = copy.deepcopy(ours_model)
    mm = mmengine_optim.build_optim_wrapper(mm_model, copy.deepcopy(case.optim_wrapper))
    assert _per_param(ours.optimizer, ours_model) == _per_param(mm.optimizer, mm_model)
    _train(ours_model, ours, 3, seed=1)
    _train(mm_model, mm, 3, seed=1)
    for (name, a), b in zip(mm_model.named_parameters(), ours_model.parameters(), strict=True):
        torch.testing.assert_close(b, a, rtol=1e-5, atol=1e-7, msg=lambda m, name=name: f"{name}: {m}")


@pytest.mark.parametrize(
    "case", [c for c in CONFIGS if c.mmengine_runs_it], ids=[c.name for c in CONFIGS if c.mmengine_runs_it]
)
def test_an_mmengine_checkpoint_of_the_config_resumes_exactly(case):
    torch.manual_seed(0)
    mm_model = case.model()
    mm = mmengine_optim.build_optim_wrapper(mm_model, copy.deepcopy(case.optim_wrapper))
    _train(mm_model, mm, 2, seed=3)
    ours_model = copy.deepcopy(mm_model)
    ours = otx.build_optim_wrapper(ours_model, copy.deepcopy(case.optim_wrapper))
    ours.load_state_dict(copy.deepcopy(mm.state_dict()))
    _train(mm_model, mm, 2, seed=5)
    _train(ours_model, ours, 2, seed=5)
    for (name, a), b in zip(mm_model.named_parameters(), ours_model.parameters(), strict=True):
        torch.testing.assert_close(b, a, rtol=1e-5, atol=1e-7, msg=lambda m, name=name: f"{name}: {m}")


@pytest.mark.parametrize("case", CONFIGS, ids=IDS)
def test_optimtx_checkpoint_round_trip_continues_bitwise(case, tmp_path):
    torch.manual_seed(0)
    model = case.model()
    wrapper = otx.build_optim_wrapper(model, copy.deepcopy(case.optim_wrapper))
    _train(model, wrapper, 2, seed=3)
    torch.save({"model": model.state_dict(), "optim": wrapper.state_dict()}, tmp_path / "ckpt.pt")
    twin_model = case.model()
    twin = otx.build_optim_wrapper(twin_model, copy.deepcopy(case.optim_wrapper))
    ckpt = torch.load(tmp_path / "ckpt.pt", weights_only=True)
    twin_model.load_state_dict(ckpt["model"])
    twin.load_state_dict(ckpt["optim"])
    _train(model, wrapper, 2, seed=5)
    _train(twin_model, twin, 2, seed=5)
    for a, b in zip(model.parameters(), twin_model.parameters(), strict=True):
        assert torch.equal(a, b)
