"""FSDP2 (``fully_shard``) on 2 gloo processes: global-norm clipping, accumulation, fp16 loss scaling.

One spawn runs every scenario (starting processes dominates the cost); each test then
checks its part of the ranks' results. The single-process reference is computed inside
each worker on an unsharded copy fed with both ranks' batches: FSDP averages the
gradients over ranks, so the reference loss is the mean of the ranks' losses.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

import optimtx as otx
from tests.distributed.harness import WORLD_SIZE, full, requires_gloo, run_workers

pytestmark = [pytest.mark.distributed, pytest.mark.slow, requires_gloo]
MAX_NORM = 0.05


def _model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 2))


def _sharded() -> nn.Module:
    from torch.distributed.fsdp import fully_shard

    model = _model()
    fully_shard(model)
    return model


def _batch(rank: int, step: int) -> torch.Tensor:
    return torch.randn(3, 4, generator=torch.Generator().manual_seed(100 * step + rank))


def _loss(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    return model(x).float().pow(2).mean()


def _reference_loss(model: nn.Module, step: int) -> torch.Tensor:
    return sum(_loss(model, _batch(r, step)) for r in range(WORLD_SIZE)) / WORLD_SIZE


def _params(model: nn.Module) -> list[torch.Tensor]:
    return [full(p) for p in model.parameters()]


def _clip_with_wrapper(rank: int) -> dict:
    model, ref = _sharded(), _model()
    wrapper = otx.OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.5), clip_grad=dict(max_norm=MAX_NORM))
    ref_wrapper = otx.OptimWrapper(torch.optim.SGD(ref.parameters(), lr=0.5), clip_grad=dict(max_norm=MAX_NORM))
    wrapper.update_params(_loss(model, _batch(rank, 0)))
    ref_wrapper.update_params(_reference_loss(ref, 0))
    return dict(
        norm=full(wrapper.last_grad_norm),
        ref_norm=ref_wrapper.last_grad_norm.detach(),
        params=_params(model),
        ref_params=_params(ref),
    )


def _pure_clip(rank: int) -> dict:
    model, ref = _sharded(), _model()
    _loss(model, _batch(rank, 0)).backward()
    _reference_loss(ref, 0).backward()
    grads = {n: p.grad for n, p in model.named_parameters()}
    tx = otx.clip_by_global_norm(MAX_NORM)
    clipped, state = tx.update(grads, tx.init(grads))
    local_norm = torch.linalg.vector_norm(torch.stack([g.to_local().norm() for g in grads.values()]))
    ref_norm = torch.nn.utils.clip_grad_norm_(ref.parameters(), MAX_NORM)
    ref_grads = [p.grad for p in ref.parameters()]
    return dict(
        norm=full(state.norm),
        local_norm=local_norm,
        ref_norm=ref_norm,
        clipped=[full(g) for g in clipped.values()],
        ref_clipped=ref_grads,
    )


def _accumulate_and_clip(rank: int) -> dict:
    model, ref = _sharded(), _model()
    kwargs = dict(accumulative_counts=2, clip_grad=dict(max_norm=MAX_NORM))
    wrapper = otx.OptimWrapper(torch.optim.AdamW(model.parameters(), lr=1e-2), **kwargs)
    ref_wrapper = otx.OptimWrapper(torch.optim.AdamW(ref.parameters(), lr=1e-2), **kwargs)
    for step in range(6):  # three windows of two micro-steps
        with wrapper.optim_context(model):
            loss = _loss(model, _batch(rank, step))
        wrapper.update_params(loss)
        ref_wrapper.update_params(_reference_loss(ref, step))
    return dict(params=_params(model), ref_params=_params(ref))


def _amp_overflow_on_one_rank(rank: int, fused: bool) -> dict:
    model = _sharded()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2, **({"fused": True} if fused else {"foreach": True}))
    wrapper = otx.AmpOptimWrapper(optimizer=optimizer, dtype="float16", loss_scale=dict(init_scale=1024.0))
    record = dict(skipped=[], scales=[], params=[])
    for step in range(4):
        with wrapper.optim_context(model):
            loss = _loss(model, _batch(rank, step))
        wrapper.backward(wrapper.scale_loss(loss))
        if step == 2 and rank == 1:  # an inf in rank 1's shard only
            next(model.parameters()).grad.to_local()[0, 0] = float("inf")
        wrapper.step()
        wrapper.zero_grad()
        record["skipped"].append(wrapper.step_was_skipped)
        record["scales"].append(wrapper.loss_scaler.get_scale())
        record["params"].append(_params(model))
    return record


def _worker(rank: int) -> dict:
    return dict(
        clip_with_wrapper=_clip_with_wrapper(rank),
        pure_clip=_pure_clip(rank),
        accumulate_and_clip=_accumulate_and_clip(rank),
        amp=_amp_overflow_on_one_rank(rank, fused=False),
        amp_fused=_amp_overflow_on_one_rank(rank, fused=True),
    )


@pytest.fixture(scope="module")
def ranks(tmp_path_factory):
    return run_workers(_worker, tmp_path_factory.mktemp("fsdp"))


def _assert_all_close(got, expected, **tol):
    for g, e in zip(got, expected, strict=True):
        torch.testing.assert_close(g, e, **tol)


def test_optim_wrapper_clip_grad_uses_the_global_norm(ranks):
    for r in ranks:
        res = r["clip_with_wrapper"]
        assert res["ref_norm"] > MAX_NORM  # the clip is active
        torch.testing.assert_close(res["norm"], res["ref_norm"])
        _assert_all_close(res["params"], res["ref_params"])


def test_pure_clip_by_global_norm_on_dtensor_grads_uses_the_global_norm(ranks):
    for r in ranks:
        res = r["pure_clip"]
        torch.testing.assert_close(res["norm"], res["ref_norm"])
        assert not torch.allclose(res["local_norm"], res["ref_norm"])  # a shard's norm would be wrong
        _assert_all_close(res["clipped"], res["ref_clipped"])


def test_sharded_training_with_accumulation_and_clipping_equals_one_process(ranks):
    for r in ranks:
        _assert_all_close(
            r["accumulate_and_clip"]["params"], r["accumulate_and_clip"]["ref_params"], atol=1e-6, rtol=1e-5
        )


@pytest.mark.parametrize("key", ["amp", "amp_fused"])
def test_fp16_overflow_in_one_shard_skips_and_backs_off_on_every_rank(ranks, key):
    for r in ranks:
        res = r[key]
        assert res["skipped"] == [False, False, True, False]
        assert res["scales"] == [1024.0, 1024.0, 512.0, 512.0]
        _assert_all_close(res["params"][2], res["params"][1], rtol=0, atol=0)  # the skipped step changed nothing
        assert not torch.equal(res["params"][3][0], res["params"][2][0])  # the next one did
    _assert_all_close(ranks[0][key]["params"][3], ranks[1][key]["params"][3], rtol=0, atol=0)


def test_fused_torch_optimizer_under_fsdp2_equals_the_foreach_one(ranks):
    """The fused path (overflow flag as a DTensor) used to crash in the loss scaler."""
    for r in ranks:
        _assert_all_close(r["amp_fused"]["params"][3], r["amp"]["params"][3], atol=1e-6, rtol=1e-5)
