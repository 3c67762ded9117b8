"""Running torch.optim next to a transform, for parity tests."""

from __future__ import annotations

import torch


def torch_params(params):
    return [torch.nn.Parameter(p.clone()) for p in params.values()]


def torch_step(opt, ps, grads):
    """One ``opt.step()`` with ``grads``; returns each parameter's decrease (``before - after``)."""
    before = [p.detach().clone() for p in ps]
    for p, g in zip(ps, grads.values(), strict=True):
        p.grad = g.clone()
    opt.step()
    return [b - p.detach() for p, b in zip(ps, before, strict=True)]


def lockstep(tx, opt, ps, params, grads_seq):
    """Step the transform ``tx`` and the optimizer ``opt`` (built with ``lr=1``) on the same gradients.

    Yields, per step and parameter, ``(key, our_output, torch_decrease, torch_state, our_state)``.
    """
    state = tx.init(params)
    for grads in grads_seq:
        steps = torch_step(opt, ps, grads)
        out, state = tx.update(grads, state)
        for k, p, step in zip(params, ps, steps, strict=True):
            yield k, out[k], step, opt.state[p], state
