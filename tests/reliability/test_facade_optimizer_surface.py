"""Every public ``torch.optim.Optimizer`` method, hook and attribute on ``TransformOptimizer``: like torch, or refused.

One table. A ``"torch"`` row runs the same action on ``torch.optim.SGD`` and on a
``TransformOptimizer`` running ``sgd`` with the same settings and compares what they return
(and the weights after). A ``"refused"`` row says what is refused and the message.
``test_the_table_covers_torchs_surface`` fails when torch grows a public name the table lacks.
"""

from __future__ import annotations

import copy
import pickle
import warnings
from collections.abc import Callable
from typing import Any

import pytest
import torch
from torch.optim.lr_scheduler import StepLR
from torch.optim.optimizer import register_optimizer_step_post_hook, register_optimizer_step_pre_hook

import optimtx as otx
from tests.reliability.facade_helpers import frozen, same


def _pair(kind: str) -> tuple[torch.nn.Parameter, torch.optim.Optimizer]:
    w = torch.nn.Parameter(torch.tensor([1.0, -2.0, 3.0]))
    if kind == "torch":
        return w, torch.optim.SGD([w], lr=0.1, momentum=0.9)
    return w, otx.TransformOptimizer([w], dict(type="sgd", lr=0.1, momentum=0.9))


def _stepped(w: torch.Tensor, opt: torch.optim.Optimizer) -> Any:
    w.grad = torch.ones(3)
    opt.step()
    return w.detach().clone()


def _hooks(opt: torch.optim.Optimizer) -> list[str]:
    log: list[str] = []
    for name in ("register_step_pre_hook", "register_step_post_hook"):
        getattr(opt, name)(lambda *a, n=name: log.append(n))
    w = opt.param_groups[0]["params"][0]
    handle = opt.register_step_pre_hook(lambda *a: log.append("removed"))
    handle.remove()
    _stepped(w, opt)
    opt.register_state_dict_pre_hook(lambda o: log.append("sd_pre"))
    opt.register_state_dict_post_hook(lambda o, sd: log.append("sd_post"))
    opt.register_load_state_dict_pre_hook(lambda o, sd: log.append("load_pre"))
    opt.register_load_state_dict_post_hook(lambda o: log.append("load_post"))
    opt.load_state_dict(opt.state_dict())
    return log


def _global_hooks(w: torch.Tensor, opt: torch.optim.Optimizer) -> list[str]:
    log: list[str] = []
    handles = [
        register_optimizer_step_pre_hook(lambda *a: log.append("pre")),
        register_optimizer_step_post_hook(lambda *a: log.append("post")),
    ]
    try:
        _stepped(w, opt)
    finally:
        for h in handles:
            h.remove()
    return log


def _scheduler_warning(w: torch.Tensor, opt: torch.optim.Optimizer) -> list[str]:
    del w
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        StepLR(opt, 1).step()  # before any optimizer.step(): torch warns (it reads _opt_called)
    return [str(c.message)[:40] for c in caught]


def _profiled(w: torch.Tensor, opt: torch.optim.Optimizer) -> list[str]:
    with torch.profiler.profile() as prof:
        _stepped(w, opt)
    return sorted({e.name.split("#")[0] for e in prof.events() if e.name.startswith("Optimizer.step")})


