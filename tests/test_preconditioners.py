"""SOAP, Shampoo, PSGD-Kron and MARS beyond reference parity: schedules, randomness, shapes, edges, facades."""

from __future__ import annotations

import math
import runpy
from pathlib import Path

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import optimtx as otx
from optimtx.transforms._probes import gaussian_probe, name_salt
from optimtx.transforms.shampoo import merge_small_dims
from optimtx.transforms.soap import preconditioned_dims
from tests.strategies import trees

OPTIMIZERS = {
    "soap": lambda: otx.soap(lr=1e-2, precondition_frequency=2),
    "shampoo": lambda: otx.shampoo(
        lr=1e-2, block_size=3, start_preconditioning_step=2, preconditioning_compute_steps=2, graft_type="adagrad"
    ),
    "psgd_kron": lambda: otx.psgd_kron(lr=1e-2, weight_decay=1e-2),
    "mars": lambda: otx.mars(lr=1e-2, weight_decay=1e-2),
}


def _run(tx, params, grads_seq):
    state = tx.init(params)
    for grads in grads_seq:
        updates, state = tx.update(grads, state, params)
        params = otx.apply_updates(params, updates)
    return params, state


def _grads(params, steps, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return [{k: torch.randn(v.shape, generator=gen, dtype=v.dtype) for k, v in params.items()} for _ in range(steps)]


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Small eigh/QR calls run ~15x slower with 2 OpenMP threads on a loaded 2-core machine; numerics are
    the same with one."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
@settings(max_examples=8, deadline=None)
@given(tree=trees(max_leaves=3))
def test_finite_gradients_give_finite_updates_of_every_shape(name, tree):
    """0-d, 1-D, 2-D and 3-D leaves (sizes 1 to 5) all work and keep their shapes."""
    params = {k: v.double() for k, v in tree.items()}
    out, _ = _run(OPTIMIZERS[name](), params, _grads(params, 3))
    for k, p in params.items():
        assert out[k].shape == p.shape and out[k].dtype == p.dtype
        assert torch.isfinite(out[k]).all()


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_transform_optimizer_equals_the_pure_chain(name):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(2, 3, 3), torch.nn.Flatten(), torch.nn.Linear(12, 2))
    # PSGD salts its probes with the leaf's name; TransformOptimizer runs a chain's hyperparameter-free head
    # (here scale_by_psgd_kron) over all groups at once, keyed "<group>.<index>".
    key = "0.{}".format if name == "psgd_kron" else "{}".format
    params = {key(i): p.detach().clone() for i, p in enumerate(model.parameters())}
    opt = otx.TransformOptimizer(model.parameters(), OPTIMIZERS[name]())
    x = torch.randn(4, 2, 4, 4)
    grads_seq = []
    for _ in range(4):
        opt.zero_grad()
        model(x).square().mean().backward()
        grads_seq.append({key(i): p.grad.clone() for i, p in enumerate(model.parameters())})
        opt.step()
    want, _ = _run(OPTIMIZERS[name](), params, grads_seq)
    for i, p in enumerate(model.parameters()):
        torch.testing.assert_close(p.detach(), want[key(i)])


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_non_finite_gradient_shows_in_the_update_without_raising(name):
    """eigh/svd would raise on a non-finite statistic; the update carries the nan instead, and apply_if_finite skips."""
    params = {"w": torch.randn(4, 3, dtype=torch.float64), "b": torch.randn(3, dtype=torch.float64)}
    tx = OPTIMIZERS[name]()
    state = tx.init(params)
    grads_seq = _grads(params, 3)
    grads_seq[1]["w"] = grads_seq[1]["w"].clone().index_fill_(0, torch.tensor([1]), float("nan"))
    for grads in grads_seq[:2]:
        updates, state = tx.update(grads, state, params)
    assert not torch.isfinite(updates["w"]).all()
    guarded = otx.apply_if_finite(OPTIMIZERS[name]())
    out, _ = _run(guarded, params, grads_seq)
    assert all(torch.isfinite(v).all() for v in out.values())


@pytest.mark.parametrize(
    "factory", [otx.scale_by_soap, otx.scale_by_shampoo, otx.scale_by_psgd_kron, otx.scale_by_mars]
)
def test_complex_parameters_are_refused(factory):
    with pytest.raises(TypeError, match=r"'z'.*complex.*real view"):
        factory().init({"z": torch.zeros(2, 2, dtype=torch.complex64)})


