"""``ZeroRedundancyOptimizer`` built from a config with paramwise groups, on 2 gloo processes.

Rank 0 saves the consolidated state, every rank reloads it into a fresh wrapper, and the
next step of the reloaded run equals the next step of the uninterrupted one on every rank.
"""

from __future__ import annotations

import os

import pytest
import torch
import torch.distributed as dist
from torch import nn

import optimtx as otx
from tests.distributed.harness import requires_gloo, run_workers

CFG = dict(
    optimizer=dict(type="ZeroRedundancyOptimizer", optimizer_type="AdamW", lr=1e-2, weight_decay=0.1),
    paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0, custom_keys={"0.weight": dict(lr_mult=0.5)}),
)


def _model() -> nn.Module:
    torch.manual_seed(0)
    return nn.parallel.DistributedDataParallel(nn.Sequential(nn.Linear(4, 6), nn.LayerNorm(6), nn.Linear(6, 2)))


def _step(model: nn.Module, wrapper, rank: int, step: int) -> None:
    x = torch.randn(3, 4, generator=torch.Generator().manual_seed(100 * step + rank))
    with wrapper.optim_context(model):
        loss = model(x).pow(2).mean()
    wrapper.update_params(loss)


def _worker(rank: int, out_dir: str) -> dict:
    model = _model()
    wrapper = otx.build_optim_wrapper(model, CFG)
    for step in range(3):
        _step(model, wrapper, rank, step)
    state = wrapper.state_dict()  # collective: every rank gathers, rank 0 gets the full state
    path = os.path.join(out_dir, "optim.pt")
    if rank == 0:
        torch.save(dict(model=model.module.state_dict(), optim=state), path)
    dist.barrier()

    resumed_model = _model()
    resumed = otx.build_optim_wrapper(resumed_model, CFG)
    checkpoint = torch.load(path, weights_only=False)
    resumed_model.module.load_state_dict(checkpoint["model"])
    resumed.load_state_dict(checkpoint["optim"])
    _step(model, wrapper, rank, 3)
    _step(resumed_model, resumed, rank, 3)
    return dict(
        state_keys=sorted(state),
        n_groups=len(wrapper.optimizer.param_groups),
        lrs=wrapper.get_lr()["lr"],
        params=[p.detach().clone() for p in model.module.parameters()],
        resumed_params=[p.detach().clone() for p in resumed_model.module.parameters()],
    )


@pytest.fixture(scope="module")
def ranks(tmp_path_factory):
    out = tmp_path_factory.mktemp("zero")
    return run_workers(_worker, out, str(out))


@pytest.mark.distributed
@pytest.mark.slow
@requires_gloo
def test_zero_state_dict_is_consolidated_on_rank_zero_only(ranks):
    assert {"state", "param_groups"} <= set(ranks[0]["state_keys"])
    assert "state" not in ranks[1]["state_keys"]
    assert ranks[0]["n_groups"] == ranks[1]["n_groups"] > 1  # the paramwise groups survived ZeRO
    assert ranks[0]["lrs"] == ranks[1]["lrs"] and 5e-3 in ranks[0]["lrs"]


@pytest.mark.distributed
@pytest.mark.slow
@requires_gloo
def test_zero_reload_gives_the_identical_next_step_on_every_rank(ranks):
    for r in ranks:
        for mine, resumed in zip(r["params"], r["resumed_params"], strict=True):
            torch.testing.assert_close(mine, resumed, rtol=0, atol=0)
    for a, b in zip(ranks[0]["params"], ranks[1]["params"], strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
