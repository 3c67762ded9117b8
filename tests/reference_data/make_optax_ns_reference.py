"""Regenerate tests/reference_data/optax_ns_reference.json: optax-written steps, run by optax on JAX.

tests/test_optax_namespace_parity.py runs the same specs through ``optimtx.optax`` and compares. Run by
hand with JAX and optax installed (CPU, float64):

    /work/venv-jax/bin/python tests/reference_data/make_optax_ns_reference.py

A spec names an optax function and its arguments in plain data, so both sides build it by name:
``{"tx": name, "args": [...], "kwargs": {...}}`` is a transform, ``{"schedule": name, "kwargs": {...}}`` a
schedule, ``{"fn": name}`` one of the small named callables below (the test defines the same ones).
Transform cases store the parameters after every step (float64, 0-d to 3-d tensors, as nested lists;
JSON keeps float64 exactly and needs no torch here); schedule cases the values at steps 0..N;
projection and tree cases their outputs.
"""

from __future__ import annotations

import json
import pathlib

OUT = pathlib.Path(__file__).with_name("optax_ns_reference.json")
SHAPES = {"a": (), "b": (3,), "c": (4, 3), "d": (2, 3, 2)}
MASK = {"a": True, "b": False, "c": True, "d": False}
LABELS = {"a": "x", "b": "y", "c": "x", "d": "y"}
FNS = {"step_ge_2": lambda step: step >= 2, "even_step": lambda step: step % 2 == 0}
STEPS = 6


class Halving:
    """A stateful schedule (optax's protocol) on plain Python floats, so JAX and torch run the same one."""

    def __init__(self, start):
        self.start = start

    def init(self):
        return 1.0

    def update(self, state, **extra):
        return state * 0.5

    def __call__(self, state, **extra):
        return self.start * state


STATEFUL = {"halving": Halving(0.2)}
F64 = {"dtype": "float64"}


def _sched(name, **kwargs):
    return {"schedule": name, "kwargs": kwargs}


def _tx(name, *args, **kwargs):
    return {"tx": name, "args": list(args), "kwargs": kwargs}