def test_soap_refreshes_its_bases_every_precondition_frequency_steps():
    params = {"w": torch.randn(4, 3, dtype=torch.float64)}
    tx = otx.scale_by_soap(precondition_frequency=3)
    state = tx.init(params)
    changed = []
    for grads in _grads(params, 8):
        before = state.q["w"]
        _, state = tx.update(grads, state, params)
        changed.append(not all(torch.equal(a, b) for a, b in zip(before, state.q["w"], strict=True)))
    # call 1: eigh of the first statistics; then s = t - 1 = 3, 6 refresh by power iteration + QR.
    assert changed == [True, False, False, True, False, False, True, False]


def test_soap_first_step_only_gathers_statistics():
    params = {"w": torch.randn(3, 3), "s": torch.tensor(1.0)}
    tx = otx.soap(lr=0.1, weight_decay=0.5)
    updates, state = tx.update(_grads(params, 1)[0], tx.init(params), params)
    assert all(torch.equal(u, torch.zeros_like(u)) for u in updates.values())
    assert state[0].count == 1 and torch.equal(state[0].mu["w"], torch.zeros(3, 3))


def test_shampoo_recomputes_roots_only_on_compute_steps_and_grafts_before_start():
    params = {"w": torch.randn(4, 4, dtype=torch.float64)}
    tx = otx.scale_by_shampoo(
        block_size=4, preconditioning_compute_steps=2, start_preconditioning_step=3, nesterov=False
    )
    state = tx.init(params)
    changed, outs = [], []
    grads_seq = _grads(params, 5)
    for grads in grads_seq:
        before = state.roots["w"]
        out, state = tx.update(grads, state, params)
        changed.append(not torch.equal(before[0], state.roots["w"][0]))
        outs.append(out["w"])
    assert changed == [False, True, False, True, False]
    # before step 3 the output is the SGD graft's heavy-ball momentum: g1, then 0.9 * g1 + g2
    torch.testing.assert_close(outs[0], grads_seq[0]["w"])
    torch.testing.assert_close(outs[1], 0.9 * grads_seq[0]["w"] + grads_seq[1]["w"])


def test_merge_small_dims_and_soap_dims_follow_the_documented_rules():
    assert merge_small_dims((64, 3, 3, 3), 128) == [64, 27]  # a conv kernel becomes out x (in * kh * kw)
    assert merge_small_dims((4,), 512) == [1]  # one dimension left: graft only
    assert merge_small_dims((), 512) == [1]
    assert preconditioned_dims(torch.Size([8, 4, 3, 3]), 4, False) == (False, True, True, True)
    assert preconditioned_dims(torch.Size([5]), 10, True) == (True,)


def test_psgd_probes_are_standard_normal_and_reproducible():
    z = gaussian_probe(torch.Size([200, 100]), 3, torch.tensor(7), name_salt("layer.weight"), torch.float64)
    assert abs(z.mean().item()) < 0.02 and abs(z.std().item() - 1) < 0.02
    again = gaussian_probe(torch.Size([200, 100]), 3, torch.tensor(7), name_salt("layer.weight"), torch.float64)
    assert torch.equal(z, again)
    other_step = gaussian_probe(torch.Size([200, 100]), 3, torch.tensor(8), name_salt("layer.weight"), torch.float64)
    assert (z - other_step).abs().mean() > 0.5


@given(seed=st.integers(0, 2**16))
@settings(max_examples=5, deadline=None)
def test_psgd_kron_depends_on_its_seed_and_not_on_leaf_order(seed):
    params = {"a": torch.randn(3, 2, dtype=torch.float64), "b": torch.randn(2, 2, dtype=torch.float64)}
    grads_seq = _grads(params, 2)
    same, _ = _run(otx.psgd_kron(lr=0.1, seed=seed), params, grads_seq)
    again, _ = _run(otx.psgd_kron(lr=0.1, seed=seed), params, grads_seq)
    other, _ = _run(otx.psgd_kron(lr=0.1, seed=seed + 1), params, grads_seq)
    flipped = {k: params[k] for k in ("b", "a")}
    reordered, _ = _run(otx.psgd_kron(lr=0.1, seed=seed), flipped, [{k: g[k] for k in flipped} for g in grads_seq])
    assert all(torch.equal(same[k], again[k]) for k in params)
    assert not torch.equal(same["a"], other["a"])
    assert all(torch.equal(same[k], reordered[k]) for k in params)


