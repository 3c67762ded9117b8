"""Regenerate tests/reference_data/optax_rules_reference.json.gz: optax trajectories for the rules of issue 22.

Run with a Python that has JAX and optax (no torch needed; the test side loads the JSON):

    /work/venv-jax/bin/python tests/reference_data/make_optax_rules_reference.py [CASE_NAME ...]

(with case names, only those cases are recomputed; the others are kept from the stored file).

Each case names an optax factory (``optax.<name>`` or ``optax.contrib.<name>``) and its keyword
arguments; tests/test_optax_rules_parity.py builds the same name from ``optimtx.optax`` with the
same arguments and replays the case. Inputs are float64 trees with leaves of shapes 0-d to 3-d.
Gradients are either stored (``"grads"``) or, for rules that read the loss (``value`` extras),
come from ``f(p) = sum(0.5 * c * (p - t)**2 + 0.25 * (p - t)**4)``, whose ``c`` and ``t`` are stored.
"""

from __future__ import annotations

import gzip
import json
import pathlib

SHAPES = {"s": (), "v": (3,), "m": (4, 3), "t": (2, 3, 2)}
STEPS = 5
OUT = pathlib.Path(__file__).with_name("optax_rules_reference.json.gz")

# Keyword arguments that name an optimizer: ``(optax name, kwargs)``, built on both sides.
# The optimtx.optax.contrib modules whose names' signatures are stored.
CONTRIB_MODULES = ("_rules", "_schedule_free", "_muon", "_reduce_on_plateau", "_complex_valued")

# Keyword arguments holding Muon's dimension numbers: ``{name: None | [reduction_axis, output_axis]}``.
DIM_ARGS = ("weight_dimension_numbers", "muon_weight_dimension_numbers")

OPTIMIZER_ARGS = ("inner", "base_optimizer", "optimizer", "adv_optimizer", "linesearch", "hessian_diagonal_fn")

# (case name, namespace, factory, kwargs, gradient source, extra)
CASES: list[tuple[str, str, str, dict, str, dict]] = []


def case(name: str, factory: str, kwargs: dict, source: str = "grads", ns: str = "optax", **extra) -> None:
    CASES.append((name, ns, factory, kwargs, source, extra))


