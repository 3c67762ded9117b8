"""optax's options on the torch-named aliases: ``optimtx.adam(eps_root=..., nesterov=...)``, weight-decay ``mask``.

The stored optax trajectories (tests/reference_data/optax_ns_reference.json, float64, six steps) are run
through the torch-style factories with the same hyperparameters in torch's names; plus the error paths.
"""

from __future__ import annotations

import json
import pathlib

import pytest
import torch

import optimtx

DATA = json.loads((pathlib.Path(__file__).parent / "reference_data" / "optax_ns_reference.json").read_text())
CASES = {c["name"]: c for c in DATA["cases"] if c["kind"] == "tx"}
MASK = {"a": True, "b": False, "c": True, "d": False}

# optax case name -> the torch-named factory with the same hyperparameters.
TORCH_NAMED = {
    "adam": lambda: optimtx.adam(0.1),
    "adam_options": lambda: optimtx.adam(0.05, betas=(0.8, 0.99), eps=1e-4, eps_root=1e-6, nesterov=True),
    "adamw": lambda: optimtx.adamw(0.1, weight_decay=1e-4),
    "adamw_mask": lambda: optimtx.adamw(0.05, weight_decay=0.1, mask=MASK),
    "lion_mask": lambda: optimtx.lion(0.02, betas=(0.8, 0.95), weight_decay=0.1, mask=MASK),
}


def _tensors(tree):
    return {k: torch.tensor(v, dtype=torch.float64) for k, v in tree.items()}


@pytest.mark.parametrize("name", sorted(TORCH_NAMED))
def test_torch_named_alias_matches_optax(name):
    case = CASES[name]
    tx = TORCH_NAMED[name]()
    params = _tensors(case["params"])
    state = tx.init(params)
    for step, grads in enumerate(case["grads"]):
        updates, state = tx.update(_tensors(grads), state, params)
        params = optimtx.apply_updates(params, updates)
        for k, want in _tensors(case["expected"][step]).items():
            where = f"{name} params[{k!r}] after step {step}"
            torch.testing.assert_close(params[k], want, rtol=1e-10, atol=1e-13, msg=lambda m, w=where: f"{w}: {m}")


def test_a_callable_mask_equals_its_dict():
    params = _tensors(CASES["lion_mask"]["params"])
    grads = _tensors(CASES["lion_mask"]["grads"][0])
    as_dict = optimtx.adamw(0.05, weight_decay=0.1, mask=MASK)
    as_fn = optimtx.adamw(0.05, weight_decay=0.1, mask=lambda p: MASK)
    want = as_dict.update(grads, as_dict.init(params), params)[0]
    got = as_fn.update(grads, as_fn.init(params), params)[0]
    assert all(torch.equal(got[k], want[k]) for k in want)


def test_defaults_keep_todays_update():
    p = {"w": torch.tensor([1.0, -2.0], dtype=torch.float64)}
    g = {"w": torch.tensor([0.3, 0.4], dtype=torch.float64)}
    for plain, explicit in (
        (optimtx.adamw(0.1), optimtx.adamw(0.1, eps_root=0.0, nesterov=False, mask=None)),
        (optimtx.adam(0.1, weight_decay=0.1), optimtx.adam(0.1, weight_decay=0.1, mask=None)),
    ):
        assert torch.equal(plain.update(g, plain.init(p), p)[0]["w"], explicit.update(g, explicit.init(p), p)[0]["w"])


@pytest.mark.parametrize(
    "factory",
    [optimtx.sgd, optimtx.adam, optimtx.adamw, optimtx.adamax, optimtx.rmsprop, optimtx.adagrad, optimtx.lion],
)
def test_a_mask_that_is_not_a_dict_or_callable_is_refused(factory):
    with pytest.raises(TypeError, match=r"mask must be a dict of parameter name -> bool or a callable.*\[True\]"):
        factory(0.1, weight_decay=0.1, mask=[True])


def test_eps_root_and_nesterov_are_checked():
    with pytest.raises(ValueError, match="eps_root"):
        optimtx.adam(0.1, eps_root=-1.0)
    with pytest.raises(TypeError, match="nesterov"):
        optimtx.adamw(0.1, nesterov=1)
