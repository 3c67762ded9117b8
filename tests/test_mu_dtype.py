"""``mu_dtype``: momentum stored in a lower precision, computed in the gradients' dtype."""

from __future__ import annotations

import io

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import optimtx as otx
from optimtx.core.state_tree import iter_nodes
from optimtx.core.validation import check_state_dtype
from tests.strategies import gradient_runs

FACTORIES = {
    "adam": lambda **kw: otx.adam(lr=1e-2, weight_decay=1e-2, **kw),
    "adamw": lambda **kw: otx.adamw(lr=1e-2, **kw),
    "adamw_amsgrad": lambda **kw: otx.adamw(lr=1e-2, amsgrad=True, **kw),
    "sgd": lambda **kw: otx.sgd(lr=1e-2, momentum=0.9, nesterov=True, **kw),
    "lion": lambda **kw: otx.lion(lr=1e-3, weight_decay=0.1, **kw),
}


def _momentum(state):
    """The (possibly low-precision) momentum buffers inside any of these factories' states."""
    for node in iter_nodes(state):
        if isinstance(node, (otx.ScaleByAdamState, otx.ScaleByLionState)):
            return node.mu
        if isinstance(node, otx.TraceState):
            return node.trace
    raise AssertionError(f"no momentum in {state!r}")


def _run(tx, params, grads_seq):
    state = tx.init(params)
    for grads in grads_seq:
        updates, state = tx.update(grads, state, params)
        params = otx.apply_updates(params, updates)
    return params, state


@pytest.mark.parametrize("name", list(FACTORIES))
@given(run=gradient_runs(dtype=torch.float32), dtype=st.sampled_from([torch.bfloat16, "bfloat16", torch.float16]))
def test_low_precision_momentum_stays_close_to_float32_and_keeps_its_dtype(name, run, dtype):
    params, grads_seq = run
    want, _ = _run(FACTORIES[name](), params, grads_seq)
    got, state = _run(FACTORIES[name](mu_dtype=dtype), params, grads_seq)
    expected_dtype = check_state_dtype("mu_dtype", dtype)
    assert {v.dtype for v in _momentum(state).values()} == {expected_dtype}
    steps, flipped, total = len(grads_seq), 0, 0
    for k in params:
        assert got[k].dtype == params[k].dtype
        if name == "lion":
            # Lion moves by lr * sign(...): where the interpolation is within a rounding of 0 the sign can
            # flip, a move of 2 * lr per step in that element. Bounded by that, and rare (counted below).
            diff = (got[k] - want[k]).abs()
            assert float(diff.max()) <= steps * 2 * 1e-3 + 1e-6
            flipped += int((diff > 1e-6 + steps * 2e-2 * 1e-3).sum())
            total += diff.numel()
            continue
        # Each step moves a parameter by about lr; a bf16 moment changes that move by a few 2**-8 of it.
        torch.testing.assert_close(got[k], want[k], rtol=0, atol=steps * 2e-2 * 1e-2 + 1e-6)
    assert flipped <= max(1, total // 10)


def test_default_is_the_parameter_dtype_and_float32_mu_dtype_is_a_no_op():
    params = {"w": torch.linspace(-1, 1, 5)}
    grads = [{"w": torch.linspace(1, -1, 5) * i} for i in range(1, 4)]
    plain, plain_state = _run(otx.adamw(1e-2), params, grads)
    same, _ = _run(otx.adamw(1e-2, mu_dtype="float32"), params, grads)
    assert torch.equal(plain["w"], same["w"])
    assert _momentum(plain_state)["w"].dtype == torch.float32


@pytest.mark.parametrize("name", list(FACTORIES))
def test_low_precision_state_round_trips_through_a_weights_only_checkpoint(name):
    tx = FACTORIES[name](mu_dtype=torch.bfloat16)
    params = {"w": torch.randn(3, 2), "b": torch.randn(3)}
    _, state = _run(tx, params, [{k: torch.randn_like(v) for k, v in params.items()} for _ in range(2)])
    buf = io.BytesIO()
    torch.save(otx.state_dict(state), buf)
    buf.seek(0)
    loaded = otx.load_state_dict(tx.init(params), torch.load(buf, weights_only=True))
    for k, v in _momentum(state).items():
        assert _momentum(loaded)[k].dtype == torch.bfloat16
        assert torch.equal(_momentum(loaded)[k], v)


def test_a_float32_checkpoint_does_not_load_into_a_bfloat16_state():
    params = {"w": torch.ones(2)}
    sd = otx.state_dict(otx.adam().init(params))
    with pytest.raises(ValueError, match=r"bfloat16, got .*float32"):
        otx.load_state_dict(otx.adam(mu_dtype="bfloat16").init(params), sd)


@pytest.mark.parametrize("dtype", ["bfloat16", torch.bfloat16])
def test_transform_optimizer_configs_take_mu_dtype(dtype):
    w = torch.nn.Parameter(torch.ones(4, 3))
    opt = otx.TransformOptimizer([w], dict(type="adamw", lr=1e-2, mu_dtype=dtype))
    for _ in range(2):
        w.grad = torch.ones(4, 3)
        opt.step()
    assert _momentum(opt.transform_states[0])["0"].dtype == torch.bfloat16
    fresh = otx.TransformOptimizer([torch.nn.Parameter(torch.ones(4, 3))], dict(type="adamw", lr=1e-2, mu_dtype=dtype))
    fresh.load_state_dict(opt.state_dict())
    assert torch.equal(_momentum(fresh.transform_states[0])["0"], _momentum(opt.transform_states[0])["0"])


@pytest.mark.parametrize(
    "value,exc",
    [("int8", ValueError), ("bfloat", ValueError), (torch.int32, ValueError), (16, TypeError), (True, TypeError)],
)
def test_invalid_mu_dtype_is_refused_before_anything_runs(value, exc):
    for factory in (otx.adam, otx.adamw, otx.sgd, otx.lion):
        kwargs = {"momentum": 0.9} if factory is otx.sgd else {}
        with pytest.raises(exc, match="mu_dtype"):
            factory(mu_dtype=value, **kwargs)
    with pytest.raises(ValueError, match="mu_dtype"):
        otx.TransformOptimizer(
            [torch.nn.Parameter(torch.ones(1))], dict(type="adam", mu_dtype=value if exc is ValueError else "x")
        )
