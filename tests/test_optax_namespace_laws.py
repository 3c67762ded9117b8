"""Laws for ``optimtx.optax``: purity, determinism, the meta device, compile; one rule behind both spellings.

The transforms are the specs of the differential suite (tests/test_optax_namespace_parity.py); the
property tests check that an optax-named alias and the torch-named alias over the same rule agree
(including on inf/nan gradients), so the optax layer is a signature, not a second implementation.
"""

from __future__ import annotations

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import optimtx as otx
import optimtx.optax as optax
from tests.strategies import clone_tree, gradient_runs, trees
from tests.test_optax_namespace_parity import CASES, _build, _tensors

TX_CASES = [c for c in CASES if c["kind"] == "tx"]
COMPILED = ("adam_options", "adamw_mask", "lars_options", "rmsprop_options", "radam", "MultiSteps", "apply_every")
COMPILED += ("conditionally_mask", "inject_hyperparams", "partition", "clip_by_block_rms", "ema")


def _run(tx, params, grads):
    state = tx.init(params)
    out = []
    for g in grads:
        updates, state = tx.update(g, state, params)
        out.append(updates)
        params = optax.apply_updates(params, updates)
    return out, state


@pytest.mark.parametrize("case", TX_CASES, ids=[c["name"] for c in TX_CASES])
def test_update_is_pure_and_deterministic(case):
    params, grads = _tensors(case["params"]), [_tensors(g) for g in case["grads"][:3]]
    kept_params, kept_grads = clone_tree(params), [clone_tree(g) for g in grads]
    first, _ = _run(_build(case["spec"]), params, grads)
    second, _ = _run(_build(case["spec"]), params, grads)
    for a, b in zip(first, second, strict=True):  # bitwise the same (NaN where the other has NaN)
        for k in a:
            torch.testing.assert_close(a[k], b[k], rtol=0, atol=0, equal_nan=True)
    for k in params:
        assert torch.equal(params[k], kept_params[k])
    for g, h in zip(grads, kept_grads, strict=True):
        for k in g:
            torch.testing.assert_close(g[k], h[k], rtol=0, atol=0, equal_nan=True)


def _tensors_in(state):
    if isinstance(state, torch.Tensor):
        return [state]
    if isinstance(state, dict):
        return [t for v in state.values() for t in _tensors_in(v)]
    if isinstance(state, (tuple, list)):
        return [t for v in state for t in _tensors_in(v)]
    return []


@pytest.mark.parametrize("case", TX_CASES, ids=[c["name"] for c in TX_CASES])
def test_state_stays_on_the_parameters_device(case):
    params = {k: torch.empty_like(v, device="meta") for k, v in _tensors(case["params"]).items()}
    tx = _build(case["spec"])
    state = tx.init(params)
    assert all(t.device.type == "meta" for t in _tensors_in(state))
    try:
        updates, state = tx.update({k: torch.empty_like(v) for k, v in params.items()}, state, params)
    except (NotImplementedError, RuntimeError) as err:  # torch kernels without a data-free meta version
        pytest.skip(f"no meta kernel: {err}")
    assert all(t.device.type == "meta" for t in [*updates.values(), *_tensors_in(state)])


@pytest.mark.parametrize("name", COMPILED)
def test_update_compiles_without_graph_breaks(name):
    case = next(c for c in TX_CASES if c["name"] == name)
    tx = _build(case["spec"])
    params, grads = _tensors(case["params"]), [_tensors(g) for g in case["grads"][:2]]
    torch._dynamo.reset()
    compiled = torch.compile(tx.update, fullgraph=True, backend="eager")
    state_eager = state_compiled = tx.init(params)
    for g in grads:
        want, state_eager = tx.update(g, state_eager, params)
        got, state_compiled = compiled(g, state_compiled, params)
        for k in want:
            torch.testing.assert_close(got[k], want[k], equal_nan=True)


HYPER = st.fixed_dictionaries(
    {"lr": st.floats(1e-4, 1.0), "b1": st.floats(0.0, 0.99), "b2": st.floats(0.5, 0.999), "eps": st.floats(1e-10, 1e-2)}
)


