"""Regenerate tests/reference_data/optax_reference.pt: trajectories of optax (and schedulefree) on fixed inputs.

CI does not install JAX, so tests/test_optax_parity.py compares optimtx against the values
this script stores. Run it by hand after changing a case (needs ``pip install jax optax
schedulefree``, all on the CPU):

    python tests/reference_data/make_optax_reference.py

Every case stores the initial parameters (float64, torch layout, shapes 0-d, 1-d, 2-d and
3-d), one gradient tree per step, and the parameters after each step (plus extra
observables: lookahead's slow weights, schedule-free's evaluation weights, zero_nans'
flags). The optimtx side of each case is named by ``factory`` and ``kwargs`` (schedules as
``("linear"|"cosine_decay", args...)``), so the test rebuilds it without this script.
"""

from __future__ import annotations

import pathlib

import jax
import numpy as np
import torch

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import optax  # noqa: E402
import optax.contrib  # noqa: E402

OUT = pathlib.Path(__file__).with_name("optax_reference.pt")
SHAPES = {"s": (), "v": (3,), "m": (4, 3), "t": (2, 3, 2)}
STEPS = 6


def _inputs(seed: int, steps: int = STEPS, nan: bool = False) -> tuple[dict, list[dict]]:
    rng = np.random.default_rng(seed)
    params = {k: rng.normal(size=s) for k, s in SHAPES.items()}
    grads = [{k: rng.normal(size=s) * rng.choice([0.1, 1.0, 10.0]) for k, s in SHAPES.items()} for _ in range(steps)]
    if nan:
        grads[1]["m"][0, 1] = np.nan
        grads[2]["v"][2] = np.nan
        grads[2]["t"][1, 0, 1] = np.inf
    return params, grads


def _schedule(spec):
    if isinstance(spec, tuple):
        kind, *args = spec
        return {"linear": optax.linear_schedule, "cosine_decay": optax.cosine_decay_schedule}[kind](*args)
    return spec


def _to_torch(tree: dict) -> dict[str, torch.Tensor]:
    return {k: torch.tensor(np.asarray(v), dtype=torch.float64) for k, v in tree.items()}


def _run(tx, params, grads, observe=None, wrap=None, unwrap=None):
    """Run ``tx`` for every gradient tree; return the parameters (and observables) after each step."""
    p = {k: jnp.asarray(v) for k, v in params.items()}
    p = wrap(p) if wrap else p
    state = tx.init(p)
    trajectory, observed = [], []
    for g in grads:
        g = {k: jnp.asarray(v) for k, v in g.items()}
        updates, state = tx.update(g, state, p)
        p = optax.apply_updates(p, updates)
        trajectory.append(_to_torch(unwrap(p) if unwrap else p))
        if observe:
            observed.append(observe(state, p))
    return trajectory, observed


def _case(name, factory, kwargs, tx, seed, nan=False, observe=None, wrap=None, unwrap=None, steps=STEPS):
    params, grads = _inputs(seed, steps, nan)
    trajectory, observed = _run(tx, params, grads, observe, wrap, unwrap)
    return {
        "name": name,
        "factory": factory,
        "kwargs": kwargs,
        "params": _to_torch(params),
        "grads": [_to_torch(g) for g in grads],
        "expected": trajectory,
        "observed": observed,
        "source": "optax " + optax.__version__,
    }


def _torch_axis(x):
    return None if x.ndim <= 1 else tuple(range(1, x.ndim))


def _agc_torch_layout(clipping, eps):
    """optax's AGC with the unit axes of torch's layout (every dim but the first), per leaf."""

    def update(updates, state, params):
        out = {}
        for k in updates:
            tx = optax.adaptive_grad_clip(clipping, eps, axis=_torch_axis(updates[k]))
            out[k] = tx.update({k: updates[k]}, tx.init({k: params[k]}), {k: params[k]})[0][k]
        return out, state

    return optax.GradientTransformation(lambda p: optax.EmptyState(), update)


