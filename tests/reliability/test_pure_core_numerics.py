"""Pure core: complex and mixed-dtype parameters, against torch.optim where torch has the optimizer.

torch treats a complex parameter as its real view (``view_as_real``): second moments track
``re(g)**2`` and ``im(g)**2`` separately, never ``g * g``. Mixed dtypes: states keep the dtype
``init`` gave them, parameters keep theirs, and checkpoints keep loading.
"""

from __future__ import annotations

import contextlib

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import optimtx as otx
from optimtx.core.state_tree import map_tensors
from tests.test_optimizers_torch import float64_scalars
from tests.transform_table import TABLE

COMPLEX_PARITY = {
    "sgd": (
        lambda h: otx.sgd(h["lr"], momentum=h["momentum"], weight_decay=h["wd"], nesterov=h["flag"]),
        lambda q, h: torch.optim.SGD(q, h["lr"], momentum=h["momentum"], weight_decay=h["wd"], nesterov=h["flag"]),
    ),
    "adam": (
        lambda h: otx.adam(h["lr"], (h["b1"], h["b2"]), weight_decay=h["wd"], amsgrad=h["flag"]),
        lambda q, h: torch.optim.Adam(q, h["lr"], (h["b1"], h["b2"]), weight_decay=h["wd"], amsgrad=h["flag"]),
    ),
    "adamw": (
        lambda h: otx.adamw(h["lr"], (h["b1"], h["b2"]), weight_decay=h["wd"], amsgrad=h["flag"]),
        lambda q, h: torch.optim.AdamW(q, h["lr"], (h["b1"], h["b2"]), weight_decay=h["wd"], amsgrad=h["flag"]),
    ),
    "adamax": (
        lambda h: otx.adamax(h["lr"], (h["b1"], h["b2"]), weight_decay=h["wd"]),
        lambda q, h: torch.optim.Adamax(q, h["lr"], (h["b1"], h["b2"]), weight_decay=h["wd"]),
    ),
    "rmsprop": (
        lambda h: otx.rmsprop(h["lr"], h["b2"], weight_decay=h["wd"], momentum=h["momentum"], centered=h["flag"]),
        lambda q, h: torch.optim.RMSprop(
            q, h["lr"], h["b2"], weight_decay=h["wd"], momentum=h["momentum"], centered=h["flag"]
        ),
    ),
    "adagrad": (
        lambda h: otx.adagrad(h["lr"], lr_decay=h["wd"], weight_decay=h["wd"], initial_accumulator_value=h["momentum"]),
        lambda q, h: torch.optim.Adagrad(
            q, h["lr"], lr_decay=h["wd"], weight_decay=h["wd"], initial_accumulator_value=h["momentum"]
        ),
    ),
    "radam": (
        lambda h: otx.radam(h["lr"], (h["b1"], h["b2"]), weight_decay=h["wd"], decoupled_weight_decay=h["flag"]),
        lambda q, h: torch.optim.RAdam(
            q, h["lr"], (h["b1"], h["b2"]), weight_decay=h["wd"], decoupled_weight_decay=h["flag"]
        ),
    ),
    "nadam": (
        lambda h: otx.nadam(h["lr"], (h["b1"], h["b2"]), weight_decay=h["wd"], decoupled_weight_decay=h["flag"]),
        lambda q, h: torch.optim.NAdam(
            q, h["lr"], (h["b1"], h["b2"]), weight_decay=h["wd"], decoupled_weight_decay=h["flag"]
        ),
    ),
    "adadelta": (
        lambda h: otx.adadelta(h["lr"] * 10, rho=h["b2"], weight_decay=h["wd"], maximize=h["flag"]),
        lambda q, h: torch.optim.Adadelta(q, h["lr"] * 10, rho=h["b2"], weight_decay=h["wd"], maximize=h["flag"]),
    ),
    "rprop": (
        lambda h: otx.rprop(h["lr"], maximize=h["flag"]),
        lambda q, h: torch.optim.Rprop(q, h["lr"], maximize=h["flag"]),
    ),
    "asgd": (
        lambda h: otx.asgd(h["lr"], lambd=h["wd"], t0=2.0, weight_decay=h["wd"], maximize=h["flag"]),
        lambda q, h: torch.optim.ASGD(q, h["lr"], lambd=h["wd"], t0=2.0, weight_decay=h["wd"], maximize=h["flag"]),
    ),
}

HYPERS = st.fixed_dictionaries(
    {
        "lr": st.sampled_from([1e-3, 0.01, 0.1]),
        "b1": st.sampled_from([0.0, 0.5, 0.9]),
        "b2": st.sampled_from([0.9, 0.99, 0.999]),
        "wd": st.sampled_from([0.0, 0.01, 0.1]),
        "momentum": st.sampled_from([0.0, 0.5, 0.9]),
        "flag": st.booleans(),
    }
)