def _cases() -> None:
    case("adabelief", "adabelief", {"learning_rate": 0.05})
    case(
        "adabelief_nesterov",
        "adabelief",
        {"learning_rate": 0.02, "b1": 0.8, "b2": 0.9, "eps": 1e-8, "eps_root": 1e-10, "nesterov": True},
    )
    case("amsgrad", "amsgrad", {"learning_rate": 0.05})
    case(
        "amsgrad_raw",
        "amsgrad",
        {
            "learning_rate": 0.01,
            "b1": 0.5,
            "b2": 0.9,
            "eps_root": 1e-6,
            "bias_correction_mu": False,
            "bias_correction_nu": False,
        },
    )
    case("yogi", "yogi", {"learning_rate": 0.05})
    case(
        "yogi_block",
        "scale_by_yogi",
        {"b1": 0.7, "b2": 0.95, "eps": 1e-4, "eps_root": 1e-8, "initial_accumulator_value": 0.5},
    )
    case("scale_by_belief", "scale_by_belief", {"b1": 0.5, "b2": 0.8})
    case("scale_by_amsgrad", "scale_by_amsgrad", {"b2": 0.5})
    case("adamaxw", "adamaxw", {"learning_rate": 0.05})
    case(
        "adamaxw_masked",
        "adamaxw",
        {
            "learning_rate": 0.02,
            "b1": 0.5,
            "eps": 1e-3,
            "weight_decay": 0.3,
            "mask": {"s": True, "v": False, "m": True, "t": False},
        },
    )
    case("adan", "adan", {"learning_rate": 0.05})
    case(
        "adan_decay",
        "adan",
        {"learning_rate": 0.01, "b1": 0.9, "b2": 0.8, "b3": 0.95, "eps": 1e-6, "eps_root": 0.0, "weight_decay": 0.1},
    )
    case("scale_by_adan", "scale_by_adan", {})
    case("novograd", "novograd", {"learning_rate": 0.05})
    case(
        "novograd_decay",
        "novograd",
        {"learning_rate": 0.05, "b1": 0.5, "b2": 0.6, "eps": 1e-3, "eps_root": 1e-4, "weight_decay": 0.2},
    )
    case("optimistic_gd", "optimistic_gradient_descent", {"learning_rate": 0.05})
    case("optimistic_gd_ab", "optimistic_gradient_descent", {"learning_rate": 0.02, "alpha": 0.5, "beta": 2.0})
    case("polyak_sgd", "polyak_sgd", {}, source="quadratic", extras=("value",))
    case(
        "polyak_sgd_plus",
        "polyak_sgd",
        {"max_learning_rate": 0.3, "scaling": 0.5, "f_min": 1.0, "eps": 1e-3, "variant": "sps+"},
        source="quadratic",
        extras=("value",),
    )
    case("sign_sgd", "sign_sgd", {"learning_rate": 0.05})
    case("signum", "signum", {"learning_rate": 0.05})
    case("signum_beta", "signum", {"learning_rate": 0.05, "beta": 0.5})
    case("sm3", "sm3", {"learning_rate": 0.05}, drop=("s",))
    case("sm3_nomomentum", "sm3", {"learning_rate": 0.1, "momentum": 0.0}, drop=("s",))
    case("scale_by_sm3_decay", "scale_by_sm3", {"b1": 0.5, "b2": 0.9, "eps": 1e-4}, drop=("s",))
    case("scale_by_novograd", "scale_by_novograd", {"b1": 0.8, "weight_decay": 0.1})
    case(
        "scale_by_polyak",
        "scale_by_polyak",
        {"f_min": -1.0, "max_learning_rate": 0.5},
        source="quadratic",
        extras=("value",),
    )
    case("scale_by_sign", "scale_by_sign", {})
    case("scale_by_optimistic_gradient", "scale_by_optimistic_gradient", {"alpha": 0.1, "beta": 0.3})
    case("ademamix", "ademamix", {"learning_rate": 0.05}, ns="contrib")
    case(
        "ademamix_opts",
        "ademamix",
        {
            "learning_rate": 0.02,
            "b1": 0.8,
            "b2": 0.9,
            "b3": 0.99,
            "alpha": 2.0,
            "eps": 1e-6,
            "eps_root": 1e-8,
            "weight_decay": 0.1,
        },
        ns="contrib",
    )
    case("scale_by_ademamix", "scale_by_ademamix", {"b3": 0.5, "alpha": 0.5}, ns="contrib")
    case("simplified_ademamix", "simplified_ademamix", {"learning_rate": 0.05}, ns="contrib")
    case(
        "simplified_ademamix_opts",
        "simplified_ademamix",
        {"learning_rate": 0.01, "b1": 0.9, "b2": 0.8, "alpha": 2.0, "eps": 1e-4, "eps_root": 1e-6, "weight_decay": 0.2},
        ns="contrib",
    )
    case("scale_by_simplified_ademamix", "scale_by_simplified_ademamix", {"alpha": 1.0}, ns="contrib")
    case("adopt", "adopt", {"learning_rate": 0.05}, ns="contrib")
    case(
        "adopt_nesterov",
        "adopt",
        {"learning_rate": 0.05, "b1": 0.5, "b2": 0.9, "eps": 1e-3, "nesterov": True},
        ns="contrib",
    )
    case("adopt_noclip", "adopt", {"learning_rate": 0.05, "use_clipping": False}, ns="contrib")
    case("scale_by_adopt", "scale_by_adopt", {"b1": 0.7}, ns="contrib")
    case("acprop", "acprop", {"learning_rate": 0.05}, ns="contrib")
    case(
        "acprop_opts",
        "acprop",
        {
            "learning_rate": 0.05,
            "b1": 0.5,
            "b2": 0.9,
            "eps": 1e-6,
            "eps_root": 1e-8,
            "weight_decay": 0.1,
            "mask": {"s": False, "v": True, "m": True, "t": False},
        },
        ns="contrib",
    )
    case("scale_by_acprop", "scale_by_acprop", {"b2": 0.5}, ns="contrib")
    case("dadapt_adamw", "dadapt_adamw", {}, ns="contrib")
    case(
        "dadapt_adamw_opts",
        "dadapt_adamw",
        {"learning_rate": 0.5, "betas": (0.8, 0.9), "eps": 1e-6, "estim_lr0": 1e-3, "weight_decay": 0.1},
        ns="contrib",
    )
    case("prodigy", "prodigy", {}, ns="contrib")
    case(
        "prodigy_opts",
        "prodigy",
        {
            "learning_rate": 0.5,
            "betas": (0.8, 0.9),
            "beta3": 0.7,
            "eps": 1e-6,
            "estim_lr0": 1e-3,
            "estim_lr_coef": 2.0,
            "weight_decay": 0.1,
        },
        ns="contrib",
    )
    case("prodigy_safeguard", "prodigy", {"safeguard_warmup": True, "estim_lr0": 1e-2}, ns="contrib")
    case("dog", "dog", {}, ns="contrib")
    case(
        "dog_distance",
        "dog",
        {
            "learning_rate": 0.5,
            "init_step": ("distance", 0.1),
            "eps": 1e-6,
            "weight_decay": 0.1,
            "mask": {"s": True, "v": False, "m": True, "t": True},
        },
        ns="contrib",
    )
    case("dog_lr", "dog", {"init_step": ("learning_rate", 0.01)}, ns="contrib")
    case("dowg", "dowg", {}, ns="contrib")
    case(
        "dowg_opts",
        "dowg",
        {"learning_rate": 0.5, "init_estim_sq_dist": 0.1, "eps": 1e-6, "weight_decay": 0.1},
        ns="contrib",
    )
    case("cocob", "cocob", {}, ns="contrib")
    case("cocob_opts", "cocob", {"learning_rate": 0.5, "alpha": 10.0, "eps": 1e-3, "weight_decay": 0.1}, ns="contrib")
    case("scale_by_cocob", "scale_by_cocob", {"alpha": 50.0}, ns="contrib")
    case("madgrad", "madgrad", {"learning_rate": 0.05}, ns="contrib")
    case(
        "madgrad_opts",
        "madgrad",
        {"learning_rate": 0.1, "momentum": 0.5, "weight_decay": 0.1, "eps": 1e-4},
        ns="contrib",
    )
    case("scale_by_madgrad", "scale_by_madgrad", {"learning_rate": 0.01, "momentum": 0.0}, ns="contrib")
    case("momo", "momo", {"learning_rate": 0.5}, source="quadratic", extras=("value",), ns="contrib")
    case(
        "momo_adapt",
        "momo",
        {"learning_rate": 0.5, "beta": 0.5, "lower_bound": -1.0, "weight_decay": 0.1, "adapt_lower_bound": True},
        source="quadratic",
        extras=("value",),
        ns="contrib",
    )
    case("momo_adam", "momo_adam", {"learning_rate": 0.5}, source="quadratic", extras=("value",), ns="contrib")
    case(
        "momo_adam_adapt",
        "momo_adam",
        {
            "learning_rate": 0.5,
            "b1": 0.5,
            "b2": 0.9,
            "eps": 1e-4,
            "lower_bound": -1.0,
            "weight_decay": 0.1,
            "adapt_lower_bound": True,
        },
        source="quadratic",
        extras=("value",),
        ns="contrib",
    )
    case("mechanize", "mechanize", {"base_optimizer": ("yogi", {"learning_rate": 0.1})}, ns="contrib")
    case(
        "mechanize_opts",
        "mechanize",
        {
            "base_optimizer": ("adabelief", {"learning_rate": 0.05}),
            "weight_decay": 0.1,
            "eps": 1e-6,
            "s_init": 1e-3,
            "num_betas": 3,
        },
        ns="contrib",
    )
    case(
        "schedule_free",
        "schedule_free",
        {"base_optimizer": ("yogi", {"learning_rate": 0.1}), "learning_rate": 0.1},
        ns="contrib",
    )
    case(
        "schedule_free_opts",
        "schedule_free",
        {
            "base_optimizer": ("adabelief", {"learning_rate": 0.05}),
            "learning_rate": 0.05,
            "b1": 0.5,
            "weight_lr_power": 1.0,
        },
        ns="contrib",
    )
    case("scale_by_lbfgs", "scale_by_lbfgs", {})
    case("scale_by_lbfgs_ring", "scale_by_lbfgs", {"memory_size": 3, "scale_init_precond": False})
    case(
        "lbfgs_no_search",
        "lbfgs",
        {"learning_rate": 0.5, "memory_size": 4, "linesearch": None},
        source="quadratic",
    )
    case(
        "lbfgs_backtracking",
        "lbfgs",
        {"linesearch": ("scale_by_backtracking_linesearch", {"max_backtracking_steps": 15})},
        source="quadratic",
        extras=("value", "grad", "value_fn"),
    )
    case(
        "lbfgs_backtracking_opts",
        "lbfgs",
        {
            "learning_rate": 2.0,
            "memory_size": 3,
            "linesearch": (
                "scale_by_backtracking_linesearch",
                {
                    "max_backtracking_steps": 4,
                    "slope_rtol": 0.3,
                    "decrease_factor": 0.5,
                    "increase_factor": 3.0,
                    "max_learning_rate": 2.0,
                    "atol": 1e-3,
                    "rtol": 1e-3,
                    "store_grad": True,
                },
            ),
        },
        source="quadratic",
        extras=("value", "grad", "value_fn"),
    )
    case("lbfgs_zoom", "lbfgs", {}, source="quadratic", extras=("value", "grad", "value_fn"))
    case(
        "lbfgs_zoom_opts",
        "lbfgs",
        {
            "learning_rate": 0.8,
            "memory_size": 2,
            "scale_init_precond": False,
            "linesearch": (
                "scale_by_zoom_linesearch",
                {
                    "max_linesearch_steps": 6,
                    "max_learning_rate": 1.5,
                    "tol": 1e-6,
                    "increase_factor": 3.0,
                    "slope_rtol": 1e-3,
                    "curv_rtol": 0.5,
                    "approx_dec_rtol": None,
                    "stepsize_precision": 1e-3,
                    "initial_guess_strategy": "keep",
                },
            ),
        },
        source="quadratic",
        extras=("value", "grad", "value_fn"),
    )
    case(
        "lbfgs_zoom_few_steps",
        "lbfgs",
        {"linesearch": ("scale_by_zoom_linesearch", {"max_linesearch_steps": 1, "curv_rtol": 0.01})},
        source="quadratic",
        extras=("value", "grad", "value_fn"),
    )
    sgd_like = ("optimistic_gradient_descent", {"learning_rate": 0.1, "beta": 0.0})
    ascent = (
        "chain",
        [("contrib.normalize", {}), ("optimistic_gradient_descent", {"learning_rate": 0.05, "beta": 0.0})],
    )
    case("sam", "sam", {"optimizer": sgd_like, "adv_optimizer": ascent}, ns="contrib", steps=6)
    case(
        "sam_opts",
        "sam",
        {
            "optimizer": ("yogi", {"learning_rate": 0.1}),
            "adv_optimizer": ("yogi", {"learning_rate": 0.05}),
            "sync_period": 3,
            "reset_state": False,
        },
        ns="contrib",
        steps=7,
    )
    case("normalize", "normalize", {}, ns="contrib")
    case(
        "sophia",
        "sophia",
        {"learning_rate": 0.05, "update_interval": 2},
        ns="contrib",
        source="quadratic",
        extras=("obj_fn",),
        steps=6,
    )
    case(
        "sophia_opts",
        "sophia",
        {
            "learning_rate": 0.05,
            "b1": 0.9,
            "b2": 0.8,
            "eps": 1e-4,
            "weight_decay": 0.1,
            "gamma": 0.5,
            "clip_threshold": None,
            "update_interval": 3,
        },
        ns="contrib",
        source="quadratic",
        extras=("obj_fn",),
        steps=7,
    )
    case(
        "sophia_sign_estimator",
        "sophia",
        {
            "learning_rate": 0.05,
            "clip_threshold": 0.5,
            "update_interval": 1,
            "hessian_diagonal_fn": ("scale_by_sign", {}),
        },
        ns="contrib",
    )
    case("fromage", "fromage", {"learning_rate": 0.1})
    case("fromage_min_norm", "fromage", {"learning_rate": 0.3, "min_norm": 0.5})
    case("nadamw", "nadamw", {"learning_rate": 0.05})
    case(
        "nadamw_opts",
        "nadamw",
        {"learning_rate": 0.05, "b1": 0.8, "eps_root": 1e-8, "weight_decay": 0.1, "nesterov": False},
    )
    case("optimistic_adam", "optimistic_adam", {"learning_rate": 0.05})
    case(
        "optimistic_adam_opts",
        "optimistic_adam",
        {"learning_rate": 0.05, "optimism": 0.2, "b1": 0.5, "nesterov": False},
    )
    case("optimistic_adam_v2", "optimistic_adam_v2", {"learning_rate": 0.05, "alpha": 0.5, "beta": 2.0})
    case("noisy_sgd_no_noise", "noisy_sgd", {"learning_rate": 0.05, "eta": 0.0, "key": 3})
    case("adabelief_nan", "adabelief", {"learning_rate": 0.05}, nan=True)
    case("yogi_nan", "yogi", {"learning_rate": 0.05}, nan=True)
    _optax3_cases()