TX_CASES = {
    "sgd": _tx("sgd", 0.1),
    "sgd_momentum_nesterov": _tx("sgd", 0.05, momentum=0.9, nesterov=True),
    "sgd_schedule": _tx("sgd", _sched("cosine_decay_schedule", init_value=0.1, decay_steps=4), momentum=0.5),
    "adam": _tx("adam", 0.1),
    "adam_options": _tx("adam", 0.05, b1=0.8, b2=0.99, eps=1e-4, eps_root=1e-6, nesterov=True),
    "adamw": _tx("adamw", 0.1),
    "adamw_mask": _tx("adamw", 0.05, weight_decay=0.1, mask=MASK),
    "nadam": _tx("nadam", 0.1, eps_root=1e-8),
    "lion": _tx("lion", 0.01),
    "lion_mask": _tx("lion", 0.02, b1=0.8, b2=0.95, weight_decay=0.1, mask=MASK),
    "lamb": _tx("lamb", 0.01),
    "lamb_options": _tx("lamb", 0.05, b1=0.8, eps=1e-4, eps_root=1e-8, weight_decay=0.05, mask=MASK),
    "lars": _tx("lars", 0.5),
    "lars_options": _tx(
        "lars", 0.5, weight_decay=0.01, weight_decay_mask=MASK, trust_ratio_mask=MASK, momentum=0.5, nesterov=True
    ),
    "adamax": _tx("adamax", 0.1, b1=0.8, eps=1e-6),
    "adadelta": _tx("adadelta"),
    "adadelta_options": _tx("adadelta", 0.5, rho=0.8, eps=1e-4, weight_decay=0.1, weight_decay_mask=MASK),
    "adagrad": _tx("adagrad", 0.1),
    "adagrad_options": _tx("adagrad", 0.2, initial_accumulator_value=0.0, eps=1e-3),
    "rmsprop": _tx("rmsprop", 0.01),
    "rmsprop_options": _tx(
        "rmsprop",
        0.01,
        decay=0.8,
        eps=1e-4,
        initial_scale=0.5,
        eps_in_sqrt=False,
        centered=True,
        momentum=0.9,
        nesterov=True,
    ),
    "radam": _tx("radam", 0.1, b2=0.9),
    "radam_options": _tx("radam", 0.1, b1=0.8, b2=0.95, eps=1e-4, eps_root=1e-8, threshold=4.0),
    "radam_nesterov": _tx("radam", 0.05, b1=0.8, b2=0.9, eps_root=1e-8, threshold=4.5, nesterov=True),
    "scale_by_radam_nesterov": _tx("scale_by_radam", b1=0.7, b2=0.8, nesterov=True),
    "adafactor": _tx("adafactor", 0.1, min_dim_size_to_factor=3),
    "adafactor_options": _tx(
        "adafactor",
        None,
        min_dim_size_to_factor=2,
        decay_rate=0.7,
        decay_offset=1,
        clipping_threshold=None,
        momentum=0.9,
        dtype_momentum=F64,
        weight_decay_rate=0.01,
        factored=True,
        weight_decay_mask=MASK,
    ),
    "adafactor_unfactored": _tx("adafactor", 0.05, multiply_by_parameter_scale=False, factored=False, eps=1e-3),
    "scale_by_factored_rms": _tx("scale_by_factored_rms", min_dim_size_to_factor=2, epsilon=1e-6),
    "rprop": _tx("rprop", 0.1),
    "rprop_options": _tx("rprop", 0.3, eta_minus=0.4, eta_plus=1.5, min_step_size=0.05, max_step_size=0.2),
    "scale_by_rprop": _tx("scale_by_rprop", 1e-3, eta_minus=0.3, eta_plus=2.0, min_step_size=1e-4, max_step_size=3e-3),
    "scale": _tx("scale", -0.5),
    "scale_by_schedule": _tx(
        "scale_by_schedule", _sched("linear_schedule", init_value=-1.0, end_value=-0.1, transition_steps=4)
    ),
    "add_decayed_weights": _tx("add_decayed_weights", 0.5, MASK),
    "add_decayed_weights_schedule": _tx(
        "add_decayed_weights", _sched("linear_schedule", init_value=0.5, end_value=0.1, transition_steps=4), MASK
    ),
    "adamw_weight_decay_schedule": _tx(
        "adamw", 0.05, weight_decay=_sched("cosine_decay_schedule", init_value=0.2, decay_steps=5)
    ),
    "trace": _tx("trace", 0.9, nesterov=True),
    "ema": _tx("ema", 0.8),
    "ema_biased": _tx("ema", 0.7, debias=False),
    "scale_by_adam": _tx("scale_by_adam", eps_root=1e-3),
    "scale_by_adamax": _tx("scale_by_adamax"),
    "scale_by_lion_smooth": _tx("scale_by_lion", mode="smooth", smooth_beta=2.0),
    "scale_by_lion_refined": _tx("scale_by_lion", mode="refined"),
    "scale_by_rms": _tx("scale_by_rms", decay=0.8, eps=1e-3, initial_scale=0.1),
    "scale_by_stddev": _tx("scale_by_stddev", decay=0.8, eps=1e-3, initial_scale=1.0, eps_in_sqrt=False),
    "scale_by_rss": _tx("scale_by_rss"),
    "scale_by_adadelta": _tx("scale_by_adadelta", rho=0.8),
    "scale_by_trust_ratio": _tx("scale_by_trust_ratio", min_norm=0.5, trust_coefficient=0.1, eps=1e-3),
    "scale_by_param_block_norm": _tx("scale_by_param_block_norm"),
    "scale_by_param_block_rms": _tx("scale_by_param_block_rms", min_scale=0.5),
    "scale_by_radam": _tx("scale_by_radam", b2=0.8),
    "clip": _tx("clip", 0.5),
    "clip_by_global_norm": _tx("clip_by_global_norm", 2.0),
    "clip_by_block_rms": _tx("clip_by_block_rms", 0.7),
    "normalize_by_update_norm": _tx("normalize_by_update_norm", scale_factor=0.3),
    "keep_params_nonnegative": _tx("chain", _tx("sgd", 0.5), _tx("keep_params_nonnegative")),
    "masked": _tx("masked", _tx("adam", 0.1), MASK),
    "partition": _tx("partition", {"x": _tx("adam", 0.1), "y": _tx("sgd", 0.2, momentum=0.9)}, LABELS),
    "multi_transform": _tx("multi_transform", {"x": _tx("lion", 0.1), "y": _tx("sgd", 0.2)}, LABELS),
    "freeze": _tx("chain", _tx("adam", 0.1), _tx("freeze", MASK)),
    "selective_transform": _tx("selective_transform", _tx("adam", 0.1), freeze_mask=MASK),
    "apply_if_finite_skips": _tx("apply_if_finite", _tx("adam", 0.1), 3),
    "apply_if_finite_gives_up": _tx("apply_if_finite", _tx("sgd", 0.1), 1),
    "MultiSteps": _tx("MultiSteps", _tx("adam", 0.1), 2, accumulator_dtype={"dtype": "float64"}),
    "MultiSteps_sum": _tx(
        "MultiSteps", _tx("sgd", 0.1, momentum=0.9), 3, False, accumulator_dtype={"dtype": "float64"}
    ),
    "apply_every": _tx("chain", _tx("apply_every", 3), _tx("sgd", 0.1)),
    "conditionally_transform": _tx("conditionally_transform", _tx("adam", 0.1), {"fn": "step_ge_2"}),
    "conditionally_mask": _tx("conditionally_mask", _tx("sgd", 0.1, momentum=0.9), {"fn": "even_step"}),
    "flatten": _tx("flatten", _tx("adam", 0.1)),
    "inject_hyperparams": _tx("inject_hyperparams", "adam", kwargs={"learning_rate": 0.1, "b1": 0.8}),
    "inject_hyperparams_schedule": _tx(
        "inject_hyperparams",
        "sgd",
        kwargs={"learning_rate": _sched("exponential_decay", init_value=0.5, transition_steps=2, decay_rate=0.5)},
    ),
    "inject_stateful_hyperparams": _tx(
        "inject_stateful_hyperparams", "sgd", kwargs={"learning_rate": {"stateful": "halving"}, "momentum": 0.9}
    ),
    "inject_stateful_wrapped": _tx(
        "inject_stateful_hyperparams",
        "adam",
        kwargs={
            "learning_rate": {
                "wrapped": _sched("exponential_decay", init_value=0.5, transition_steps=2, decay_rate=0.5)
            },
            "b1": 0.8,
        },
    ),
    "inject_hyperparams_stateful": _tx("inject_hyperparams", "lion", kwargs={"learning_rate": {"stateful": "halving"}}),
    "chain": _tx("chain", _tx("clip_by_global_norm", 1.0), _tx("adamw", 0.1, weight_decay=0.01)),
    "named_chain": _tx("named_chain", ["clip", _tx("clip", 0.3)], ["opt", _tx("sgd", 0.5)]),
}
NAN_CASES = {"apply_if_finite_skips": (1, 2), "apply_if_finite_gives_up": (1, 2)}