def optax_cases() -> list[dict]:
    cases = []
    lamb_sets = [
        ({"lr": 1e-2}, {"learning_rate": 1e-2}),
        (
            {"lr": 0.05, "betas": (0.8, 0.99), "eps": 1e-4, "weight_decay": 0.1},
            {"learning_rate": 0.05, "b1": 0.8, "b2": 0.99, "eps": 1e-4, "weight_decay": 0.1},
        ),
        (
            {"lr": ("cosine_decay", 0.1, 4), "weight_decay": 0.01},
            {"learning_rate": ("cosine_decay", 0.1, 4), "weight_decay": 0.01},
        ),
    ]
    lamb_sets.append(
        (
            {"lr": 0.02, "weight_decay": ("linear", 0.1, 0.0, 4)},
            {"learning_rate": 0.02, "weight_decay": _schedule(("linear", 0.1, 0.0, 4))},
        )
    )
    for i, (ours, theirs) in enumerate(lamb_sets):
        theirs = {**theirs, "learning_rate": _schedule(theirs["learning_rate"])}
        cases.append(_case(f"lamb_{i}", "lamb", ours, optax.lamb(**theirs), seed=10 + i))
    lars_sets = [
        ({"lr": 0.1}, {"learning_rate": 0.1}),
        (
            {
                "lr": 0.5,
                "momentum": 0.5,
                "weight_decay": 0.01,
                "trust_coefficient": 0.01,
                "eps": 1e-3,
                "nesterov": True,
            },
            {
                "learning_rate": 0.5,
                "momentum": 0.5,
                "weight_decay": 0.01,
                "trust_coefficient": 0.01,
                "eps": 1e-3,
                "nesterov": True,
            },
        ),
        ({"lr": ("linear", 1.0, 0.1, 4), "momentum": 0.0}, {"learning_rate": ("linear", 1.0, 0.1, 4), "momentum": 0.0}),
    ]
    for i, (ours, theirs) in enumerate(lars_sets):
        theirs = {**theirs, "learning_rate": _schedule(theirs["learning_rate"])}
        cases.append(_case(f"lars_{i}", "lars", ours, optax.lars(**theirs), seed=20 + i))
    for i, (inner_ours, inner_theirs, period, alpha) in enumerate(
        [
            (("adam", {"lr": 0.1}), optax.adam(0.1), 3, 0.5),
            (("sgd", {"lr": 0.05, "momentum": 0.9}), optax.sgd(0.05, momentum=0.9), 2, 0.8),
            (("sgd", {"lr": 0.1}), optax.sgd(0.1), 1, 1.0),
        ]
    ):
        tx = optax.lookahead(inner_theirs, period, alpha)
        cases.append(
            _case(
                f"lookahead_{i}",
                "lookahead",
                {"inner": inner_ours, "sync_period": period, "slow_step_size": alpha},
                tx,
                seed=30 + i,
                steps=7,
                wrap=optax.LookaheadParams.init_synced,
                unwrap=lambda p: p.fast,
                observe=lambda state, p: _to_torch(p.slow),
            )
        )
    for i, (clipping, eps) in enumerate([(0.1, 1e-3), (1.0, 0.5)]):
        cases.append(
            _case(
                f"adaptive_grad_clip_{i}",
                "chain_sgd",
                {"first": ("adaptive_grad_clip", {"clipping": clipping, "eps": eps})},
                optax.chain(_agc_torch_layout(clipping, eps), optax.sgd(0.1)),
                seed=40 + i,
            )
        )
    cases.append(
        _case(
            "zero_nans",
            "chain_sgd",
            {"first": ("zero_nans", {})},
            optax.chain(optax.zero_nans(), optax.sgd(0.1)),
            seed=50,
            nan=True,
            observe=lambda state, p: {k: torch.tensor(bool(v)) for k, v in state[0].found_nan.items()},
        )
    )
    cases.append(
        _case(
            "centralize",
            "chain_sgd",
            {"first": ("centralize", {})},
            optax.chain(optax.centralize(), optax.sgd(0.1)),
            seed=51,
        )
    )
    sf_eval = lambda state, p: _to_torch(optax.contrib.schedule_free_eval_params(state, p))  # noqa: E731
    sf_sets = [
        ("schedule_free_adamw", {"lr": 0.1}, optax.contrib.schedule_free_adamw(0.1)),
        (
            "schedule_free_adamw",
            {"lr": 0.05, "betas": (0.95, 0.99), "eps": 1e-6, "weight_decay": 0.05, "weight_lr_power": 1.0},
            optax.contrib.schedule_free_adamw(0.05, b1=0.95, b2=0.99, eps=1e-6, weight_decay=0.05, weight_lr_power=1.0),
        ),
        ("schedule_free_sgd", {"lr": 0.5}, optax.contrib.schedule_free_sgd(0.5)),
        (
            "schedule_free_sgd",
            {"lr": 0.2, "momentum": 0.8, "weight_decay": 0.1, "weight_lr_power": 0.0},
            optax.contrib.schedule_free_sgd(0.2, b1=0.8, weight_decay=0.1, weight_lr_power=0.0),
        ),
    ]
    for i, (factory, ours, tx) in enumerate(sf_sets):
        cases.append(_case(f"{factory}_{i}", factory, ours, tx, seed=60 + i, observe=sf_eval))
    return cases