def _optax3_cases() -> None:
    """The names of the optax3 work (appended: earlier cases keep their seeds)."""
    case("schedule_free_sgd", "schedule_free_sgd", {}, ns="contrib", steps=6)
    case(
        "schedule_free_sgd_opts",
        "schedule_free_sgd",
        # Warmup fractions exact in float32: optax evaluates schedules of its int32 count in float32.
        {"learning_rate": 0.5, "warmup_steps": 4, "b1": 0.6, "weight_decay": 0.1, "weight_lr_power": 1.0},
        ns="contrib",
        steps=6,
    )
    case("schedule_free_adamw", "schedule_free_adamw", {"learning_rate": 0.05}, ns="contrib", steps=6)
    case(
        "schedule_free_adamw_opts",
        "schedule_free_adamw",
        {"learning_rate": 0.25, "warmup_steps": 2, "b1": 0.7, "b2": 0.9, "eps": 1e-4, "weight_decay": 0.2},
        ns="contrib",
        steps=6,
    )
    _muon_cases()
    # Complex "m" and "t" (stored as {"complex": [real, imaginary]}); a per-tensor norm shows the split.
    inner = ("chain", [("clip_by_block_rms", {"threshold": 0.5}), ("adam", {"learning_rate": 0.05})])
    case("split_real_and_imaginary", "split_real_and_imaginary", {"inner": inner}, ns="contrib", complex=("m", "t"))
    # Gradient ascent on the test loss: the value rises, so the plateau logic reduces the scale.
    case("reduce_on_plateau", "reduce_on_plateau", {}, source="quadratic", extras=("value",), ns="contrib", steps=8)
    case(
        "reduce_on_plateau_opts",
        "reduce_on_plateau",
        {
            "factor": 0.5,
            "patience": 2,
            "rtol": 0.0,
            "atol": 0.01,
            "cooldown": 1,
            "accumulation_size": 2,
            "min_scale": 0.2,
        },
        source="quadratic",
        extras=("value",),
        ns="contrib",
        steps=16,
    )
    case(
        "reduce_on_plateau_fast",
        "reduce_on_plateau",
        {"factor": 0.5, "patience": 1, "cooldown": 2},
        source="quadratic",
        extras=("value",),
        ns="contrib",
        steps=10,
    )