# name -> (action(w, opt) -> comparable value, "torch" or (exception, message regex) for ours)
TABLE: dict[str, tuple[Callable[[Any, Any], Any], Any]] = {
    "step": (_stepped, "torch"),
    "step(closure)": (lambda w, o: (setattr(w, "grad", torch.ones(3)), o.step(lambda: torch.tensor(2.0)))[1], "torch"),
    "zero_grad()": (lambda w, o: (setattr(w, "grad", torch.ones(3)), o.zero_grad(), w.grad)[2], "torch"),
    "zero_grad(set_to_none=False)": (
        lambda w, o: (setattr(w, "grad", torch.ones(3)), o.zero_grad(set_to_none=False), w.grad)[2],
        "torch",
    ),
    "add_param_group": (
        lambda w, o: (o.add_param_group({"params": [torch.nn.Parameter(torch.ones(2))], "lr": 0.5}), _stepped(w, o))[1],
        "torch",
    ),
    "param_groups[i][lr] =": (lambda w, o: (o.param_groups[0].__setitem__("lr", 1.0), _stepped(w, o))[1], "torch"),
    "param_groups[i][new key] =": (
        lambda w, o: (o.param_groups[0].__setitem__("foo", 1.0), _stepped(w, o))[1],
        (ValueError, "foo=1.0, which this TransformOptimizer's transform does not take"),
    ),
    "defaults[lr]": (lambda w, o: o.defaults["lr"], "torch"),
    "state_dict/load_state_dict": (
        lambda w, o: (_stepped(w, o), o.load_state_dict(o.state_dict()), _stepped(w, o))[2],
        "torch",
    ),
    "state (empty, falsy)": (lambda w, o: (len(o.state), bool(o.state)), (None, None)),
    "state[p] after a step": (
        lambda w, o: (_stepped(w, o), o.state[w])[1],
        (KeyError, "keeps no per-parameter state in optimizer.state"),
    ),
    "state = ...": (
        lambda w, o: setattr(o, "state", {w: {"momentum_buffer": torch.zeros(3)}}),
        (TypeError, "optimizer.state cannot be replaced on a TransformOptimizer"),
    ),
    "step/state-dict/load hooks": (lambda w, o: _hooks(o), "torch"),
    "global step hooks": (_global_hooks, "torch"),
    "lr scheduler order warning (_opt_called)": (_scheduler_warning, "torch"),
    "profiler step event": (_profiled, "torch"),
    "copy.deepcopy": (lambda w, o: (_stepped(w, o), type(copy.deepcopy(o)).__name__ != "")[1], "torch"),
    "pickle": (lambda w, o: (_stepped(w, o), pickle.loads(pickle.dumps(o)).param_groups[0]["lr"])[1], "torch"),
    "repr": (lambda w, o: repr(o).split("(")[1].split("\n")[1], "torch"),
}


@pytest.mark.parametrize("name", sorted(TABLE))
def test_optimizer_surface(name):
    action, expected = TABLE[name]
    w, opt = _pair("ours")
    if expected == "torch":
        tw, topt = _pair("torch")
        assert same(frozen(action(w, opt)), frozen(action(tw, topt)))
        assert same(w.detach(), tw.detach())
    elif expected == (None, None):
        assert action(w, opt) == (0, False)
    else:
        error, match = expected
        before = frozen((w, opt.state_dict()["transform_state"]))
        with pytest.raises(error, match=match):
            action(w, opt)
        if name != "state[p] after a step":  # that one steps first, on purpose
            assert same(frozen((w, opt.state_dict()["transform_state"])), before)  # no step taken


# torch's public Optimizer names and the table rows (or reasons) that cover them.
COVERED = {
    "add_param_group": "add_param_group",
    "load_state_dict": "state_dict/load_state_dict",
    "state_dict": "state_dict/load_state_dict",
    "step": "step",
    "zero_grad": "zero_grad()",
    "register_step_pre_hook": "step/state-dict/load hooks",
    "register_step_post_hook": "step/state-dict/load hooks",
    "register_state_dict_pre_hook": "step/state-dict/load hooks",
    "register_state_dict_post_hook": "step/state-dict/load hooks",
    "register_load_state_dict_pre_hook": "step/state-dict/load hooks",
    "register_load_state_dict_post_hook": "step/state-dict/load hooks",
    "profile_hook_step": "profiler step event",
    "OptimizerPreHook": "a type alias, nothing to run",
    "OptimizerPostHook": "a type alias, nothing to run",
}


def test_the_table_covers_torchs_surface():
    public = {n for n in dir(torch.optim.Optimizer) if not n.startswith("_")}
    assert public <= set(COVERED), f"torch.optim.Optimizer names not in the table: {sorted(public - set(COVERED))}"
    rows = {row for row in COVERED.values() if not row.startswith("a type alias")}
    assert rows <= set(TABLE)