def _same_trajectory(a, b, params, grads):
    for ua, ub in zip(_run(a, params, grads)[0], _run(b, params, grads)[0], strict=True):
        for k in ua:
            torch.testing.assert_close(ua[k], ub[k], rtol=1e-12, atol=1e-15, equal_nan=True)


@given(run=gradient_runs(max_steps=4), h=HYPER)
def test_optax_adam_is_the_torch_named_adam(run, h):
    params, grads = run
    _same_trajectory(
        optax.adam(h["lr"], h["b1"], h["b2"], h["eps"]), otx.adam(h["lr"], (h["b1"], h["b2"]), h["eps"]), params, grads
    )


@given(run=gradient_runs(max_steps=4), h=HYPER, wd=st.floats(0.0, 0.5))
def test_optax_adamw_is_the_torch_named_adamw(run, h, wd):
    params, grads = run
    ours = optax.adamw(h["lr"], h["b1"], h["b2"], h["eps"], weight_decay=wd)
    _same_trajectory(ours, otx.adamw(h["lr"], (h["b1"], h["b2"]), h["eps"], weight_decay=wd), params, grads)


@given(run=gradient_runs(max_steps=4), lr=st.floats(1e-4, 1.0), momentum=st.floats(0.05, 0.99), nesterov=st.booleans())
def test_optax_sgd_is_the_torch_named_sgd(run, lr, momentum, nesterov):
    params, grads = run
    _same_trajectory(optax.sgd(lr, momentum, nesterov), otx.sgd(lr, momentum, nesterov=nesterov), params, grads)


@given(params=trees(dtype=torch.float64), grads=trees(nonfinite=True, dtype=torch.float64), h=HYPER)
def test_optax_adamax_is_the_torch_named_adamax_on_nonfinite_gradients(params, grads, h):
    grads = {
        k: torch.randn_like(v) if k not in grads or grads[k].shape != v.shape else grads[k] for k, v in params.items()
    }
    _same_trajectory(
        optax.adamax(h["lr"], h["b1"], h["b2"], h["eps"]),
        otx.adamax(h["lr"], (h["b1"], h["b2"]), h["eps"]),
        params,
        [grads],
    )


@given(params=trees(dtype=torch.float64), h=HYPER)
def test_nadam_is_adam_with_optax_nesterov_moment(params, h):
    """One step by hand: b1 * m / (1 - b1**2) + (1 - b1) * g / (1 - b1) over sqrt(v_hat) + eps."""
    grads = {k: torch.randn_like(v) for k, v in params.items()}
    updates, _ = optax.nadam(h["lr"], h["b1"], h["b2"], h["eps"]).update(grads, optax.nadam(1.0).init(params), params)
    b1, b2 = h["b1"], h["b2"]
    for k, g in grads.items():
        m, v = (1 - b1) * g, (1 - b2) * g * g
        want = -h["lr"] * (b1 * m / (1 - b1**2) + (1 - b1) * g / (1 - b1)) / ((v / (1 - b2)).sqrt() + h["eps"])
        torch.testing.assert_close(updates[k], want, rtol=1e-10, atol=1e-14)


def test_refused_options_name_the_value_and_what_is_accepted():
    with pytest.raises(ValueError, match=r"axis=\(0,\).*axis=None"):
        optax.adaptive_grad_clip(0.1, axis=(0,))
    with pytest.raises(ValueError, match="bias_correction=True"):
        optax.rmsprop(0.1, bias_correction=True)
    with pytest.raises(ValueError, match="mask_compatible_extra_args=True"):
        optax.masked(optax.sgd(0.1), {"w": True}, mask_compatible_extra_args=True)
    with pytest.raises(ValueError, match="reset_state=True"):
        optax.lookahead(optax.sgd(0.1), 2, 0.5, reset_state=True)
    with pytest.raises(ValueError, match="should_skip_update_fn"):
        optax.MultiSteps(optax.sgd(0.1), 2, should_skip_update_fn=optax.skip_not_finite)
    with pytest.raises(ValueError, match="weight_decay"):
        optax.add_decayed_weights(lambda step: -0.1)
    with pytest.raises(TypeError, match="nesterov"):
        optax.radam(0.1, nesterov=1)
    with pytest.raises(ValueError, match="mode"):
        optax.scale_by_lion(mode="soft")


