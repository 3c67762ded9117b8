"""Muon under FSDP2 on 2 gloo processes: each matrix is orthogonalised whole, so sharded equals one process."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import optimtx as otx
from tests.distributed.harness import WORLD_SIZE, full, requires_gloo, run_workers

pytestmark = [pytest.mark.distributed, pytest.mark.slow, requires_gloo]
STEPS = 3


class _Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(2, 6, 3, padding=1)
        self.hidden = nn.Linear(6 * 4 * 4, 10)
        self.head = nn.Linear(10, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.tanh(self.hidden(torch.tanh(self.conv(x)).flatten(1))))


def _model() -> nn.Module:
    torch.manual_seed(0)
    return _Net()


def _batch(rank: int, step: int) -> torch.Tensor:
    return torch.randn(3, 2, 4, 4, generator=torch.Generator().manual_seed(100 * step + rank))


def _loss(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    return model(x).pow(2).mean()


def _train(model: nn.Module, loss_of_step, tx: otx.GradientTransformation) -> list[torch.Tensor]:
    params = dict(model.named_parameters())
    state = tx.init({k: v.detach() for k, v in params.items()})
    for step in range(STEPS):
        model.zero_grad()
        loss_of_step(step).backward()
        grads = {k: p.grad for k, p in params.items()}
        updates, state = tx.update(grads, state, {k: v.detach() for k, v in params.items()})
        with torch.no_grad():
            for k, p in params.items():
                p.add_(updates[k])
    return [full(p) for p in model.parameters()]


def _worker(rank: int) -> dict:
    from torch.distributed.fsdp import fully_shard

    tx = otx.muon_with_adamw(lr=0.05, adamw_lr=1e-2, flatten_nd=True)
    sharded, ref = _model(), _model()
    fully_shard(sharded)
    kinds = sorted({type(p).__name__ for p in sharded.parameters()})
    local_rows = [p.to_local().shape[0] for p in sharded.parameters()]
    got = _train(sharded, lambda step: _loss(sharded, _batch(rank, step)), tx)
    want = _train(ref, lambda step: sum(_loss(ref, _batch(r, step)) for r in range(WORLD_SIZE)) / WORLD_SIZE, tx)
    return dict(got=got, want=want, kinds=kinds, local_rows=local_rows)


def test_sharded_muon_with_adamw_equals_one_process(tmp_path):
    results = run_workers(_worker, tmp_path)
    for r in results:
        assert r["kinds"] == ["DTensor"]
        assert r["local_rows"][0] == 3  # the conv kernel's 6 output channels are split over the 2 ranks
        for got, want in zip(r["got"], r["want"], strict=True):
            # bfloat16 Newton-Schulz on the same matrix; gradients differ by FSDP's reduction order only.
            torch.testing.assert_close(got, want, rtol=1e-3, atol=1e-4)
    for a, b in zip(results[0]["got"], results[1]["got"], strict=True):
        assert torch.equal(a, b)  # both ranks hold the same model