SCHEDULE_CASES = {
    "constant_schedule": _sched("constant_schedule", value=0.3),
    "linear_schedule": _sched("linear_schedule", init_value=1.0, end_value=0.1, transition_steps=5, transition_begin=2),
    "linear_schedule_no_steps": _sched("linear_schedule", init_value=1.0, end_value=0.1, transition_steps=0),
    "polynomial_schedule": _sched("polynomial_schedule", init_value=1.0, end_value=0.1, power=2.0, transition_steps=6),
    "exponential_decay": _sched(
        "exponential_decay",
        init_value=1.0,
        transition_steps=3,
        decay_rate=0.5,
        transition_begin=2,
        staircase=True,
        end_value=0.2,
    ),
    "cosine_decay_schedule": _sched("cosine_decay_schedule", init_value=2.0, decay_steps=8, alpha=0.1, exponent=2.0),
    "piecewise_constant_schedule": _sched(
        "piecewise_constant_schedule", init_value=1.0, boundaries_and_scales={3: 0.5, 7: 0.1}
    ),
    "piecewise_interpolate_linear": _sched(
        "piecewise_interpolate_schedule",
        interpolate_type="linear",
        init_value=1.0,
        boundaries_and_scales={2: 2.0, 6: 0.25},
    ),
    "piecewise_interpolate_cosine": _sched(
        "piecewise_interpolate_schedule",
        interpolate_type="cosine",
        init_value=1.0,
        boundaries_and_scales={3: 0.5, 8: 0.1},
    ),
    "warmup_constant_schedule": _sched("warmup_constant_schedule", init_value=0.0, peak_value=1.0, warmup_steps=4),
    "warmup_cosine_decay_schedule": _sched(
        "warmup_cosine_decay_schedule",
        init_value=0.1,
        peak_value=1.0,
        warmup_steps=3,
        decay_steps=10,
        end_value=0.05,
        exponent=1.5,
    ),
    "warmup_exponential_decay_schedule": _sched(
        "warmup_exponential_decay_schedule",
        init_value=0.0,
        peak_value=1.0,
        warmup_steps=3,
        transition_steps=2,
        decay_rate=0.7,
        transition_begin=1,
        end_value=0.3,
    ),
    "sgdr_schedule": _sched(
        "sgdr_schedule",
        cosine_kwargs=[
            {"init_value": 0.0, "peak_value": 1.0, "warmup_steps": 2, "decay_steps": 5},
            {"init_value": 0.1, "peak_value": 0.5, "warmup_steps": 1, "decay_steps": 6, "end_value": 0.01},
        ],
    ),
    "cosine_onecycle_schedule": _sched("cosine_onecycle_schedule", transition_steps=12, peak_value=1.0),
    "linear_onecycle_schedule": _sched(
        "linear_onecycle_schedule",
        transition_steps=12,
        peak_value=2.0,
        pct_start=0.25,
        pct_final=0.75,
        div_factor=10.0,
        final_div_factor=100.0,
    ),
    "join_schedules": {
        "schedule": "join_schedules",
        "kwargs": {
            "schedules": [
                _sched("constant_schedule", value=1.0),
                _sched("linear_schedule", init_value=1.0, end_value=0.0, transition_steps=4),
            ],
            "boundaries": [3],
        },
    },
}
SCHEDULE_STEPS = 16