def _muon_cases() -> None:
    nd = {"m": [0, 1], "t": [1, 2]}  # t: axis 0 is a batch axis
    case("muon", "muon", {"learning_rate": 0.05}, ns="contrib")
    case(
        "muon_opts",
        "muon",
        {
            "learning_rate": 0.02,
            "ns_coeffs": "dion",
            "beta": 0.9,
            "weight_decay": 0.1,
            "nesterov": False,
            "adaptive": True,
            "adam_b1": 0.8,
            "adam_learning_rate": 0.01,
            "adam_weight_decay": 0.05,
            "consistent_rms": 0.2,
            "muon_weight_dimension_numbers": {"s": None, "v": None, "m": [1, 0], "t": [[1], [0, 2]]},
        },
        ns="contrib",
    )
    case(
        "muon_nd",
        "muon",
        {"learning_rate": 0.05, "muon_weight_dimension_numbers": {"s": None, "v": None, **nd}},
        ns="contrib",
    )
    case("scale_by_muon", "scale_by_muon", {"weight_dimension_numbers": nd}, ns="contrib", drop=("s", "v"))
    for pre in ("spectral", "aol", "schatten"):
        case(
            f"scale_by_muon_{pre}",
            "scale_by_muon",
            {
                "ns_steps": 3,
                "beta": 0.5,
                "preconditioning": pre,
                "adaptive": pre == "schatten",
                "weight_dimension_numbers": nd,
            },
            ns="contrib",
            drop=("s", "v"),
        )
    case(
        "scale_by_muon_table",
        "scale_by_muon",
        {
            "ns_coeffs": [[3.4445, -4.775, 2.0315], [2.0, -1.5, 0.5]],
            "ns_steps": 4,
            "nesterov": False,
            "eps": 1e-3,
            "weight_dimension_numbers": nd,
        },
        ns="contrib",
        drop=("s", "v"),
    )


