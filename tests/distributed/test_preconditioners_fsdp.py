"""SOAP, Shampoo, PSGD-Kron and MARS on FSDP2 (DTensor) parameters, 2 gloo processes, equal one process.

Each preconditioner gathers a sharded matrix to the whole matrix (optimtx/transforms/_whole.py), so its
statistics are those of the whole matrix, not of a rank's rows. The reference is an unsharded copy of the
model fed both ranks' batches (FSDP averages gradients over ranks), inside each worker.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

import optimtx as otx
from tests.distributed.harness import WORLD_SIZE, full, requires_gloo, run_workers

pytestmark = [pytest.mark.distributed, pytest.mark.slow, requires_gloo]
STEPS = 4
OPTIMIZERS = {
    "soap": lambda: otx.soap(lr=1e-2, precondition_frequency=2, weight_decay=0.1),
    "shampoo": lambda: otx.shampoo(
        lr=1e-2, block_size=4, start_preconditioning_step=1, preconditioning_compute_steps=2, graft_type="adagrad"
    ),
    "psgd_kron": lambda: otx.psgd_kron(lr=1e-2, weight_decay=0.1),
    "mars": lambda: otx.mars(lr=1e-2, weight_decay=0.1),
}


def _model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 2))


def _batch(rank: int, step: int) -> torch.Tensor:
    return torch.randn(3, 4, generator=torch.Generator().manual_seed(100 * step + rank))


def _loss(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    return model(x).pow(2).mean()


def _train(rank: int, name: str) -> dict:
    from torch.distributed.fsdp import fully_shard

    model, ref = _model(), _model()
    fully_shard(model)
    opt = otx.TransformOptimizer(model.parameters(), OPTIMIZERS[name]())
    ref_opt = otx.TransformOptimizer(ref.parameters(), OPTIMIZERS[name]())
    for step in range(STEPS):
        opt.zero_grad()
        _loss(model, _batch(rank, step)).backward()
        opt.step()
        ref_opt.zero_grad()
        (sum(_loss(ref, _batch(r, step)) for r in range(WORLD_SIZE)) / WORLD_SIZE).backward()
        ref_opt.step()
    return dict(
        params=[full(p) for p in model.parameters()],
        ref_params=[p.detach().clone() for p in ref.parameters()],
        sharded=[type(p).__name__ for p in model.parameters()],
    )


def _worker(rank: int) -> dict:
    return {name: _train(rank, name) for name in OPTIMIZERS}


@pytest.fixture(scope="module")
def ranks(tmp_path_factory):
    return run_workers(_worker, tmp_path_factory.mktemp("fsdp_preconditioners"))


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_sharded_preconditioner_equals_one_process(ranks, name):
    for r in ranks:
        res = r[name]
        assert set(res["sharded"]) == {"DTensor"}
        for got, want in zip(res["params"], res["ref_params"], strict=True):
            torch.testing.assert_close(got, want, atol=1e-6, rtol=1e-5)
    for a, b in zip(ranks[0][name]["params"], ranks[1][name]["params"], strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