@pytest.mark.parametrize("name", sorted(COMPLEX_PARITY))
@pytest.mark.parametrize("dtype", [torch.complex64, torch.complex128])
@settings(max_examples=8)
@given(hypers=HYPERS, seed=st.integers(0, 2**16), shape=st.sampled_from([(), (3,), (2, 3)]))
def test_complex_parameters_match_torch(name, dtype, hypers, seed, shape):
    if name == "sgd" and hypers["flag"] and hypers["momentum"] == 0:
        hypers = {**hypers, "flag": False}  # nesterov needs momentum, in torch too
    ours_factory, theirs_factory = COMPLEX_PARITY[name]
    gen = torch.Generator().manual_seed(seed)
    start = torch.randn(shape, dtype=dtype, generator=gen)
    tx = ours_factory(hypers)
    params = {"z": start.clone()}
    state = tx.init(params)
    q = torch.nn.Parameter(start.clone())
    # torch keeps some per-step scalars (NAdam's mu_product, ASGD's eta and mu) in the default dtype.
    with float64_scalars() if dtype == torch.complex128 else contextlib.nullcontext():
        opt = theirs_factory([q], hypers)
        for _ in range(4):
            g = torch.randn(shape, dtype=dtype, generator=gen)
            updates, state = tx.update({"z": g}, state, params)
            params = otx.apply_updates(params, updates)
            q.grad = g.clone()
            opt.step()
    tol = 1e-5 if dtype == torch.complex64 else 1e-10
    torch.testing.assert_close(params["z"], q.detach(), rtol=tol, atol=tol)
    assert params["z"].dtype == dtype


# clip_by_global_norm follows clip_grad_norm_, which takes norms of complex tensors by modulus (the same
# as the real view for the 2-norm, not for the max norm): see test_complex_clipping_matches_torch.
# Masks computed from ndim see the real view's extra dimension, so those cases are left out too.
NOT_REAL_VIEW = {"multi_transform", "masked", "clip_by_global_norm_inf", "add_decayed_weights_masked"}
# Per-tensor and per-unit norms are taken by modulus like clip_grad_norm_ (test_complex_per_tensor_clipping_...);
# units, centring axes and muon's routing follow ndim, which the real view changes. These follow optax/torch on
# the complex tensor itself instead.
NOT_REAL_VIEW |= {"clip_by_norm_per_tensor", "clip_by_norm_per_tensor_inf", "adaptive_grad_clip", "centralize"}
NOT_REAL_VIEW |= {"muon_with_adamw", "muon_with_adamw_nd"}
# Refused for complex parameters, as torch's Adafactor and Muon (and the schedulefree reference) refuse them, and
# a low-precision state dtype has no complex counterpart: see test_complex_parameters_are_refused_where_torch_does.
REFUSES_COMPLEX = {
    "adafactor",
    "adafactor_eps1",
    "schedule_free_adamw",
    "schedule_free_adamw_bf16_state",
    "schedule_free_sgd",
    "schedule_free_wrapper",
    "inject_hyperparams_schedule_free_adamw",
    "adam_bf16_mu",
    "adamw_bf16_mu",
    "sgd_bf16_mu",
    "lion_bf16_mu",
    "ema_biased_bf16",
    "scale_by_factored_rms",
    # the preconditioners: their references refuse complex parameters (SOAP, Kron) or treat them elementwise
    # (MARS), and a Kronecker factor or eigenbasis of a real view is not a complex preconditioner
    *("scale_by_soap", "soap", "scale_by_shampoo", "shampoo", "scale_by_psgd_kron", "psgd_kron"),
    *("scale_by_mars", "mars"),
    # a low-precision state dtype, as adam_bf16_mu above
    *("amsgrad", "ademamix", "scale_by_signum_momentum"),
    # SM3's axes of a real view are not the complex tensor's; a line search evaluates value_fn at complex trial
    # points with a real slope it does not define (lbfgs_zoom ends in the zoom search)
    *("scale_by_sm3", "sm3", "scale_by_backtracking_linesearch", "scale_by_zoom_linesearch", "lbfgs_zoom"),
    # Sophia's Hessian estimate calls obj_fn on the parameters, which a real view would change
    *("sophia", "scale_by_sophia_hutchinson", "hutchinson_estimator_diag_hessian"),
}
NOT_REAL_VIEW |= REFUSES_COMPLEX
REAL_VIEW_LAWS = [c for c in TABLE if c.name not in NOT_REAL_VIEW]


