"""T6: every rule with a torch class, through ``TransformOptimizer`` and the pure eager path, vs torch.

One case per rule, each timed on one thread (optimizer comparisons should not measure how
two cores share an elementwise loop): torch's class with ``foreach=True`` is the baseline,
torch's fused class is shown where torch has one; ``TransformOptimizer`` (the owner's path,
in place where the transform offers a step) must be within 1.05x of foreach and the pure
``update`` + ``apply_updates`` within 1.3x. Each variant's minor page faults per step
(``resource.getrusage``) are counted in a separate untimed run and shown in its note.
"""

from __future__ import annotations

import contextlib
import resource
from collections.abc import Callable, Iterator

import torch
from cases import Case, Target
from params import make_grads, make_params, numel_of, set_grads
from timing import Variant, sync

import optimtx as otx

FLOAT = 4
OWNER_BOUND = 1.05
PURE_BOUND = 1.3
# name: (torch class, kwargs shared by both sides, state buffers per parameter, torch has a fused kernel)
RULES: dict[str, tuple[str, dict, int, bool]] = {
    "adamw": ("AdamW", {"lr": 1e-3, "weight_decay": 1e-2}, 2, True),
    "adam": ("Adam", {"lr": 1e-3}, 2, True),
    "sgd": ("SGD", {"lr": 1e-3, "momentum": 0.9}, 1, True),
    "adagrad": ("Adagrad", {"lr": 1e-2}, 1, True),
    "rmsprop": ("RMSprop", {"lr": 1e-3}, 1, False),
    "adamax": ("Adamax", {"lr": 2e-3}, 2, False),
    "radam": ("RAdam", {"lr": 1e-3}, 2, False),
    "nadam": ("NAdam", {"lr": 1e-3}, 2, False),
    "adadelta": ("Adadelta", {"lr": 1.0}, 2, False),
    "asgd": ("ASGD", {"lr": 1e-2}, 2, False),
    "rprop": ("Rprop", {"lr": 1e-2}, 2, False),
}


@contextlib.contextmanager
def one_thread(device: torch.device) -> Iterator[None]:
    """Run the block with one CPU thread (GPU runs keep torch's setting)."""
    before = torch.get_num_threads()
    if device.type == "cpu":
        torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def rule_case(rule: str, param_set: str, device: torch.device) -> Case:
    """The case of one rule on one parameter set."""
    cls_name, kwargs, buffers, fused = RULES[rule]
    case = Case(
        "T6",
        f"{rule}: TransformOptimizer and pure eager vs torch.optim.{cls_name} (1 thread)",
        param_set,
        f"torch {cls_name}(foreach)",
        bytes_per_step=numel_of(param_set) * FLOAT * (3 + 2 * buffers),
        bound_note=f"one pass reads p, g and {buffers} state buffers, writes p and the state",
    )
    cls = getattr(torch.optim, cls_name)
    case.add(f"torch {cls_name}(foreach)", lambda: _torch(cls, kwargs, param_set, device, fused=False))
    if fused:
        case.add(f"torch {cls_name}(fused)", lambda: _torch(cls, kwargs, param_set, device, fused=True))
    factory = getattr(otx, rule)
    case.add("optimtx TransformOptimizer", lambda: _owner(factory, kwargs, param_set, device), role="optimtx")
    case.add("optimtx pure eager", lambda: _pure(factory, kwargs, param_set, device), role="optimtx")
    case.targets += [
        Target("optimtx TransformOptimizer", case.baseline, OWNER_BOUND, kind="within"),
        Target("optimtx pure eager", case.baseline, PURE_BOUND, kind="within"),
    ]
    return case


def count_faults(variants: list[Variant], device: torch.device, steps: int = 5) -> None:
    """Append each variant's minor page faults per step (after warm-up) to its note."""
    for v in variants:
        v.setup()
        v.step()
        total = 0
        for _ in range(steps):
            v.setup()
            sync(device)
            before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
            v.step()
            sync(device)
            total += resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
        v.note = f"{total / steps:.0f} minor faults/step"


def _torch(cls: type, kwargs: dict, param_set: str, device: torch.device, fused: bool) -> Variant:
    params = make_params(param_set, device)
    grads = make_grads(params)
    opt = cls(params, **kwargs, **({"fused": True} if fused else {"foreach": True}))
    return Variant("", opt.step, setup=lambda: set_grads(params, grads, copy=True))


def _owner(factory: Callable, kwargs: dict, param_set: str, device: torch.device) -> Variant:
    params = make_params(param_set, device)
    grads = make_grads(params)
    opt = otx.TransformOptimizer(params, factory(**kwargs))
    return Variant("", opt.step, setup=lambda: set_grads(params, grads, copy=True))


def _pure(factory: Callable, kwargs: dict, param_set: str, device: torch.device) -> Variant:
    params = make_params(param_set, device)
    grads = {f"p{i}": g for i, g in enumerate(make_grads(params))}
    tx = factory(**kwargs)
    box = {"params": {f"p{i}": p.detach() for i, p in enumerate(params)}}
    box["state"] = tx.init(box["params"])

    def step() -> None:
        updates, box["state"] = tx.update(grads, box["state"], box["params"])
        box["params"] = otx.apply_updates(box["params"], updates)

    return Variant("", step)
