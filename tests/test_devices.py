"""The device matrix: states live on their parameters' device and updates never sync with the host.

Legs: ``cpu`` always, ``cuda`` when a GPU is present (skipped otherwise), and ``meta`` (no
data at all) for "every state follows its parameters" over the whole transform table. On
CUDA the update and step paths run under ``torch.cuda.set_sync_debug_mode("error")``, so
any blocking device -> host read fails the test. On the CPU a cheaper proxy runs: the
Python-level host reads (``.item()``, ``bool()``, ``float()``, ``int()``, ``.tolist()``)
are made to raise during ``update``.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterator
from typing import Any

import pytest
import torch
from torch import Tensor, nn

import optimtx as otx
from optimtx.core.state_tree import map_tensors, params_device, wide_float
from optimtx.wrapper.amp_optim_wrapper import AmpOptimWrapper
from optimtx.wrapper.loss_scaler import LossScaler
from tests.transform_table import TABLE

IDS = [c.name for c in TABLE]
HAS_CUDA = torch.cuda.is_available()
needs_cuda = pytest.mark.skipif(not HAS_CUDA, reason="needs a CUDA device")
DEVICES = ["cpu", pytest.param("cuda", marks=needs_cuda)]  # the cuda leg shows as skipped without a GPU
META_ITEM = "cannot be called on meta tensors"


def _tensors(state: Any) -> list[Tensor]:
    found: list[Tensor] = []
    map_tensors(lambda t: found.append(t) or t, state)
    return found


def _params(device: str) -> dict[str, Tensor]:
    gen = torch.Generator().manual_seed(0)
    params = {"w": torch.randn(3, 2, generator=gen), "b": torch.randn(2, generator=gen)}
    return {k: v.to(device) for k, v in params.items()}


def _grads(params: dict[str, Tensor], seed: int) -> dict[str, Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return {k: torch.randn(v.shape, generator=gen).to(v.device) for k, v in params.items()}


def _syncs_on_purpose(case) -> bool:
    """``error_if_nonfinite=True`` reads the norm on the host by contract (documented)."""
    return bool(case.kwargs.get("error_if_nonfinite", False))


@contextlib.contextmanager
def _no_sync(device: str) -> Iterator[None]:
    """On CUDA, make every blocking device -> host transfer an error for the duration."""
    if device != "cuda":
        yield
        return
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        yield
    finally:
        torch.cuda.set_sync_debug_mode("default")


@contextlib.contextmanager
def _host_reads_raise(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("update read a tensor back to the host")

    with monkeypatch.context() as patch:
        for name in ("item", "__bool__", "__float__", "__int__", "tolist"):
            patch.setattr(Tensor, name, refuse)
        yield


# ------------------------------------------------------------------------------ meta
@pytest.mark.parametrize("case", TABLE, ids=IDS)
def test_init_on_meta_params_gives_meta_states(case):
    tx = case.factory(**case.kwargs)
    state = tx.init(_params("meta"))
    assert all(t.device.type == "meta" for t in _tensors(state)), [t.device for t in _tensors(state)]


@pytest.mark.parametrize("case", TABLE, ids=IDS)
def test_update_on_meta_keeps_updates_and_states_on_meta(case):
    tx = case.factory(**case.kwargs)
    params = _params("meta")
    try:
        updates, state = tx.update({k: torch.ones_like(v) for k, v in params.items()}, tx.init(params), params)
    except RuntimeError as err:
        if META_ITEM not in str(err):
            raise
        # torch's meta kernel for _foreach_add_(tensors, 0-d tensor) reads the scalar with .item();
        # the CPU and CUDA kernels do not (the CUDA one reads it on the device).
        pytest.skip(f"torch has no data-free meta kernel for an op this update uses: {err}")
    assert list(updates) == list(params)
    assert all(t.device.type == "meta" for t in [*updates.values(), *_tensors(state)])


def test_params_device_and_wide_float():
    assert params_device({}) is None
    assert params_device({"w": torch.ones(1, device="meta")}) == torch.device("meta")
    assert wide_float("cpu") == wide_float(torch.device("cuda")) == torch.float64
    assert wide_float("mps") == torch.float32  # mps has no float64: step scalars fall back to float32
    assert otx.clip_by_global_norm(1.0).init({}).norm.device == torch.empty(0).device


def test_bias_correction_and_momentum_scalars_live_next_to_the_count():
    from optimtx.transforms.adam import bias_correction

    count = torch.zeros((), dtype=torch.int64, device="meta")
    corrected = bias_correction(0.9, count)
    assert corrected.device.type == "meta" and corrected.dtype == torch.float64


# --------------------------------------------------------------------- cpu and cuda
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("case", TABLE, ids=IDS)
def test_states_and_updates_stay_on_the_params_device(device, case):
    tx = case.factory(**case.kwargs)
    params = _params(device)
    state = tx.init(params)
    grads = [_grads(params, seed) for seed in (1, 2)]  # made before: a host -> device copy blocks
    with _no_sync("cpu" if _syncs_on_purpose(case) else device):
        for g in grads:
            updates, state = tx.update(g, state, params)
    everything = [*updates.values(), *_tensors(state)]
    assert all(t.device.type == device for t in everything), [t.device for t in everything]


@pytest.mark.parametrize("case", TABLE, ids=IDS)
def test_update_reads_nothing_back_to_the_host(case, monkeypatch):
    if _syncs_on_purpose(case):
        pytest.skip("error_if_nonfinite=True reads the norm on the host by contract")
    tx = case.factory(**case.kwargs)
    params = _params("cpu")
    state = tx.init(params)
    grads = [_grads(params, seed) for seed in (1, 2)]
    with _host_reads_raise(monkeypatch):
        for g in grads:
            _, state = tx.update(g, state, params)


@pytest.mark.parametrize("device", DEVICES)
def test_loss_scaler_state_follows_the_gradients_and_stays_there(device):
    p = nn.Parameter(torch.ones(3, device=device))
    opt = torch.optim.SGD([p], lr=0.1)
    scaler = LossScaler(init_scale=4.0, growth_interval=1)
    for step in range(3):
        scaler.scale((p * 2).sum()).backward()
        if step == 0:
            first = scaler.scale_tensor
        scaler.step(opt)
        scaler.update()
        opt.zero_grad()
        assert scaler.scale_tensor.device.type == device
        assert scaler._growth_tracker.device.type == device
        assert scaler.scale_tensor is first  # updated in place, never re-created or moved back


def test_loss_scaler_meets_gradients_first_in_record_found_inf():
    scaler = LossScaler(init_scale=8.0)
    scaler.record_found_inf(torch.ones((), device="meta"))
    assert scaler.scale_tensor.device.type == "meta" and scaler._growth_tracker.device.type == "meta"


# ------------------------------------------------------------------------- cuda only
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("fused", [False, True], ids=["foreach", "fused"])
def test_fp16_amp_wrapper_equals_grad_scaler_step_for_step(device, fused):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 2)).to(device)
    reference = copy.deepcopy(model)
    kwargs = dict(lr=1e-2, weight_decay=0.1, **({"fused": True} if fused else {"foreach": True}))
    wrapper = AmpOptimWrapper(
        optimizer=torch.optim.AdamW(model.parameters(), **kwargs),
        dtype="float16",
        loss_scale=dict(init_scale=2.0**10, growth_interval=2),
    )
    ref_opt = torch.optim.AdamW(reference.parameters(), **kwargs)
    scaler = torch.amp.GradScaler(device, init_scale=2.0**10, growth_interval=2)
    overflow_steps = {2, 5, 6}
    for step in range(9):
        x = torch.randn(4, 8, device=device)
        with wrapper.optim_context(model):
            loss = model(x).float().pow(2).mean()
        wrapper.backward(loss)
        with torch.autocast(device, dtype=torch.float16):
            ref_loss = reference(x).float().pow(2).mean()
        scaler.scale(ref_loss).backward()
        if step in overflow_steps:  # the same inf in both: both must skip and back off
            next(model.parameters()).grad[0, 0] = float("inf")
            next(reference.parameters()).grad[0, 0] = float("inf")
        wrapper.step()
        wrapper.zero_grad()
        scaler.step(ref_opt)
        scaler.update()
        ref_opt.zero_grad()
        assert wrapper.loss_scaler.get_scale() == scaler.get_scale(), step
        assert wrapper.step_was_skipped == (step in overflow_steps)
        for mine, theirs in zip(model.parameters(), reference.parameters(), strict=True):
            torch.testing.assert_close(mine, theirs)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("clip", [None, dict(max_norm=0.5)], ids=["no-clip", "clip"])
def test_fused_amp_step_never_syncs_and_equals_the_eager_twin(device, clip):
    torch.manual_seed(0)
    model = nn.Linear(16, 4).to(device)
    twin = copy.deepcopy(model)
    wrappers = [
        AmpOptimWrapper(optimizer=torch.optim.AdamW(m.parameters(), lr=1e-2, **flag), dtype="float16", clip_grad=clip)
        for m, flag in ((model, {"fused": True}), (twin, {"foreach": True}))
    ]
    batches = [torch.randn(4, 16, device=device) for _ in range(4)]
    for i, x in enumerate(batches):
        for m, w in zip((model, twin), wrappers, strict=True):
            # After the first step (which places the scaler's state on the GPU) the fused path never syncs.
            with _no_sync(device if i and w is wrappers[0] else "cpu"):
                with w.optim_context(m):
                    loss = m(x).float().pow(2).mean()
                w.update_params(loss)
    for mine, theirs in zip(model.parameters(), twin.parameters(), strict=True):
        torch.testing.assert_close(mine, theirs)


@pytest.mark.parametrize("device", DEVICES)
def test_fused_adamw_transform_equals_its_eager_chain(device):
    params = _params(device)
    fused = otx.adamw(lr=1e-2, weight_decay=0.1)
    eager = otx.chain(otx.scale_by_adam(), otx.add_decayed_weights(0.1), otx.scale_by_learning_rate(1e-2))
    sf, se = fused.init(params), eager.init(params)
    for seed in (1, 2, 3):
        g = _grads(params, seed)
        with _no_sync(device):
            uf, sf = fused.update(g, sf, params)
            ue, se = eager.update(g, se, params)
        for k in params:
            torch.testing.assert_close(uf[k], ue[k])
