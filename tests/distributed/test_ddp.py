"""DDP on 2 gloo processes with a ``TransformOptimizer`` chain, and the accumulation-sync warning."""

from __future__ import annotations

import contextlib
import warnings

import pytest
import torch
from torch import nn

import optimtx as otx
from tests.distributed.harness import WORLD_SIZE, requires_gloo, run_workers


def _model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 2))


def _batch(rank: int, step: int) -> torch.Tensor:
    return torch.randn(3, 4, generator=torch.Generator().manual_seed(100 * step + rank))


def _loss(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    return model(x).pow(2).mean()


def _chain() -> otx.GradientTransformation:
    return otx.chain(otx.clip_by_global_norm(0.05), otx.adamw(lr=1e-2, weight_decay=0.1))


def _worker(rank: int) -> dict:
    model = nn.parallel.DistributedDataParallel(_model())
    ref = _model()
    wrapper = otx.OptimWrapper(otx.TransformOptimizer(model.parameters(), _chain()), accumulative_counts=2)
    ref_wrapper = otx.OptimWrapper(otx.TransformOptimizer(ref.parameters(), _chain()), accumulative_counts=2)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for step in range(6):
            with wrapper.optim_context(model):
                loss = _loss(model, _batch(rank, step))
            wrapper.update_params(loss)
            ref_wrapper.update_params(sum(_loss(ref, _batch(r, step)) for r in range(WORLD_SIZE)) / WORLD_SIZE)
        in_context = [str(w.message) for w in caught if issubclass(w.category, otx.AccumulationSyncWarning)]
        params = [p.detach().clone() for p in model.module.parameters()]
        for step in range(6, 10):  # the forward outside optim_context: DDP all-reduces every micro-step
            wrapper.update_params(_loss(model, _batch(rank, step)))
        outside = [str(w.message) for w in caught if issubclass(w.category, otx.AccumulationSyncWarning)]
    return dict(
        params=params,
        ref_params=[p.detach().clone() for p in ref.parameters()],
        warned_in_context=in_context,
        warned_outside=outside,
    )


@pytest.fixture(scope="module")
def ranks(tmp_path_factory):
    return run_workers(_worker, tmp_path_factory.mktemp("ddp"))


@pytest.mark.distributed
@pytest.mark.slow
@requires_gloo
def test_ddp_with_a_transform_optimizer_chain_equals_one_process(ranks):
    # After 6 micro-steps under optim_context (3 windows of 2), with clipping inside the chain.
    for r in ranks:
        for mine, theirs in zip(r["params"], r["ref_params"], strict=True):
            torch.testing.assert_close(mine, theirs, atol=1e-6, rtol=1e-5)
    for mine, theirs in zip(ranks[0]["params"], ranks[1]["params"], strict=True):
        torch.testing.assert_close(mine, theirs, rtol=0, atol=0)  # every rank holds the same model


@pytest.mark.distributed
@pytest.mark.slow
@requires_gloo
def test_ddp_accumulating_outside_optim_context_warns_once(ranks):
    for r in ranks:
        assert r["warned_in_context"] == []
        assert len(r["warned_outside"]) == 1
        assert "optim_context" in r["warned_outside"][0] and "DistributedDataParallel" in r["warned_outside"][0]


# ------------------------------------------------------------------ single process
class _NoSyncModel(nn.Linear):
    """Stands in for DDP: has ``no_sync`` and records when it was entered."""

    entered = 0

    @contextlib.contextmanager
    def no_sync(self):
        type(self).entered += 1
        yield


def _wrapper(model: nn.Module, acc: int = 2) -> otx.OptimWrapper:
    return otx.OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1), accumulative_counts=acc)


def test_forward_outside_optim_context_on_a_non_update_step_warns_once():
    model = _NoSyncModel(2, 1)
    wrapper = _wrapper(model)
    wrapper.initialize_count_status(model, 0, 100)
    with pytest.warns(otx.AccumulationSyncWarning, match=r"accumulative_counts=2.*optim_context"):
        wrapper.update_params(model(torch.ones(1, 2)).sum())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(3):
            wrapper.update_params(model(torch.ones(1, 2)).sum())


@pytest.mark.parametrize("acc", [1, 2])
def test_no_warning_under_optim_context_or_without_accumulation(acc):
    model = _NoSyncModel(2, 1)
    wrapper = _wrapper(model, acc)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(4):
            with wrapper.optim_context(model):
                out = model(torch.ones(1, 2)).sum()
            wrapper.update_params(out)
        wrapper.initialize_count_status(model, 4, 100)
        if acc == 1:  # every micro-step syncs anyway: nothing to warn about
            wrapper.update_params(model(torch.ones(1, 2)).sum())


def test_no_warning_for_a_model_without_no_sync():
    model = nn.Linear(2, 1)
    wrapper = _wrapper(model)
    wrapper.initialize_count_status(model, 0, 100)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(4):
            wrapper.update_params(model(torch.ones(1, 2)).sum())


def test_amp_wrapper_warns_too():
    model = _NoSyncModel(2, 1)
    wrapper = otx.AmpOptimWrapper(
        optimizer=torch.optim.SGD(model.parameters(), lr=0.1), dtype="bfloat16", accumulative_counts=2
    )
    wrapper.initialize_count_status(model, 0, 100)
    with pytest.warns(otx.AccumulationSyncWarning):
        wrapper.update_params(model(torch.ones(1, 2)).sum())
