"""optax-written steps through ``optimtx.optax`` against optax on JAX (float64), from stored trajectories.

tests/reference_data/make_optax_ns_reference.py runs every spec with optax and stores the results
(optax_ns_reference.json); here the same spec is built with ``optimtx.optax`` and compared after every
step. Specs name functions and arguments in plain data, so one spec drives both sides.
"""

from __future__ import annotations

import json
import pathlib

import pytest
import torch

import optimtx.optax as optax

DATA = json.loads((pathlib.Path(__file__).parent / "reference_data" / "optax_ns_reference.json").read_text())
CASES = DATA["cases"]
FNS = {"step_ge_2": lambda step: step >= 2, "even_step": lambda step: step % 2 == 0}


class Halving:
    """The generator's stateful schedule (optax's protocol, plain Python floats): ``start * 0.5**step``."""

    def __init__(self, start):
        self.start = start

    def init(self):
        return 1.0

    def update(self, state, **extra):
        return state * 0.5

    def __call__(self, state, **extra):
        return self.start * state


STATEFUL = {"halving": Halving(0.2)}
RTOL = 1e-10  # float64: a few roundings apart (operations are grouped differently than in XLA)
# optax evaluates a schedule (and adafactor's decay) inside a transform on its int32 counter, which JAX turns into
# float32: there the reference itself is only float32-accurate (optimtx computes these in float64).
SCHEDULED_RTOL = 1e-6


def _build(spec):
    if isinstance(spec, dict) and "tx" in spec:
        if spec["tx"] in ("inject_hyperparams", "inject_stateful_hyperparams"):
            kwargs = {k: _build(v) for k, v in spec["kwargs"]["kwargs"].items()}
            return getattr(optax, spec["tx"])(getattr(optax, spec["args"][0]))(**kwargs)
        fn = getattr(optax, spec["tx"])
        return fn(*[_build(a) for a in spec["args"]], **{k: _build(v) for k, v in spec["kwargs"].items()})
    if isinstance(spec, dict) and "schedule" in spec:
        kwargs = {k: _build(v) for k, v in spec["kwargs"].items()}
        if "boundaries_and_scales" in kwargs:  # JSON made the step keys strings
            kwargs["boundaries_and_scales"] = {int(b): s for b, s in kwargs["boundaries_and_scales"].items()}
        return getattr(optax.schedules, spec["schedule"])(**kwargs)
    if isinstance(spec, dict) and "fn" in spec:
        return FNS[spec["fn"]]
    if isinstance(spec, dict) and "stateful" in spec:
        return STATEFUL[spec["stateful"]]
    if isinstance(spec, dict) and "wrapped" in spec:
        return optax.WrappedSchedule(_build(spec["wrapped"]))
    if isinstance(spec, dict) and "dtype" in spec:
        return getattr(torch, spec["dtype"])

    if isinstance(spec, dict):
        return {k: _build(v) for k, v in spec.items()}
    if isinstance(spec, list) and len(spec) == 2 and isinstance(spec[0], str) and isinstance(spec[1], dict):
        return (spec[0], _build(spec[1]))
    if isinstance(spec, list):
        return [_build(v) for v in spec]
    return spec


def _tensors(tree):
    return {k: torch.tensor(v, dtype=torch.float64) for k, v in tree.items()}


def _close(got, want, what, rtol=RTOL):
    atol = rtol * 1e-3 if rtol == RTOL else rtol * 0.1
    torch.testing.assert_close(got, want, rtol=rtol, atol=atol, equal_nan=True, msg=lambda m: f"{what}: {m}")


def _scheduled(spec) -> bool:
    text = json.dumps(spec)
    return "schedule" in text or "factored" in text or "adafactor" in text


def _cases(kind):
    chosen = [c for c in CASES if c["kind"] == kind]
    return pytest.mark.parametrize("case", chosen, ids=[c["name"] for c in chosen])


@pytest.fixture
def float64_default():
    """optax's reference runs in float64 throughout; schedule values follow torch's default dtype."""
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(before)


@_cases("tx")
def test_transform_trajectory_matches_optax(case, float64_default):
    tx = _build(case["spec"])
    params = _tensors(case["params"])
    state = tx.init(params)
    rtol = SCHEDULED_RTOL if _scheduled(case["spec"]) else RTOL
    for step, grads in enumerate(case["grads"]):
        updates, state = tx.update(_tensors(grads), state, params)
        params = optax.apply_updates(params, updates)
        want = _tensors(case["expected"][step])
        for k in want:
            _close(params[k], want[k], f"{case['name']} params[{k!r}] after step {step}", rtol)


@_cases("schedule")
def test_schedule_matches_optax_at_int_and_tensor_steps(case):
    schedule = _build(case["spec"])
    for step, want in enumerate(case["expected"]):
        _close(
            torch.tensor(schedule(step), dtype=torch.float64), torch.tensor(want, dtype=torch.float64), f"step {step}"
        )
        got = schedule(torch.tensor(step))  # a 0-d tensor step: a 0-d tensor in the default dtype
        assert isinstance(got, torch.Tensor) and got.ndim == 0
        torch.testing.assert_close(got.double(), torch.tensor(want, dtype=torch.float64), rtol=1e-6, atol=1e-7)


def _tree_arg(value, tree, other):
    if value == "other":
        return other
    if isinstance(value, str) and value.startswith("full:"):
        return {k: torch.full_like(v, float(value[5:])) for k, v in tree.items()}
    return value


@_cases("projection")
def test_projection_matches_optax(case):
    _check_function(optax.projections, case)


@_cases("tree")
def test_tree_utils_match_optax(case):
    _check_function(optax.tree_utils, case)


def _check_function(module, case):
    tree, other = _tensors(case["tree"]), _tensors(case["other"])
    args = {k: _tree_arg(v, tree, other) for k, v in case["kwargs"].items()}
    given = tree["c"] if case["name"].endswith("_single") else tree
    before = {k: v.clone() for k, v in tree.items()}
    got = getattr(module, case["fn"])(**{case["first"]: given}, **args)
    want = case["expected"]
    if isinstance(want, dict):
        for k, v in _tensors(want).items():
            _close(got[k], v, f"{case['name']}[{k!r}]")
    else:
        _close(torch.as_tensor(got, dtype=torch.float64), torch.tensor(want, dtype=torch.float64), case["name"])
    for k in tree:  # pure: the inputs are untouched
        assert torch.equal(tree[k], before[k])


def test_the_reference_covers_every_present_transform_family():
    names = {c["spec"]["tx"] for c in CASES if c["kind"] == "tx"}
    assert {"adam", "adamw", "sgd", "lion", "lamb", "lars", "rmsprop", "radam", "MultiSteps", "partition"} <= names
    assert {c["name"] for c in CASES if c["kind"] == "schedule"} >= {"sgdr_schedule", "cosine_onecycle_schedule"}
