"""T3: the pure path, chain(clip_by_global_norm, adamw), eager and compiled, vs torch."""

from __future__ import annotations

import time
import warnings

import torch
import torch._inductor.config
from cases import Case, Target
from params import make_grads, make_params, numel_of, set_grads
from timing import Variant, sync

FLOAT = 4
COMPILE_LIMIT_S = 15.0


def pure_case(param_set: str, device: torch.device, quick: bool = False) -> Case:
    """Eager pure chain vs clip_grad_norm_ + AdamW(foreach); compiled vs clip_grad_norm_ + fused AdamW."""
    n = numel_of(param_set)
    case = Case(
        "T3",
        "pure clip(max_norm=1) + AdamW",
        param_set,
        "torch clip+AdamW(foreach)",
        bytes_per_step=n * FLOAT * 8,
        bound_note="norm pass reads g; one update pass reads p,g,m,v and writes p,m,v (32 B/param)",
    )
    case.add("torch clip+AdamW(foreach)", lambda: _torch(param_set, device, fused=False))
    case.add("torch clip+AdamW(fused)", lambda: _torch(param_set, device, fused=True))
    case.add("optimtx chain eager", lambda: _pure_eager(param_set, device), role="optimtx")
    case.add("optimtx compile_step", lambda: _pure_compiled(param_set, device, case), role="optimtx")
    case.add("optimtx compile_step, flat grads", lambda: _pure_compiled_flat(param_set, device), role="optimtx")
    case.targets += [
        Target("optimtx chain eager", "torch clip+AdamW(foreach)", 1.3, kind="within"),
        Target("optimtx compile_step", "torch clip+AdamW(fused)", 1.1, kind="within"),
        Target("optimtx compile_step, flat grads", "torch clip+AdamW(fused)", 1.1, kind="within"),
    ]
    return case


def _torch(param_set, device, fused):
    params = make_params(param_set, device)
    grads = make_grads(params)
    opt = torch.optim.AdamW(params, lr=1e-3, weight_decay=0.01, fused=fused, foreach=None if fused else True)

    def step():
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()

    return Variant("", step, setup=lambda: set_grads(params, grads, copy=True))


def _trees(param_set, device):
    params = make_params(param_set, device)
    grads = make_grads(params)
    return {f"p{i}": p.detach() for i, p in enumerate(params)}, {f"p{i}": g for i, g in enumerate(grads)}


def _transform():
    import optimtx as otx

    return otx.chain(otx.clip_by_global_norm(1.0), otx.adamw(1e-3, weight_decay=0.01))


def _pure_eager(param_set, device):
    from optimtx import apply_updates

    tx = _transform()
    params, grads = _trees(param_set, device)
    carry = {"params": params, "state": tx.init(params)}

    def step():
        updates, carry["state"] = tx.update(grads, carry["state"], carry["params"])
        carry["params"] = apply_updates(carry["params"], updates)

    return Variant("", step)


def _pure_compiled(param_set, device, case):
    from optimtx.compile import compile_step

    fast = compile_step(_transform(), donate=True)
    params, grads = _trees(param_set, device)
    carry = {"params": params, "state": fast.init(params)}

    def step():
        carry["params"], carry["state"] = fast.step(carry["params"], grads, carry["state"])

    # A cold compile, as a new process with an empty inductor cache would see it. One compile
    # thread: on 2 cores the worker pool costs more to start than it saves.
    torch._dynamo.reset()
    start = time.perf_counter()
    with torch._inductor.config.patch(force_disable_caches=True, compile_threads=1), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*force_disable_caches")  # dynamo says PGO is off too
        step()
    sync(device)
    seconds = time.perf_counter() - start
    case.extra.setdefault("checks", []).append(
        {
            "target": f"compile_step compile time < {COMPILE_LIMIT_S} s",
            "ratio": round(seconds, 1),
            "met": seconds < COMPILE_LIMIT_S,
        }
    )
    return Variant("", step, note=f"cold compile {seconds:.1f} s (first call, caches off); grads gathered")


def _pure_compiled_flat(param_set, device):
    """compile_step's flat_step: gradients arrive in the flat layout (taken w.r.t. the flat buffer)."""
    from optimtx.compile import compile_step

    fast = compile_step(_transform(), donate=True)
    params, grads = _trees(param_set, device)
    carry = {"state": fast.init(params)}
    layout = fast.layout()
    carry["flat"], flat_grads = layout.flatten(params), layout.flatten(grads)

    def step():
        carry["flat"], carry["state"] = fast.flat_step(carry["flat"], flat_grads, carry["state"])

    return Variant("", step, note="torch.func.grad w.r.t. the flat buffer gives these without a gather")
