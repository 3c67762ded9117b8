"""Low-bit optimizer state (``quantize_state``): the quantizer's error bound, the wrapper's laws, resume, bytes."""

from __future__ import annotations

import io
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import optimtx as otx
from optimtx.core.state_tree import iter_nodes
from optimtx.transforms.low_bit import (
    dequantize_many,
    max_error,
    quantization_table,
    quantize_many,
)
from tests.strategies import gradient_runs

FACTORIES = {
    "adamw": lambda: otx.adamw(1e-2, weight_decay=1e-2),
    "adam_amsgrad": lambda: otx.adam(1e-2, amsgrad=True),
    "lion": lambda: otx.lion(1e-3, weight_decay=0.1),
    "sgd": lambda: otx.sgd(1e-2, momentum=0.9, nesterov=True),
    "muon": lambda: otx.muon_with_adamw(lr=0.02, adamw_lr=1e-2, flatten_nd=True),
}


@pytest.mark.parametrize("bits", [8, 4])
@pytest.mark.parametrize("signed", [True, False])
def test_tables_are_sorted_unique_in_range_and_fit_the_codes(bits, signed):
    table = quantization_table(bits, signed)
    assert list(table) == sorted(set(table)) and len(table) <= 2**bits
    assert table[-1] == 1.0 and (table[0] == -1.0 if signed else table[0] > 0)  # unsigned: no zero on purpose
    assert (0.0 in table) == signed