def dimension_numbers(spec, cls):
    """``{name: None | [reduction_axis, output_axis]}`` as a dict of ``cls`` (optax's or optimtx's class)."""

    def axes(a):
        return tuple(a) if isinstance(a, list) else a

    return {k: None if v is None else cls(axes(v[0]), axes(v[1])) for k, v in spec.items()}


def _inputs(seed: int, nan: bool, drop: tuple[str, ...] = ()):
    import numpy as np

    rng = np.random.default_rng(seed)
    params = {k: rng.normal(size=s) for k, s in SHAPES.items()}
    grads = [{k: rng.normal(size=s) * rng.choice([0.1, 1.0, 10.0]) for k, s in SHAPES.items()} for _ in range(8)]
    curvature = {k: rng.uniform(0.5, 2.0, size=s) for k, s in SHAPES.items()}
    target = {k: rng.normal(size=s) for k, s in SHAPES.items()}
    if nan:
        grads[1]["m"][0, 1] = np.nan
        grads[2]["t"][1, 0, 1] = np.inf
    if drop:
        params, curvature, target = ({k: v for k, v in d.items() if k not in drop} for d in (params, curvature, target))
        grads = [{k: v for k, v in g.items() if k not in drop} for g in grads]
    return params, grads, curvature, target


def _listed(tree):
    import numpy as np

    def one(v):
        v = np.asarray(v)
        if np.iscomplexobj(v):
            return {"complex": [v.real.astype(np.float64).tolist(), v.imag.astype(np.float64).tolist()]}
        return v.astype(np.float64).tolist()

    return {k: one(v) for k, v in tree.items()}