PROJECTION_CASES = {
    "projection_non_negative": ("projection_non_negative", {}),
    "projection_box": ("projection_box", {"lower": "full:-0.5", "upper": "full:0.7"}),
    "projection_hypercube_single": ("projection_hypercube", {"scale": 0.5}),  # optax's fails on dicts
    "projection_simplex": ("projection_simplex", {"scale": 2.0}),
    "projection_l1_sphere": ("projection_l1_sphere", {"scale": 1.5}),
    "projection_l1_ball": ("projection_l1_ball", {"scale": 1.5}),
    "projection_l2_sphere": ("projection_l2_sphere", {"scale": 2.0}),
    "projection_l2_ball": ("projection_l2_ball", {"scale": 2.0}),
    "projection_linf_ball": ("projection_linf_ball", {"scale": 0.4}),
    "projection_vector": ("projection_vector", {"a": "other"}),
    "projection_hyperplane": ("projection_hyperplane", {"a": "other", "b": 0.5}),
    "projection_halfspace": ("projection_halfspace", {"a": "other", "b": -3.0}),
}
TREE_CASES = {
    "tree_norm": ("tree_norm", {}),
    "tree_norm_1": ("tree_norm", {"ord": 1}),
    "tree_norm_inf": ("tree_norm", {"ord": "inf"}),
    "tree_norm_squared": ("tree_norm", {"squared": True}),
    "tree_vdot": ("tree_vdot", {"tree_y": "other"}),
    "tree_sum": ("tree_sum", {}),
    "tree_max": ("tree_max", {}),
    "tree_min": ("tree_min", {}),
    "tree_add_scale": ("tree_add_scale", {"scalar": 0.3, "tree_y": "other"}),
    "tree_bias_correction": ("tree_bias_correction", {"decay": 0.9, "count": 3}),
    "tree_update_moment": ("tree_update_moment", {"moments": "other", "decay": 0.9, "order": 2}),
    "tree_update_moment_per_elem_norm": (
        "tree_update_moment_per_elem_norm",
        {"moments": "other", "decay": 0.8, "order": 1},
    ),
    "tree_update_infinity_moment": ("tree_update_infinity_moment", {"moments": "other", "decay": 0.9, "eps": 1e-3}),
    "tree_clip": ("tree_clip", {"min_value": -0.5, "max_value": 0.5}),
}


def _inputs(seed: int, nan_steps: tuple[int, ...] = ()) -> tuple[dict, list[dict]]:
    import numpy as np

    rng = np.random.default_rng(seed)
    params = {k: rng.normal(size=s) for k, s in SHAPES.items()}
    grads = [{k: rng.normal(size=s) * rng.choice([0.1, 1.0, 10.0]) for k, s in SHAPES.items()} for _ in range(STEPS)]
    for step in nan_steps:
        grads[step]["c"][0, 1] = np.nan
    return params, grads


def _tree_arg(value, tree, other, array):
    """A case's argument: ``"other"`` is the second input tree, ``"full:x"`` a tree of ``x`` like the first."""
    import numpy as np

    if value == "other":
        return {k: array(v) for k, v in other.items()}
    if isinstance(value, str) and value.startswith("full:"):
        return {k: array(np.full(np.shape(v), float(value[5:]))) for k, v in tree.items()}
    return value


