"""T2: a step with a paramwise_cfg: groups per label (optimtx) vs one group per parameter (MMEngine)."""

from __future__ import annotations

import logging

import torch
from cases import Case, Target
from params import ParamModule, make_grads, make_params, numel_of, set_grads
from timing import Variant

FLOAT = 4
OPTIMIZER = dict(type="SGD", lr=0.1, momentum=0.9, weight_decay=1e-4, fused=True)
# Two labels: the ~111 tensors whose name contains "params.1" get a smaller lr.
PARAMWISE = dict(custom_keys={"params.1": dict(lr_mult=0.1)})


def paramwise_case(param_set: str, device: torch.device) -> Case:
    """Fused SGD on ``param_set`` with a paramwise_cfg, built three ways, vs a single group."""
    n = numel_of(param_set)
    case = Case(
        "T2",
        "paramwise_cfg, fused SGD(momentum) step",
        param_set,
        "torch fused SGD, 1 group",
        bytes_per_step=n * FLOAT * 5,
        bound_note="fused SGD: reads p,g,buf, writes p,buf (20 B/param)",
    )
    case.add("torch fused SGD, 1 group", lambda: _torch(param_set, device, per_param=False))
    case.add("torch fused SGD, 1 group per param", lambda: _torch(param_set, device, per_param=True))
    case.add("mmengine paramwise (group per param)", lambda: _built(param_set, device, _mmengine_build))
    case.add("optimtx paramwise (group per label)", lambda: _built(param_set, device, _optimtx_build), role="optimtx")
    case.targets += [
        Target("optimtx paramwise (group per label)", "torch fused SGD, 1 group", 1.1, kind="within"),
        Target("optimtx paramwise (group per label)", "mmengine paramwise (group per param)", 2.5),
    ]
    return case


def _sgd_kwargs():
    return {k: v for k, v in OPTIMIZER.items() if k != "type"}


def _torch(param_set, device, per_param):
    params = make_params(param_set, device)
    grads = make_grads(params)
    groups = [{"params": [p]} for p in params] if per_param else [{"params": params}]
    opt = torch.optim.SGD(groups, **_sgd_kwargs())

    def step():
        opt.step()
        opt.zero_grad()

    return Variant("", step, setup=lambda: set_grads(params, grads, copy=False))


def _mmengine_build(model):
    from mmengine.logging import MMLogger
    from mmengine.optim import build_optim_wrapper

    logger = MMLogger.get_current_instance()  # it logs one line per parameter and key
    for item in (logger, *logger.handlers):
        item.setLevel(logging.WARNING)
    return build_optim_wrapper(model, dict(optimizer=dict(OPTIMIZER), paramwise_cfg=dict(PARAMWISE)))


def _optimtx_build(model):
    from optimtx import build_optim_wrapper

    return build_optim_wrapper(model, dict(optimizer=dict(OPTIMIZER), paramwise_cfg=dict(PARAMWISE)))


def _built(param_set, device, build):
    params = make_params(param_set, device)
    grads = make_grads(params)
    wrapper = build(ParamModule(params))
    groups = len(wrapper.optimizer.param_groups)

    def step():
        wrapper.step()
        wrapper.zero_grad()

    return Variant("", step, setup=lambda: set_grads(params, grads, copy=False), note=f"{groups} groups")
