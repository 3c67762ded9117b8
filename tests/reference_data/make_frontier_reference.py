"""Regenerate tests/reference_data/frontier_reference.pt: trajectories of SOAP, Shampoo, PSGD-Kron and MARS.

The references come from ``pytorch_optimizer`` (SOAP: the original authors' algorithm; ScalableShampoo: a port
of Google's distributed Shampoo; Kron: Evan Walters' PSGD-Kron, the one heavyball started from; MARS: the
paper authors' algorithm), which the test environment does not install, so
tests/test_preconditioners_parity.py compares optimtx with the values stored here. Run it by hand, with the
reference environment's interpreter and this worktree importable (PSGD-Kron's random probes are taken from
optimtx's own counter-based generator so that both sides see the same numbers):

    PYTHONPATH=$PWD /work/venv-ref/bin/python tests/reference_data/make_frontier_reference.py

Every case stores the initial parameters (float64; shapes 0-d, 1-d, 2-d and conv 4-d), one gradient tree per
step (one MARS and one PSGD-Kron case with a NaN gradient entry), the parameters after every step, and the
optimtx factory name and kwargs that must reproduce them.
"""

from __future__ import annotations

import pathlib
from typing import Any

OUT = pathlib.Path(__file__).with_name("frontier_reference.pt")
SHAPES = {"s": (), "v": (5,), "m": (6, 4), "c": (4, 3, 2, 2)}
STEPS = 20


def _inputs(
    torch: Any, seed: int, shapes: dict[str, tuple[int, ...]], steps: int, nan: bool = False
) -> tuple[dict, list[dict]]:
    gen = torch.Generator().manual_seed(seed)
    params = {k: torch.randn(s, generator=gen, dtype=torch.float64) for k, s in shapes.items()}
    scales = [0.1, 1.0, 3.0]
    grads = [
        {
            k: torch.randn(s, generator=gen, dtype=torch.float64) * scales[(i + j) % 3]
            for j, (k, s) in enumerate(shapes.items())
        }
        for i in range(steps)
    ]
    if nan:  # one NaN entry at step 4: both sides must carry it the same way
        grads[3]["m"][1, 2] = float("nan")
    return params, grads


def _run(torch: Any, cls: Any, kwargs: dict, params: dict, grads: list[dict], before_step: Any = None) -> list[dict]:
    ps = [torch.nn.Parameter(p.clone()) for p in params.values()]
    opt = cls(ps, **kwargs)
    out = []
    for step, g in enumerate(grads):
        for p, gi in zip(ps, g.values(), strict=True):
            p.grad = gi.clone()
        if before_step is not None:
            before_step(step)
        opt.step()
        out.append({k: p.detach().clone() for k, p in zip(params, ps, strict=True)})
    return out


def _mars_cases() -> list[tuple[str, str, dict, dict]]:
    """(case name, optimtx factory, optimtx kwargs, reference kwargs)."""
    cases = []
    for i, (mars_type, opt1d, ams, wd) in enumerate(
        [
            ("adamw", False, False, 0.0),
            ("adamw", True, False, 0.1),
            ("lion", False, False, 0.05),
            ("adamw", False, True, 0.0),
            ("lion", True, False, 0.0),
        ]
    ):
        kw = dict(
            lr=0.01 * (i + 1),
            betas=(0.9, 0.99),
            gamma=0.025 * (i + 1),
            mars_type=mars_type,
            optimize_1d=opt1d,
            lr_1d=0.02,
            betas_1d=(0.85, 0.95),
            weight_decay=wd,
            weight_decay_1d=0.05,
            ams_bound=ams,
            eps=1e-8,
        )
        cases.append((f"mars_{i}", "mars", kw, dict(kw)))
    return cases


def _soap_cases() -> list[tuple[str, str, dict, dict]]:
    variants = [
        dict(lr=0.01, betas=(0.9, 0.95), weight_decay=0.0, precondition_frequency=3),
        dict(
            lr=0.02,
            betas=(0.95, 0.95),
            shampoo_beta=0.8,
            weight_decay=0.1,
            precondition_frequency=2,
            precondition_1d=True,
        ),
        dict(
            lr=0.01,
            betas=(0.9, 0.99),
            max_precondition_dim=3,
            normalize_gradient=True,
            correct_bias=False,
            weight_decay=0.01,
        ),
        dict(lr=0.005, betas=(0.8, 0.99), precondition_frequency=1, eps=1e-6, weight_decay=0.0),
    ]
    return [(f"soap_{i}", "soap", v, dict(v)) for i, v in enumerate(variants)]


def _shampoo_cases() -> list[tuple[str, str, dict, dict]]:
    variants = [
        dict(lr=0.01, block_size=4, start_preconditioning_step=3, preconditioning_compute_steps=2),
        dict(
            lr=0.01,
            shape_interpretation=False,
            block_size=4,
            graft_type="adagrad",
            preconditioning_compute_steps=1,
            start_preconditioning_step=1,
            weight_decay=0.01,
            nesterov=False,
        ),
        dict(
            lr=0.02,
            graft_type="rmsprop",
            moving_average_for_momentum=True,
            weight_decay=0.1,
            decoupled_weight_decay=True,
            preconditioner_type="input",
            block_size=8,
            statistics_compute_steps=2,
            preconditioning_compute_steps=3,
            start_preconditioning_step=4,
        ),
        dict(
            lr=0.01,
            graft_type="sqrtn",
            preconditioner_type="output",
            inverse_exponent_override=2,
            block_size=8,
            start_preconditioning_step=2,
            preconditioning_compute_steps=1,
        ),
        dict(
            lr=0.005,
            graft_type="none",
            betas=(0.5, 0.9),
            block_size=6,
            start_preconditioning_step=1,
            preconditioning_compute_steps=1,
            matrix_eps=1e-3,
        ),
    ]
    grafts = {"none": 0, "sgd": 1, "adagrad": 2, "rmsprop": 3, "sqrtn": 4}
    kinds = {"all": 0, "input": 1, "output": 2}
    cases = []
    for i, v in enumerate(variants):
        theirs = {k: x for k, x in v.items() if k not in ("graft_type", "preconditioner_type")}
        theirs.update(
            graft_type=grafts[v.get("graft_type", "sgd")],
            pre_conditioner_type=kinds[v.get("preconditioner_type", "all")],
            use_svd=True,
        )
        cases.append((f"shampoo_{i}", "shampoo", v, theirs))
    return cases