def _complexify(seed: int, keys: tuple[str, ...], params, grads):
    """Give the entries ``keys`` of the params and of every gradient an imaginary part (from a second stream)."""
    import numpy as np

    rng = np.random.default_rng(seed + 10_000)
    params = {k: v + 1j * rng.normal(size=v.shape) if k in keys else v for k, v in params.items()}
    grads = [{k: v + 1j * rng.normal(size=v.shape) if k in keys else v for k, v in g.items()} for g in grads]
    return params, grads


def _run(tx, source, params, grads, curvature, target, extra):
    import jax
    import jax.numpy as jnp
    import optax

    c = {k: jnp.asarray(v) for k, v in curvature.items()}
    t = {k: jnp.asarray(v) for k, v in target.items()}

    def loss(p):
        return sum(jnp.sum(0.5 * c[k] * (p[k] - t[k]) ** 2 + 0.25 * (p[k] - t[k]) ** 4) for k in p)

    p = {k: jnp.asarray(v) for k, v in params.items()}
    state = tx.init(p)
    trajectory, used, steps = [], [], []
    for step in range(extra.get("steps", STEPS)):
        kw = {}
        if source == "grads":
            g = {k: jnp.asarray(v) for k, v in grads[step].items()}
        else:
            value, g = jax.value_and_grad(loss)(p)
            if "value" in extra.get("extras", ()):
                kw["value"] = value
            if "grad" in extra.get("extras", ()):
                kw["grad"] = g
            if "value_fn" in extra.get("extras", ()):
                kw["value_fn"] = loss
            if "obj_fn" in extra.get("extras", ()):
                kw["obj_fn"] = loss
        updates, state = tx.update(g, state, p, **kw)
        p = optax.apply_updates(p, updates)
        trajectory.append(_listed(p))
        used.append(_listed(g))
        steps.append(_listed(updates))
    return trajectory, used, steps