def test_psgd_update_probability_counts_like_the_reference():
    params = {"w": torch.randn(3, 3, dtype=torch.float64)}
    tx = otx.scale_by_psgd_kron(preconditioner_update_probability=0.5)
    state = tx.init(params)
    fitted = []
    for grads in _grads(params, 6):
        before = state.q["w"][0]
        _, state = tx.update(grads, state, params)
        fitted.append(not torch.equal(before, state.q["w"][0]))
    assert fitted == [False, True, False, True, False, True]
    _, never = _run(otx.scale_by_psgd_kron(preconditioner_update_probability=0.0), params, _grads(params, 3))
    assert torch.equal(never.q["w"][0], torch.eye(3, dtype=torch.float32))


def test_psgd_refuses_tensors_with_more_than_13_dimensions():
    with pytest.raises(ValueError, match="13 dimensions"):
        otx.scale_by_psgd_kron().init({"w": torch.zeros((1,) * 14)})


def test_mars_lion_type_gives_signs_and_1d_tensors_get_adam():
    params = {"w": torch.randn(3, 3), "b": torch.randn(3)}
    tx = otx.mars(lr=0.1, mars_type="lion", weight_decay=0.0, weight_decay_1d=0.0, lr_1d=0.1)
    updates, _ = tx.update(_grads(params, 1)[0], tx.init(params), params)
    torch.testing.assert_close(updates["w"].abs(), torch.full((3, 3), 0.1))
    torch.testing.assert_close(updates["b"].abs(), torch.full((3,), 0.1), rtol=1e-5, atol=1e-6)


def test_psgd_kron_applies_factors_one_dimension_at_a_time():
    """A single einsum over all factors, without opt_einsum, builds a (256*256*128*128)-entry intermediate here."""
    params = {"w": torch.zeros(256, 128)}
    tx = otx.scale_by_psgd_kron()
    out, state = tx.update({"w": torch.randn(256, 128)}, tx.init(params))
    assert out["w"].shape == (256, 128) and torch.isfinite(out["w"]).all()
    assert [q.shape for q in state.q["w"]] == [(256, 256), (128, 128)]


def test_the_example_trains_with_every_preconditioner_from_configs():
    main = runpy.run_path(str(Path(__file__).resolve().parents[1] / "examples" / "preconditioners.py"))["main"]
    results = main(["--steps", "5"])
    assert set(results) == {"adamw", "soap", "shampoo", "psgd_kron", "mars"}
    for r in results.values():
        assert r["last"] < r["first"]


def test_mars_optimize_1d_keeps_every_state_on_the_parameters_device():
    """With optimize_1d there is no 1-D group: no state is built from an empty tree (on the default device)."""
    params = {"w": torch.zeros(3, 3, device="meta"), "b": torch.zeros(3, device="meta")}
    state = otx.mars(mars_type="lion", optimize_1d=True).init(params)
    devices = {t.device.type for t in otx.core.state_tree.iter_nodes(state) if isinstance(t, torch.Tensor)}
    assert devices == {"meta"}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_resuming_from_a_state_dict_continues_the_same_run(name):
    params = {"w": torch.randn(4, 3, dtype=torch.float64), "b": torch.randn(3, dtype=torch.float64)}
    grads_seq = _grads(params, 5)
    want, _ = _run(OPTIMIZERS[name](), params, grads_seq)
    tx = OPTIMIZERS[name]()
    half, state = _run(tx, params, grads_seq[:3])
    saved = otx.state_dict(state)
    state = otx.load_state_dict(tx.init(params), saved)
    for grads in grads_seq[3:]:
        updates, state = tx.update(grads, state, half)
        half = otx.apply_updates(half, updates)
    for k in params:
        torch.testing.assert_close(half[k], want[k], rtol=0, atol=0)


def test_psgd_default_update_probability_follows_the_reference_formula():
    from optimtx.transforms.psgd import default_update_probability

    for step in (0, 499, 500, 1200, 4000, 10_000):
        want = min(1.0, max(0.03, math.exp(-0.001 * (step - 500))))
        assert default_update_probability(torch.tensor(step)).item() == pytest.approx(want, rel=1e-6)


def test_psgd_update_probability_may_be_a_schedule_of_the_step():
    params = {"w": torch.randn(3, 3, dtype=torch.float64)}
    grads_seq = _grads(params, 5)
    as_number, _ = _run(otx.psgd_kron(lr=0.1, preconditioner_update_probability=0.5), params, grads_seq)
    schedule = otx.psgd_kron(lr=0.1, preconditioner_update_probability=lambda step: torch.tensor(0.5))
    as_schedule, _ = _run(schedule, params, grads_seq)
    torch.testing.assert_close(as_schedule["w"], as_number["w"], rtol=0, atol=0)
