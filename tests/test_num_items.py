"""Accumulation by item count equals the big batch: pure ``accumulate(average='items')`` and the facade."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

import optimtx as otx
from optimtx.wrapper.amp_optim_wrapper import AmpOptimWrapper
from optimtx.wrapper.optim_wrapper import OptimWrapper

counts_strategy = st.lists(st.integers(0, 5), min_size=1, max_size=4).filter(lambda c: sum(c) > 0)


def make_data(counts: list[int], seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    n = sum(counts)
    return torch.randn(n, 3, generator=gen, dtype=torch.float64), torch.randn(n, 1, generator=gen, dtype=torch.float64)


def make_model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Linear(3, 1).double()


def item_losses(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return 0.5 * ((model(x) - y) ** 2).sum(dim=1)


def split(x: torch.Tensor, counts: list[int]) -> list[torch.Tensor]:
    return list(torch.split(x, counts))


# ---------------------------------------------------------------------- pure path
@settings(max_examples=15)
@given(counts=counts_strategy, seed=st.integers(0, 100))
def test_pure_items_window_equals_big_batch(counts, seed):
    x, y = make_data(counts, seed)
    params = {"w": torch.randn(3, 1, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))}

    def grad_of_sum(xs, ys, w):
        w = w.clone().requires_grad_(True)
        (0.5 * ((xs @ w - ys) ** 2).sum()).backward()
        return w.grad

    tx = otx.accumulate(otx.sgd(0.1, momentum=0.9), every_k=len(counts), average="items")
    state = tx.init(params)
    for xs, ys, n in zip(split(x, counts), split(y, counts), counts, strict=True):
        updates, state = tx.update({"w": grad_of_sum(xs, ys, params["w"])}, state, params, num_items=n)
    big = otx.sgd(0.1, momentum=0.9)
    expected, _ = big.update({"w": grad_of_sum(x, y, params["w"]) / sum(counts)}, big.init(params), params)
    torch.testing.assert_close(updates["w"], expected["w"])
    assert state.acc_items.item() == 0.0  # a new window starts from zero items


def test_pure_items_accepts_device_tensors_and_needs_num_items():
    tx = otx.accumulate(otx.scale(1.0), every_k=2, average="items")
    state = tx.init({"w": torch.zeros(1)})
    _, state = tx.update({"w": torch.tensor([2.0])}, state, num_items=torch.tensor(1))
    out, _ = tx.update({"w": torch.tensor([4.0])}, state, num_items=torch.tensor([2]))
    torch.testing.assert_close(out["w"], torch.tensor([2.0]))
    with pytest.raises(TypeError, match="num_items"):
        tx.update({"w": torch.tensor([2.0])}, state)
    with pytest.raises(ValueError, match="num_items: -1"):
        tx.update({"w": torch.tensor([2.0])}, state, num_items=-1)
    with pytest.raises(TypeError, match="num_items"):
        tx.update({"w": torch.tensor([2.0])}, state, num_items=1.5)
    with pytest.raises(TypeError, match="only takes it with average='items'"):
        otx.accumulate(otx.scale(1.0), 2).update({"w": torch.ones(1)}, state, num_items=1)
    with pytest.raises(TypeError, match="average"):
        otx.accumulate(otx.scale(1.0), 2, average="tokens")


def test_pure_items_window_of_zero_items_gives_zero_gradient():
    tx = otx.accumulate(otx.scale(1.0), every_k=1, average="items")
    out, _ = tx.update({"w": torch.zeros(2)}, tx.init({"w": torch.zeros(2)}), num_items=0)
    assert torch.equal(out["w"], torch.zeros(2))


def test_pure_items_compiles_without_graph_breaks():
    tx = otx.accumulate(otx.adam(0.1), every_k=2, average="items")
    params = {"w": torch.ones(3)}
    state = tx.init(params)
    compiled = torch.compile(tx.update, fullgraph=True, backend="eager")
    grads = {"w": torch.tensor([1.0, 2.0, 3.0])}
    got = compiled(grads, state, params, num_items=torch.tensor(3.0))
    want = tx.update(grads, state, params, num_items=torch.tensor(3.0))
    torch.testing.assert_close(got, want)


# ---------------------------------------------------------------------- facade
WRAPPERS = {
    "plain": lambda opt, **kw: OptimWrapper(opt, **kw),
    "amp_fp32_dynamic": lambda opt, **kw: AmpOptimWrapper("dynamic", dtype="float32", optimizer=opt, **kw),
    "amp_static": lambda opt, **kw: AmpOptimWrapper(1024.0, dtype="float32", optimizer=opt, **kw),
    "amp_disabled": lambda opt, **kw: AmpOptimWrapper(dict(enabled=False), dtype="float32", optimizer=opt, **kw),
}
OPTIMIZERS = {
    "sgd_momentum": lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9),
    "adamw_fused": lambda ps: torch.optim.AdamW(ps, lr=0.1, fused=True),
}
CLIPS = {"none": None, "norm": dict(max_norm=0.05), "value": dict(type="value", clip_value=0.05)}


def run_facade(wrapper_name, opt_name, clip, counts, windows, x, y, num_items=True):
    model = make_model()
    kwargs = {} if clip is None else {"clip_grad": clip}
    wrapper = WRAPPERS[wrapper_name](
        OPTIMIZERS[opt_name](model.parameters()), accumulative_counts=len(counts), **kwargs
    )
    for _ in range(windows):
        for xs, ys, n in zip(split(x, counts), split(y, counts), counts, strict=True):
            with wrapper.optim_context(model):
                losses = item_losses(model, xs, ys)
            if num_items:
                wrapper.update_params(losses.sum(), num_items=n)
            else:
                wrapper.update_params(losses.mean())
    return model, wrapper


def run_big_batch(wrapper_name, opt_name, clip, windows, x, y):
    model = make_model()
    kwargs = {} if clip is None else {"clip_grad": clip}
    wrapper = WRAPPERS[wrapper_name](OPTIMIZERS[opt_name](model.parameters()), **kwargs)
    for _ in range(windows):
        with wrapper.optim_context(model):
            loss = item_losses(model, x, y).mean()
        wrapper.update_params(loss)
    return model, wrapper


@pytest.mark.parametrize("wrapper_name", list(WRAPPERS))
@pytest.mark.parametrize("opt_name", list(OPTIMIZERS))
@pytest.mark.parametrize("clip_name", list(CLIPS))
@settings(max_examples=4)
@given(counts=counts_strategy, seed=st.integers(0, 50))
def test_facade_variable_micro_batches_equal_big_batch(wrapper_name, opt_name, clip_name, counts, seed):
    x, y = make_data(counts, seed)
    clip = CLIPS[clip_name]
    model, wrapper = run_facade(wrapper_name, opt_name, clip, counts, 2, x, y)
    ref, ref_wrapper = run_big_batch(wrapper_name, opt_name, clip, 2, x, y)
    for p, q in zip(model.parameters(), ref.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-7)  # the divisor is float32
    if clip_name == "norm":
        torch.testing.assert_close(wrapper.last_step.grad_norm, ref_wrapper.last_step.grad_norm.float())


def test_facade_plain_mean_is_wrong_for_variable_lengths():
    counts = [1, 4]
    x, y = make_data(counts, 3)
    mean_model, _ = run_facade("plain", "sgd_momentum", None, counts, 1, x, y, num_items=False)
    items_model, _ = run_facade("plain", "sgd_momentum", None, counts, 1, x, y)
    ref, _ = run_big_batch("plain", "sgd_momentum", None, 1, x, y)
    torch.testing.assert_close(items_model.weight, ref.weight)
    assert not torch.allclose(mean_model.weight, ref.weight)


def test_facade_short_last_window_equals_its_big_batch():
    counts = [2, 3, 1, 4, 2]  # accumulative_counts=3, 5 micro-batches: windows of 3 and 2
    x, y = make_data(counts, 1)
    model = make_model()
    wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1), accumulative_counts=3)
    wrapper.initialize_count_status(model, 0, len(counts))
    for xs, ys, n in zip(split(x, counts), split(y, counts), counts, strict=True):
        wrapper.update_params(item_losses(model, xs, ys).sum(), num_items=n)
    ref = make_model()
    ref_opt = torch.optim.SGD(ref.parameters(), lr=0.1)
    for lo, hi in ((0, 6), (6, 12)):
        ref_opt.zero_grad()
        item_losses(ref, x[lo:hi], y[lo:hi]).mean().backward()
        ref_opt.step()
    torch.testing.assert_close(model.weight, ref.weight)
    torch.testing.assert_close(model.bias, ref.bias)


def test_facade_takes_device_tensor_counts_and_backward_directly():
    counts = [3, 1]
    x, y = make_data(counts, 2)
    model = make_model()
    wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1), accumulative_counts=2)
    for xs, ys, n in zip(split(x, counts), split(y, counts), counts, strict=True):
        wrapper.backward(item_losses(model, xs, ys).sum(), num_items=torch.tensor(n))
    wrapper.step()
    ref, _ = run_big_batch("plain", "sgd_momentum", None, 1, x, y)
    ref = make_model()
    opt = torch.optim.SGD(ref.parameters(), lr=0.1)
    item_losses(ref, x, y).mean().backward()
    opt.step()
    torch.testing.assert_close(model.weight, ref.weight)


def test_mixing_calls_with_and_without_num_items_raises_before_backward():
    model = make_model()
    wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1), accumulative_counts=2)
    x, y = make_data([2], 0)
    wrapper.update_params(item_losses(model, x, y).sum(), num_items=2)
    grad = model.weight.grad.clone()
    with pytest.raises(ValueError, match="num_items on every micro-batch"):
        wrapper.update_params(item_losses(model, x, y).mean())
    assert torch.equal(model.weight.grad, grad) and wrapper.inner_count == 1
    wrapper.update_params(item_losses(model, x, y).sum(), num_items=2)  # the window completes normally
    assert wrapper.inner_count == 2 and model.weight.grad is None
    other = OptimWrapper(torch.optim.SGD(make_model().parameters(), lr=0.1), accumulative_counts=2)
    other.update_params(item_losses(model, x, y).mean())
    with pytest.raises(ValueError, match="without num_items"):
        other.backward(item_losses(model, x, y).sum(), num_items=2)


@pytest.mark.parametrize(
    ("num_items", "exc"), [(-1, ValueError), (1.5, TypeError), (True, TypeError), (torch.ones(2), TypeError)]
)
def test_invalid_num_items_is_refused_before_backward(num_items, exc):
    model = make_model()
    wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1))
    x, y = make_data([2], 0)
    with pytest.raises(exc, match="num_items"):
        wrapper.update_params(item_losses(model, x, y).sum(), num_items=num_items)
    assert model.weight.grad is None and wrapper.inner_count == 0


# ---------------------------------------------------------------------- DDP
DDP_COUNTS = {0: [1, 3], 1: [5, 2]}


def _ddp_items_worker(rank: int, out_dir: str) -> None:
    import datetime
    import os

    import torch.distributed as dist

    os.environ.update(GLOO_SOCKET_IFNAME="lo")
    dist.init_process_group(
        "gloo",
        init_method=f"file://{os.path.join(out_dir, 'rendezvous')}",
        rank=rank,
        world_size=2,
        timeout=datetime.timedelta(seconds=60),
    )
    try:
        x, y = make_data(DDP_COUNTS[0] + DDP_COUNTS[1], 7)
        lo = 0 if rank == 0 else sum(DDP_COUNTS[0])
        counts = DDP_COUNTS[rank]
        x, y = x[lo : lo + sum(counts)], y[lo : lo + sum(counts)]
        model = nn.parallel.DistributedDataParallel(make_model())
        wrapper = OptimWrapper(
            torch.optim.SGD(model.parameters(), lr=0.1), accumulative_counts=2, clip_grad=dict(max_norm=0.5)
        )
        for xs, ys, n in zip(split(x, counts), split(y, counts), counts, strict=True):
            with wrapper.optim_context(model):
                losses = item_losses(model, xs, ys)
            wrapper.update_params(losses.sum(), num_items=n)
        result = {k: v.detach().clone() for k, v in model.module.state_dict().items()}
        result["grad_norm"] = wrapper.last_step.grad_norm
        torch.save(result, os.path.join(out_dir, f"rank{rank}.pt"))
        dist.barrier()
    finally:
        dist.destroy_process_group()


@pytest.mark.distributed
@pytest.mark.slow
def test_ddp_ranks_with_different_item_counts_equal_the_big_batch(tmp_path):
    import time

    import torch.multiprocessing as mp

    context = mp.spawn(_ddp_items_worker, args=(str(tmp_path),), nprocs=2, join=False)
    deadline = time.monotonic() + 120
    while not context.join(timeout=5):
        if time.monotonic() > deadline:
            for process in context.processes:
                process.kill()
            pytest.fail("DDP workers did not finish within 120 s")
    r0, r1 = (torch.load(tmp_path / f"rank{r}.pt") for r in (0, 1))
    x, y = make_data(DDP_COUNTS[0] + DDP_COUNTS[1], 7)
    ref = make_model()
    opt = torch.optim.SGD(ref.parameters(), lr=0.1)
    item_losses(ref, x, y).mean().backward()
    norm = torch.nn.utils.clip_grad_norm_(ref.parameters(), 0.5)
    opt.step()
    for result in (r0, r1):
        torch.testing.assert_close(result["weight"], ref.weight.detach())
        torch.testing.assert_close(result["bias"], ref.bias.detach())
        torch.testing.assert_close(result["grad_norm"], norm.float())


def test_zero_grad_mid_window_forgets_the_item_count():
    counts = [3, 2]
    x, y = make_data(counts, 4)
    model = make_model()
    wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1), accumulative_counts=2)
    wrapper.backward(item_losses(model, x[:3], y[:3]).sum(), num_items=3)
    wrapper.zero_grad()  # drop that micro-batch: its items go with its gradients
    wrapper.backward(item_losses(model, x[3:], y[3:]).sum(), num_items=2)
    wrapper.step()
    ref = make_model()
    opt = torch.optim.SGD(ref.parameters(), lr=0.1)
    item_losses(ref, x[3:], y[3:]).mean().backward()
    opt.step()
    torch.testing.assert_close(model.weight, ref.weight)