def schedulefree_cases() -> list[dict]:
    """The authors' reference implementations (torch classes), with warmup."""
    import schedulefree

    sets = [
        (
            "schedule_free_adamw",
            {"lr": 0.1, "warmup_steps": 3},
            schedulefree.AdamWScheduleFreeReference,
            {"lr": 0.1, "warmup_steps": 3},
        ),
        (
            "schedule_free_adamw",
            {
                "lr": 0.05,
                "warmup_steps": 2,
                "betas": (0.95, 0.99),
                "eps": 1e-6,
                "weight_decay": 0.05,
                "weight_lr_power": 1.0,
            },
            schedulefree.AdamWScheduleFreeReference,
            {
                "lr": 0.05,
                "warmup_steps": 2,
                "betas": (0.95, 0.99),
                "eps": 1e-6,
                "weight_decay": 0.05,
                "weight_lr_power": 1.0,
            },
        ),
        (
            "schedule_free_sgd",
            {"lr": 0.5, "momentum": 0.8, "warmup_steps": 4, "weight_decay": 0.01},
            schedulefree.SGDScheduleFreeReference,
            {"lr": 0.5, "momentum": 0.8, "warmup_steps": 4, "weight_decay": 0.01},
        ),
    ]
    # The fast classes users train with compute the same steps (y and z in place).
    sets.append(
        (
            "schedule_free_adamw",
            {"lr": 0.05, "warmup_steps": 3, "weight_decay": 0.01},
            schedulefree.AdamWScheduleFree,
            {"lr": 0.05, "warmup_steps": 3, "weight_decay": 0.01},
        )
    )
    sets.append(
        (
            "schedule_free_sgd",
            {"lr": 0.3, "momentum": 0.9, "warmup_steps": 2},
            schedulefree.SGDScheduleFree,
            {"lr": 0.3, "momentum": 0.9, "warmup_steps": 2},
        )
    )
    cases = []
    for i, (factory, ours, cls, theirs) in enumerate(sets):
        params, grads = _inputs(70 + i)
        tensors = {k: torch.nn.Parameter(torch.tensor(v, dtype=torch.float64)) for k, v in params.items()}
        opt = cls(list(tensors.values()), **theirs)
        trajectory, observed = [], []
        for g in grads:
            opt.train()
            for k, p in tensors.items():
                p.grad = torch.tensor(g[k], dtype=torch.float64)
            opt.step()
            trajectory.append({k: p.detach().clone() for k, p in tensors.items()})
            opt.eval()
            observed.append({k: p.detach().clone() for k, p in tensors.items()})
        cases.append(
            {
                "name": f"schedulefree_{factory}_{i}",
                "factory": factory,
                "kwargs": ours,
                "params": _to_torch(params),
                "grads": [_to_torch(g) for g in grads],
                "expected": trajectory,
                "observed": observed,
                "source": "schedulefree " + getattr(schedulefree, "__version__", "1.4.1") + " " + cls.__name__,
            }
        )
    return cases


def main() -> None:
    cases = optax_cases() + schedulefree_cases()
    torch.save({"jax": jax.__version__, "optax": optax.__version__, "cases": cases}, OUT)
    print(f"wrote {len(cases)} cases to {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