def main() -> None:
    import jax
    import numpy as np

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    import optax

    def build(spec):
        if isinstance(spec, dict) and "tx" in spec:
            if spec["tx"] in ("inject_hyperparams", "inject_stateful_hyperparams"):
                kwargs = {k: build(v) for k, v in spec["kwargs"]["kwargs"].items()}
                return getattr(optax, spec["tx"])(getattr(optax, spec["args"][0]))(**kwargs)
            fn = getattr(optax, spec["tx"])
            made = fn(*[build(a) for a in spec["args"]], **{k: build(v) for k, v in spec["kwargs"].items()})
            return made
        if isinstance(spec, dict) and "schedule" in spec:
            return getattr(optax.schedules, spec["schedule"])(**{k: build(v) for k, v in spec["kwargs"].items()})
        if isinstance(spec, dict) and "fn" in spec:
            return FNS[spec["fn"]]
        if isinstance(spec, dict) and "stateful" in spec:
            return STATEFUL[spec["stateful"]]
        if isinstance(spec, dict) and "wrapped" in spec:
            return optax.WrappedSchedule(build(spec["wrapped"]))
        if isinstance(spec, dict) and "dtype" in spec:
            return getattr(jnp, spec["dtype"])
        if isinstance(spec, dict):
            return {k: build(v) for k, v in spec.items()}
        if isinstance(spec, list) and len(spec) == 2 and isinstance(spec[0], str) and isinstance(spec[1], dict):
            return (spec[0], build(spec[1]))
        if isinstance(spec, list):
            return [build(v) for v in spec]
        return spec

    def to_torch(tree):  # plain nested lists (float64 values), rebuilt as tensors by the test
        return {k: np.asarray(v, dtype=np.float64).tolist() for k, v in tree.items()}

    cases = []
    for i, (name, spec) in enumerate(TX_CASES.items()):
        params, grads = _inputs(100 + i, NAN_CASES.get(name, ()))
        tx = build(spec)
        p = {k: jnp.asarray(v) for k, v in params.items()}
        state = tx.init(p)
        expected = []
        for g in grads:
            updates, state = tx.update({k: jnp.asarray(v) for k, v in g.items()}, state, p)
            p = optax.apply_updates(p, updates)
            expected.append(to_torch(p))
        cases.append(
            {
                "kind": "tx",
                "name": name,
                "spec": spec,
                "params": to_torch(params),
                "grads": [to_torch(g) for g in grads],
                "expected": expected,
            }
        )
    for name, spec in SCHEDULE_CASES.items():
        schedule = build(spec)
        values = [float(schedule(jnp.asarray(s))) for s in range(SCHEDULE_STEPS)]
        cases.append({"kind": "schedule", "name": name, "spec": spec, "expected": values})
    for kind, table, module in (
        ("projection", PROJECTION_CASES, optax.projections),
        ("tree", TREE_CASES, optax.tree_utils),
    ):
        for i, (name, (fn, kwargs)) in enumerate(table.items()):
            tree, other = _inputs(300 + i)[0], _inputs(400 + i)[0]
            args = {k: _tree_arg(v, tree, other, jnp.asarray) for k, v in kwargs.items()}
            first = "x" if fn in ("projection_vector", "projection_hyperplane", "projection_halfspace") else None
            first = first or (
                "updates"
                if fn.startswith("tree_update")
                else "moment"
                if fn == "tree_bias_correction"
                else "tree_x"
                if fn in ("tree_vdot", "tree_add_scale")
                else "tree"
            )
            single = name.endswith("_single")  # one tensor instead of a dict (the "c" entry)
            given = jnp.asarray(tree["c"]) if single else {k: jnp.asarray(v) for k, v in tree.items()}
            out = getattr(module, fn)(**{first: given}, **args)
            expected = to_torch(out) if isinstance(out, dict) else np.asarray(out, dtype=np.float64).tolist()
            cases.append(
                {
                    "kind": kind,
                    "name": name,
                    "fn": fn,
                    "first": first,
                    "kwargs": kwargs,
                    "tree": to_torch(tree),
                    "other": to_torch(other),
                    "expected": expected,
                }
            )
    OUT.write_text(json.dumps({"jax": jax.__version__, "optax": optax.__version__, "cases": cases}) + "\n")
    print(f"wrote {len(cases)} cases to {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