@pytest.mark.parametrize("case", REAL_VIEW_LAWS, ids=[c.name for c in REAL_VIEW_LAWS])
def test_complex_transform_equals_the_transform_on_the_real_view(case):
    """Every transform (lion and the scale_by_* parts included) treats a complex tensor as its real view."""
    tx = case.factory(**case.kwargs)
    gen = torch.Generator().manual_seed(0)
    params = {"z": torch.randn(3, dtype=torch.complex64, generator=gen)}
    real = {"z": torch.view_as_real(params["z"])}
    state, real_state = tx.init(params), tx.init(real)
    for _ in range(3):
        g = torch.randn(3, dtype=torch.complex64, generator=gen)
        u, state = tx.update({"z": g}, state, params)
        ru, real_state = tx.update({"z": torch.view_as_real(g)}, real_state, real)
        assert u["z"].dtype == torch.complex64
        torch.testing.assert_close(torch.view_as_real(u["z"]), ru["z"], rtol=1e-6, atol=1e-7)


def _dtypes(state):
    found = []
    map_tensors(lambda t: found.append(t.dtype) or t, state)
    return found


@pytest.mark.parametrize("case", TABLE, ids=[c.name for c in TABLE])
@pytest.mark.parametrize(
    "param_dtype,grad_dtype", [(torch.bfloat16, torch.float32), (torch.float32, torch.bfloat16)], ids=["bf16p", "f32p"]
)
def test_mixed_dtypes_keep_state_and_parameter_dtypes(case, param_dtype, grad_dtype):
    tx = case.factory(**case.kwargs)
    gen = torch.Generator().manual_seed(1)
    params = {"a": torch.randn(3, 2, generator=gen).to(param_dtype), "b": torch.randn(4, generator=gen).to(param_dtype)}
    state = tx.init(params)
    init_dtypes = _dtypes(state)
    for _ in range(5):
        grads = {k: torch.randn(v.shape, generator=gen).to(grad_dtype) for k, v in params.items()}
        updates, state = tx.update(grads, state, params)
        params = otx.apply_updates(params, updates)
        assert _dtypes(state) == init_dtypes
        assert all(p.dtype == param_dtype for p in params.values())
    # The checkpoint still loads into a fresh state.
    otx.load_state_dict(tx.init(params), otx.state_dict(state))


@pytest.mark.parametrize("name", ["adam", "adamw", "rmsprop", "adagrad", "adamax", "sgd"])
def test_stateful_optimizers_give_updates_in_the_parameter_dtype(name):
    """Like torch: float32 gradients for bfloat16 parameters give bfloat16 updates."""
    tx = COMPLEX_PARITY[name][0]({"lr": 0.1, "b1": 0.9, "b2": 0.99, "wd": 0.1, "momentum": 0.9, "flag": False})
    params = {"w": torch.ones(3, dtype=torch.bfloat16)}
    updates, _ = tx.update({"w": torch.ones(3)}, tx.init(params), params)
    assert updates["w"].dtype == torch.bfloat16


@pytest.mark.parametrize("norm_type", [1.0, 2.0, float("inf")])
def test_complex_clipping_matches_torch(norm_type):
    gen = torch.Generator().manual_seed(3)
    grads = {"z": torch.randn(5, dtype=torch.complex64, generator=gen), "w": torch.randn(3, generator=gen)}
    tx = otx.clip_by_global_norm(0.5, norm_type)
    clipped, _ = tx.update(grads, tx.init(grads))
    params = [torch.nn.Parameter(torch.zeros_like(g)) for g in grads.values()]
    for p, g in zip(params, grads.values(), strict=True):
        p.grad = g.clone()
    torch.nn.utils.clip_grad_norm_(params, 0.5, norm_type)
    for got, p in zip(clipped.values(), params, strict=True):
        torch.testing.assert_close(got, p.grad)


@pytest.mark.parametrize("name", sorted(REFUSES_COMPLEX))
def test_complex_parameters_are_refused_where_torch_does(name):
    case = next(c for c in TABLE if c.name == name)
    tx = case.factory(**case.kwargs)
    with pytest.raises(TypeError, match=r"'z'.*complex"):
        tx.init({"w": torch.zeros(2), "z": torch.zeros(2, dtype=torch.complex64)})


def test_muon_refuses_complex_matrices_like_torch():
    with pytest.raises(ValueError, match="complex"):
        otx.muon().init({"w": torch.zeros(2, 2, dtype=torch.complex64)})


@pytest.mark.parametrize("norm_type", [1.0, 2.0, float("inf")])
def test_complex_per_tensor_clipping_matches_torch(norm_type):
    gen = torch.Generator().manual_seed(4)
    grads = {"z": 3 * torch.randn(5, dtype=torch.complex64, generator=gen), "w": torch.randn(3, generator=gen)}
    tx = otx.clip_by_norm(0.5, norm_type, per_tensor=True)
    clipped, _ = tx.update(grads, tx.init(grads))
    for key, g in grads.items():
        p = torch.nn.Parameter(torch.zeros_like(g))
        p.grad = g.clone()
        torch.nn.utils.clip_grad_norm_([p], 0.5, norm_type)
        torch.testing.assert_close(clipped[key], p.grad)
        assert clipped[key].dtype == g.dtype