def test_multisteps_reports_when_it_updated():
    ms = optax.MultiSteps(optax.sgd(1.0), every_k_schedule=2)
    state = ms.init({"w": torch.zeros(1)})
    _, state = ms.update({"w": torch.ones(1)}, state)
    assert not ms.has_updated(state)
    updates, state = ms.update({"w": torch.full((1,), 3.0)}, state)
    assert ms.has_updated(state) and torch.equal(updates["w"], torch.tensor([-2.0], dtype=torch.float32))
    assert ms.gradient_transformation().init({"w": torch.zeros(1)}).mini_step == 0


def test_skip_functions_report_like_optax():
    skip, info = optax.skip_not_finite({"w": torch.tensor([1.0, float("nan")])}, torch.tensor(0), None)
    assert bool(skip) and int(info["num_not_finite"]) == 1
    skip, info = optax.skip_large_updates({"w": torch.tensor([3.0, 4.0])}, torch.tensor(0), None, 25.0)
    assert bool(skip) and float(info["norm_squared"]) == 25.0


NEW_TRANSFORMS = [
    "apply_every",
    "conditionally_mask",
    "conditionally_transform",
    "clip_by_block_rms",
    "keep_params_nonnegative",
    "normalize_by_update_norm",
    "scale_by_param_block_norm",
    "scale_by_param_block_rms",
    "ema",
    "freeze",
    "selective_transform",
    "set_to_zero",
    "add_noise",
    "snapshot",
    "monitor",
    "measure_with_ema",
    "flatten",
    "stateless",
    "stateless_with_tree_map",
]


@pytest.mark.parametrize("name", NEW_TRANSFORMS)
def test_new_transforms_are_registered_for_configs(name):
    assert name in otx.TRANSFORMS


def test_configs_and_transform_optimizer_reach_the_new_rules():
    cfg = dict(type="chain", transforms=[dict(type="clip_by_block_rms", threshold=1.0), dict(type="ema", decay=0.5)])
    tx = otx.TRANSFORMS.build(cfg)
    updates, _ = tx.update({"w": torch.tensor([3.0, -3.0])}, tx.init({"w": torch.zeros(2)}))
    torch.testing.assert_close(updates["w"], torch.tensor([1.0, -1.0]))  # clipped to RMS 1, debiased average
    w = torch.nn.Parameter(torch.tensor([1.0, 2.0]))
    opt = otx.TransformOptimizer([w], optax.chain(optax.add_noise(0.0, 0.55, key=1), optax.adamw(0.1)))
    w.grad = torch.tensor([1.0, -1.0])
    opt.step()
    torch.testing.assert_close(w.detach(), torch.tensor([1.0 - 0.1 - 1e-5, 2.0 + 0.1 - 2e-5]))


def test_flatten_refuses_updates_that_do_not_match_the_params():
    tx = optax.flatten(optax.sgd(0.1, momentum=0.9))
    params = {"a": torch.ones(2), "b": torch.ones(3)}
    state = tx.init(params)
    with pytest.raises(ValueError, match=r"order|unexpected|missing"):
        tx.update({"b": torch.ones(3), "a": torch.ones(2)}, state, params)
    updates, _ = tx.update({"a": torch.ones(2), "b": torch.full((3,), 2.0)}, state, params)
    assert torch.equal(updates["b"], torch.full((3,), -0.2))


def test_hyperparam_dtype_sets_the_stored_dtype_and_is_checked():
    tx = optax.inject_hyperparams(optax.adam, hyperparam_dtype=torch.float64)(learning_rate=0.1)
    state = tx.init({"w": torch.ones(2)})
    assert state.hyperparams["learning_rate"].dtype == torch.float64
    with pytest.raises(TypeError, match="hyperparam_dtype"):
        optax.inject_hyperparams(optax.adam, hyperparam_dtype=torch.int32)
