"""Every optimtx optimizer that has a ``torch.optim`` class, and how to run both side by side."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import torch

import optimtx as otx

# optimtx factory name -> torch class. One entry per optimizer with a torch twin.
TWINS: dict[str, type[torch.optim.Optimizer]] = {
    "sgd": torch.optim.SGD,
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "adamax": torch.optim.Adamax,
    "rmsprop": torch.optim.RMSprop,
    "adagrad": torch.optim.Adagrad,
    "adadelta": torch.optim.Adadelta,
    "adafactor": torch.optim.Adafactor,
    "radam": torch.optim.RAdam,
    "nadam": torch.optim.NAdam,
    "rprop": torch.optim.Rprop,
    "asgd": torch.optim.ASGD,
    "muon": torch.optim.Muon,
}

# Float settings other than lr that a param group may hold, with a legal value unlike the default.
GROUP_VALUES: dict[str, dict[str, Any]] = {
    "sgd": {"momentum": 0.5, "dampening": 0.25, "weight_decay": 0.1},
    "adam": {"betas": (0.8, 0.9), "eps": 1e-3, "weight_decay": 0.1},
    "adamw": {"betas": (0.8, 0.9), "eps": 1e-3, "weight_decay": 0.2},
    "adamax": {"betas": (0.8, 0.9), "eps": 1e-3, "weight_decay": 0.1},
    "rmsprop": {"alpha": 0.9, "eps": 1e-3, "weight_decay": 0.1, "momentum": 0.5},
    # (torch's Adagrad ignores a group's initial_accumulator_value; optimtx uses it: see test_facade_group_values)
    "adagrad": {"lr_decay": 0.1, "eps": 1e-3, "weight_decay": 0.1},
    "adadelta": {"rho": 0.5, "eps": 1e-3, "weight_decay": 0.1},
    "adafactor": {"beta2_decay": -0.5, "d": 2.0, "weight_decay": 0.1},
    "radam": {"betas": (0.8, 0.9), "eps": 1e-3, "weight_decay": 0.1},
    "nadam": {"betas": (0.8, 0.9), "eps": 1e-3, "weight_decay": 0.1, "momentum_decay": 0.01},
    "rprop": {"etas": (0.25, 1.5), "step_sizes": (1e-3, 0.5)},
    "asgd": {"lambd": 0.01, "alpha": 1.5, "t0": 2.0, "weight_decay": 0.1},
    "muon": {"weight_decay": 0.2, "momentum": 0.5, "eps": 1e-5},
}


def shapes(name: str) -> list[tuple[int, ...]]:
    """Parameter shapes each optimizer takes (Muon only matrices)."""
    return [(3, 4), (4, 2)] if name == "muon" else [(3, 4), (5,)]


def gradients(name: str, steps: int, dtype: torch.dtype, seed: int = 0) -> list[list[torch.Tensor]]:
    gen = torch.Generator().manual_seed(seed)
    return [[torch.randn(s, generator=gen, dtype=dtype) for s in shapes(name)] for _ in range(steps)]


def start(name: str, dtype: torch.dtype) -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(1)
    return [torch.randn(s, generator=gen, dtype=dtype) for s in shapes(name)]


@contextlib.contextmanager
def default_dtype(dtype: torch.dtype) -> Iterator[None]:
    """torch keeps some per-step scalars (ASGD's eta, NAdam's mu_product) in the default dtype."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        yield
    finally:
        torch.set_default_dtype(previous)


def step_all(opt: torch.optim.Optimizer, ps: list[torch.Tensor], grads: list[list[torch.Tensor]]) -> None:
    for step in grads:
        for p, g in zip(ps, step, strict=True):
            p.grad = g.clone()
        opt.step()


def run_pure(tx: otx.GradientTransformation, params: list[torch.Tensor], grads: list[list[torch.Tensor]], state=None):
    """The pure path: ``update`` + ``apply_updates`` from ``state`` (``tx.init`` if none); returns the parameters."""
    tree = {str(i): p.clone() for i, p in enumerate(params)}
    state = tx.init(tree) if state is None else state
    for step in grads:
        updates, state = tx.update({str(i): g.clone() for i, g in enumerate(step)}, state, tree)
        tree = otx.apply_updates(tree, updates)
    return list(tree.values())


def assert_same_params(got: list[torch.Tensor], expected: list[torch.Tensor], dtype: torch.dtype) -> None:
    tol = {"rtol": 1e-10, "atol": 1e-12} if dtype == torch.float64 else {"rtol": 2e-5, "atol": 2e-6}
    for g, e in zip(got, expected, strict=True):
        torch.testing.assert_close(g.detach(), e.detach(), equal_nan=True, **tol)