@settings(max_examples=40)
@given(
    bits=st.sampled_from([8, 4]),
    block=st.sampled_from([2, 8, 64]),
    shape=st.lists(st.integers(1, 9), min_size=0, max_size=3).map(tuple),
    scale=st.sampled_from([1e-12, 1e-3, 1.0, 1e6]),
    non_negative=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_read_back_values_are_within_the_documented_bound_of_their_block(bits, block, shape, scale, non_negative, seed):
    x = torch.randn(shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64) * scale
    x = x.abs() if non_negative else x
    (q,) = quantize_many([x], bits, block)
    (y,) = dequantize_many([q], bits)
    assert y.shape == x.shape and y.dtype == x.dtype and q.codes.dtype == torch.uint8
    flat_x, flat_y = x.reshape(-1), y.reshape(-1)
    for start in range(0, flat_x.numel(), block):
        xs, ys = flat_x[start : start + block], flat_y[start : start + block]
        absmax = xs.abs().max()
        bound = max_error(bits, signed=bool((xs < 0).any())) * absmax
        assert float((xs - ys).abs().max()) <= float(bound) * (1 + 1e-6) + 1e-300
        assert float(ys.abs().max()) == pytest.approx(float(absmax), rel=1e-6)  # the block maximum is exact
    if non_negative:
        assert bool((y > 0).all() | (x == 0).all())  # a non-negative block never reads back a zero


def test_non_finite_values_poison_only_their_block():
    x = torch.ones(8)
    x[1] = float("nan")
    (y,) = dequantize_many(quantize_many([x], 8, 4), 8)
    assert torch.isnan(y[:4]).all() and torch.equal(y[4:], torch.ones(4))


def test_a_complex_tensor_is_quantized_as_its_real_view():
    z = torch.randn(5, 3, dtype=torch.complex64)
    (q,) = quantize_many([z], 8, 4)
    (back,) = dequantize_many([q], 8)
    (real,) = dequantize_many(quantize_many([torch.view_as_real(z)], 8, 4), 8)
    assert back.dtype == torch.complex64 and back.shape == z.shape
    assert torch.equal(torch.view_as_real(back), real)


def test_many_tensors_are_quantized_as_each_alone():
    tensors = [torch.randn(5, 3), torch.randn(7).abs(), torch.randn(2, 2, 2, dtype=torch.bfloat16)]
    together = dequantize_many(quantize_many(tensors, 4, 4), 4)
    alone = [dequantize_many(quantize_many([t], 4, 4), 4)[0] for t in tensors]
    for a, b in zip(together, alone, strict=True):
        assert a.dtype == b.dtype and torch.equal(a, b)


def _run(tx, params, grads_seq, state=None):
    state = tx.init(params) if state is None else state
    for grads in grads_seq:
        updates, state = tx.update(grads, state, params)
        params = otx.apply_updates(params, updates)
    return params, state


def _quantized(state):
    return [n for n in iter_nodes(state) if isinstance(n, otx.QuantizedTensor)]


@pytest.mark.parametrize("name", list(FACTORIES))
@settings(max_examples=8)
@given(run=gradient_runs(dtype=torch.float32, max_steps=4), bits=st.sampled_from([8, 4]))
def test_each_update_is_the_inner_update_on_the_state_read_back(name, run, bits):
    """The wrapper changes nothing but the stored state: updates equal inner's on the dequantized state."""
    params, grads_seq = run
    params = {**params, "kernel": torch.linspace(-1, 1, 24).reshape(2, 3, 2, 2)}
    grads_seq = [{**g, "kernel": torch.full((2, 3, 2, 2), float(i) - 1.5)} for i, g in enumerate(grads_seq)]
    grads_seq[-1]["kernel"] = grads_seq[-1]["kernel"].clone().index_fill_(0, torch.tensor([1]), float("inf"))
    inner, tx = FACTORIES[name](), otx.quantize_state(FACTORIES[name](), bits=bits, min_size=2, block_size=4)
    state = tx.init(params)
    for grads in grads_seq:
        quantized = _quantized(state)
        restored = dequantize_many(quantized, bits)
        plain = otx.transforms.low_bit._replaced(
            state, dict(zip([p for p, _ in otx.transforms.low_bit._quantized_leaves(state)], restored, strict=True))
        )
        want, _ = inner.update(grads, plain, params)
        got, state = tx.update(grads, state, params)
        for k in grads:
            torch.testing.assert_close(got[k], want[k], rtol=0, atol=0, equal_nan=True)
        params = otx.apply_updates(params, got)
    assert _quantized(state)


def test_first_step_equals_the_full_precision_optimizer_bitwise():
    """Zero moments are stored exactly, so the first update is exactly the fp32 one (inf and nan too)."""
    params = {"w": torch.randn(32, 32), "b": torch.randn(32)}
    grads = {"w": torch.randn(32, 32), "b": torch.randn(32)}
    grads["w"][0, :3] = torch.tensor([float("inf"), float("nan"), -float("inf")])
    want, _ = otx.adamw(1e-3).update(grads, otx.adamw(1e-3).init(params), params)
    tx = otx.quantize_state(otx.adamw(1e-3), min_size=0)
    got, _ = tx.update(grads, tx.init(params), params)
    for k in params:
        torch.testing.assert_close(got[k], want[k], rtol=0, atol=0, equal_nan=True)


def test_small_buffers_counters_and_hyperparameters_stay_as_they_were():
    params = {"w": torch.zeros(64, 64), "b": torch.zeros(64)}
    tx = otx.quantize_state(otx.inject_hyperparams(otx.adamw)(lr=1e-3), bits=4)
    state = tx.init(params)
    adam = next(n for n in iter_nodes(state) if isinstance(n, otx.ScaleByAdamState))
    assert isinstance(adam.mu["w"], otx.QuantizedTensor) and isinstance(adam.nu["w"], otx.QuantizedTensor)
    assert adam.mu["w"].codes.numel() == 64 * 64 // 2 and adam.mu["w"].absmax.numel() == 64 * 64 // 128
    assert isinstance(adam.mu["b"], torch.Tensor) and adam.count.dtype == torch.int64
    assert float(otx.get_hyperparams(state)["lr"]) == pytest.approx(1e-3)


def test_fields_choose_which_buffers_are_quantized():
    tx = otx.quantize_state(otx.adamw(1e-3), min_size=0, fields=("nu",))
    state = tx.init({"w": torch.zeros(8, 8)})
    assert isinstance(state[0].mu["w"], torch.Tensor) and isinstance(state[0].nu["w"], otx.QuantizedTensor)


@pytest.mark.parametrize("bits,bound", [(8, 2.1), (4, 1.1)])
def test_state_bytes_per_parameter_against_torch_adamw(bits, bound):
    params = {"w": torch.zeros(512, 512), "b": torch.zeros(512)}
    state = otx.quantize_state(otx.adamw(1e-3), bits=bits).init(params)
    n = sum(p.numel() for p in params.values())
    per_param = otx.state_nbytes(state) / n
    torch_adamw = torch.optim.AdamW([torch.nn.Parameter(p.clone()) for p in params.values()])
    for p in torch_adamw.param_groups[0]["params"]:
        p.grad = torch.ones_like(p)
    torch_adamw.step()
    torch_bytes = sum(t.numel() * t.element_size() for s in torch_adamw.state.values() for t in s.values())
    assert torch_bytes / n == pytest.approx(8.0, abs=0.01)
    assert per_param <= bound


def test_resume_from_a_weights_only_checkpoint_continues_bitwise():
    gen = torch.Generator().manual_seed(0)
    params = {"w": torch.randn(48, 40, generator=gen), "b": torch.randn(40, generator=gen)}
    grads_seq = [{k: torch.randn(v.shape, generator=gen) for k, v in params.items()} for _ in range(6)]
    tx = otx.quantize_state(otx.adamw(1e-2), bits=4, min_size=0)
    straight, straight_state = _run(tx, params, grads_seq)
    half, half_state = _run(tx, params, grads_seq[:3])
    buf = io.BytesIO()
    torch.save(otx.state_dict(half_state), buf)
    buf.seek(0)
    loaded = otx.load_state_dict(tx.init(params), torch.load(buf, weights_only=True))
    resumed, resumed_state = _run(tx, half, grads_seq[3:], loaded)
    for k in params:
        assert torch.equal(resumed[k], straight[k])
    assert otx.state_nbytes(resumed_state) == otx.state_nbytes(straight_state)


def test_loading_a_full_precision_checkpoint_is_refused():
    params = {"w": torch.zeros(16, 16)}
    plain = otx.state_dict(otx.adamw(1e-3).init(params))
    with pytest.raises(ValueError, match="expected a dict"):
        otx.load_state_dict(otx.quantize_state(otx.adamw(1e-3), min_size=0).init(params), plain)


@pytest.mark.parametrize("name", ["adamw", "lion", "muon"])
def test_8_bit_state_trains_a_synthetic_regression_as_well_as_full_precision(name):
    """The documented error bound in practice: 150 steps of noisy least squares, final loss within 10 %."""
    gen = torch.Generator().manual_seed(0)
    target = torch.randn(32, 64, generator=gen)

    def loss(p, x):
        return ((x @ p["w"].T + p["b"] - x @ target.T) ** 2).mean()

    batches = [torch.randn(16, 64, generator=gen) for _ in range(150)]
    finals = []
    for tx in (FACTORIES[name](), otx.quantize_state(FACTORIES[name](), min_size=0)):
        p, state = {"w": torch.zeros(32, 64), "b": torch.zeros(32)}, None
        state = tx.init(p)
        for x in batches:
            updates, state = tx.update(torch.func.grad(loss)(p, x), state, p)
            p = otx.apply_updates(p, updates)
        finals.append(float(loss(p, torch.randn(512, 64, generator=gen))))
    assert math.isfinite(finals[1]) and finals[1] <= finals[0] * 1.10 + 1e-3


def test_transform_optimizer_from_a_config_quantizes_and_keeps_lr_in_its_groups():
    w = torch.nn.Parameter(torch.randn(64, 64))
    cfg = dict(type="quantize_state", inner=dict(type="adamw", lr=1e-3), bits=8, min_size=0)
    opt = otx.TransformOptimizer([w], cfg)
    assert opt.param_groups[0]["lr"] == 1e-3
    for _ in range(2):
        w.grad = torch.randn(64, 64)
        opt.step()
    sd = opt.state_dict()
    again = otx.TransformOptimizer([torch.nn.Parameter(w.detach().clone())], cfg)
    again.load_state_dict(sd)
    assert len(_quantized(again._tx_states[0])) == 2


@pytest.mark.parametrize(
    "kwargs,exc,match",
    [
        ({"bits": 3}, ValueError, "bits: 3"),
        ({"bits": True}, ValueError, "bits"),
        ({"block_size": 7}, ValueError, "block_size: 7"),
        ({"min_size": -1}, ValueError, "min_size"),
        ({"fields": "mu"}, TypeError, "fields"),
    ],
)
def test_invalid_arguments_are_refused(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        otx.quantize_state(otx.adamw(1e-3), **kwargs)
    with pytest.raises(TypeError, match="GradientTransformation"):
        otx.quantize_state("adamw")