def _psgd_cases() -> list[tuple[str, str, dict, dict]]:
    base = dict(precond_dtype="float64")
    variants = [
        dict(lr=0.01, b1=0.9),
        dict(lr=0.02, b1=0.8, weight_decay=0.1, preconditioner_update_probability=0.5, memory_save_mode="one_diag"),
        dict(
            lr=0.01,
            b1=0.9,
            weight_decay=0.05,
            weight_decouple=False,
            memory_save_mode="smart_one_diag",
            momentum_into_precond_update=False,
        ),
        dict(lr=0.005, b1=0.5, memory_save_mode="all_diag", max_size_triangular=4),
        dict(lr=0.01, b1=0.9, balance_every=2, min_ndim_triangular=3),
    ]
    names = {
        "b1": "momentum",
        "preconditioner_update_probability": "pre_conditioner_update_probability",
        "momentum_into_precond_update": "momentum_into_precondition_update",
        "precond_dtype": None,
        "balance_every": None,
    }
    cases = []
    for i, v in enumerate(variants):
        ours = {**base, **v}
        theirs = {names.get(k, k): x for k, x in ours.items() if names.get(k, k) is not None}
        cases.append((f"psgd_kron_{i}", "psgd_kron", ours, {**theirs, "balance_prob": 0.0}))
    return cases


def _psgd_probes(torch: Any, names: list[str], seed: int) -> tuple[Any, Any]:
    """A ``randn_like`` giving optimtx's probes (one call per parameter, in order), and the per-step hook."""
    from optimtx.transforms._probes import gaussian_probe, name_salt

    where = {"step": 0, "i": 0}

    def randn_like(t: Any, dtype: Any = None, **_: Any) -> Any:
        name = names[where["i"]]
        where["i"] += 1
        return gaussian_probe(t.shape, seed, torch.tensor(where["step"] + 1), name_salt(name), dtype or t.dtype)

    def before_step(step: int) -> None:
        where.update(step=step, i=0)

    return randn_like, before_step


def _stack(torch: Any, trees: list[dict]) -> dict:
    """A list of trees (one per step) as one tree of stacked tensors (step first): a smaller file."""
    return {k: torch.stack([t[k] for t in trees]) for k in trees[0]}


def _case(torch: Any, factory: str, kwargs: dict, params: dict, grads: list[dict], trajectory: list[dict]) -> dict:
    return dict(
        factory=factory, kwargs=kwargs, params=params, grads=_stack(torch, grads), trajectory=_stack(torch, trajectory)
    )


def _with_nan_case(cases: list[tuple[str, str, dict, dict]]) -> list[tuple[str, str, dict, dict]]:
    """The cases, plus the first one again on gradients holding a NaN (SOAP's and Shampoo's references raise
    on non-finite statistics, so only MARS and PSGD-Kron get one)."""
    name, factory, ours, theirs = cases[0]
    return [*cases, (name.rsplit("_", 1)[0] + "_nan", factory, ours, theirs)]


def main() -> None:
    import torch
    from pytorch_optimizer import MARS, SOAP, Kron, ScalableShampoo

    data: dict[str, Any] = {}
    for seed, (name, factory, ours, theirs) in enumerate(_with_nan_case(_mars_cases())):
        params, grads = _inputs(torch, seed, SHAPES, STEPS, nan=name.endswith("_nan"))
        data[name] = _case(torch, factory, ours, params, grads, _run(torch, MARS, theirs, params, grads))

    for seed, (name, factory, ours, theirs) in enumerate(_shampoo_cases(), start=300):
        params, grads = _inputs(torch, seed, SHAPES, STEPS)
        data[name] = _case(torch, factory, ours, params, grads, _run(torch, ScalableShampoo, theirs, params, grads))

    for seed, (name, factory, ours, theirs) in enumerate(_soap_cases(), start=200):
        params, grads = _inputs(torch, seed, SHAPES, STEPS)
        data[name] = _case(torch, factory, ours, params, grads, _run(torch, SOAP, theirs, params, grads))

    for seed, (name, factory, ours, theirs) in enumerate(_with_nan_case(_psgd_cases()), start=100):
        params, grads = _inputs(torch, seed, SHAPES, STEPS, nan=name.endswith("_nan"))
        theirs = {**theirs, "precondition_dtype": torch.float64}
        randn_like, before_step = _psgd_probes(torch, list(params), 0)
        original, torch.randn_like = torch.randn_like, randn_like
        try:
            trajectory = _run(torch, Kron, theirs, params, grads, before_step)
        finally:
            torch.randn_like = original
        data[name] = _case(torch, factory, ours, params, grads, trajectory)
    torch.save(data, OUT)
    print(f"wrote {len(data)} cases to {OUT}")


if __name__ == "__main__":
    main()