def _exported(relative: str) -> list[str]:
    """The ``__all__`` of an optimtx.optax module, read with ``ast`` (this script runs without torch)."""
    import ast

    tree = ast.parse((pathlib.Path(__file__).parents[2] / relative).read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "__all__" for t in node.targets):
            return list(ast.literal_eval(node.value))
    return []


def _signature(obj) -> dict:
    """Parameter names, kinds and defaults (callables as ``"<callable>"``), or a NamedTuple's fields."""
    import inspect

    if isinstance(obj, type) and hasattr(obj, "_fields"):
        return {"fields": list(obj._fields)}
    params = []
    for p in inspect.signature(obj).parameters.values():
        default = None if p.default is p.empty else p.default
        if isinstance(default, tuple) and any(callable(x) for x in default):
            default = "<transform>"  # a GradientTransformation, e.g. lbfgs's default line search
        elif callable(default):
            default = "<callable>"
        params.append(
            {"name": p.name, "kind": p.kind.name, "has_default": p.default is not p.empty, "default": default}
        )
    return {"parameters": params}


def _optimizer(spec):
    """An optimizer from its spec: ``(name, kwargs)``, ``("contrib.name", kwargs)`` or ``("chain", [specs])``."""
    import optax
    import optax.contrib

    name, inner = spec
    if name == "chain":
        return optax.chain(*(_optimizer(s) for s in inner))
    module, name = (optax.contrib, name[len("contrib.") :]) if name.startswith("contrib.") else (optax, name)
    return getattr(module, name)(**inner)


def main(only: tuple[str, ...] = ()) -> None:
    """Write every case, or with ``only`` recompute just those cases and keep the stored others."""
    import jax

    jax.config.update("jax_enable_x64", True)
    import optax
    import optax.contrib

    _cases()
    out = []
    stored = {}
    if only:
        with gzip.open(OUT, "rt") as f:
            stored = {c["name"]: c for c in json.load(f)["cases"]}
    for seed, (name, ns, factory, kwargs, source, extra) in enumerate(CASES):
        if only and name not in only and name in stored:
            out.append(stored[name])
            continue
        module = optax if ns == "optax" else optax.contrib
        kwargs = dict(kwargs)
        built = {k: _optimizer(v) for k, v in kwargs.items() if k in OPTIMIZER_ARGS and v}
        built |= {
            k: dimension_numbers(v, optax.contrib.MuonDimensionNumbers) for k, v in kwargs.items() if k in DIM_ARGS
        }
        params, grads, curvature, target = _inputs(seed, extra.get("nan", False), extra.get("drop", ()))
        if extra.get("complex"):
            params, grads = _complexify(seed, extra["complex"], params, grads)
        trajectory, used, steps = _run(
            getattr(module, factory)(**{**kwargs, **built}), source, params, grads, curvature, target, extra
        )
        out.append(
            {
                "name": name,
                "namespace": ns,
                "factory": factory,
                "kwargs": kwargs,
                "source": source,
                "extras": list(extra.get("extras", ())),
                "torch": extra.get("torch"),
                "params": _listed(params),
                "grads": used,
                "curvature": _listed(curvature),
                "target": _listed(target),
                "expected": trajectory,
                "updates": steps,
            }
        )
    meta = {"optax": optax.__version__, "jax": jax.__version__, "steps": STEPS}
    signatures = {
        "optax": {n: _signature(getattr(optax, n)) for n in _exported("optimtx/optax/_rules.py")},
        "contrib": {
            n: _signature(getattr(optax.contrib, n))
            for module in CONTRIB_MODULES
            for n in _exported(f"optimtx/optax/contrib/{module}.py")
        },
    }
    with gzip.open(OUT, "wt") as f:
        json.dump({"meta": meta, "signatures": signatures, "cases": out}, f)
    print(f"wrote {len(out)} cases to {OUT}")


if __name__ == "__main__":
    import sys

    main(tuple(sys.argv[1:]))
