"""Pure core: the transforms added alongside issue 10 keep its promises too.

Parameters are matched by name and shape as strictly as gradients (for every transform that
reads them), evaluation weights are swapped by name, and the torch-refused complex cases are
refused before any state exists.
"""

from __future__ import annotations

import pytest
import torch

import optimtx as otx
from optimtx.core.state_tree import find_one, replace_node
from optimtx.transforms.schedule_free import ScheduleFreeState
from optimtx.wrapper.eval_params import evaluation_params
from tests.transform_table import TABLE

NEEDS_PARAMS = [c for c in TABLE if c.needs_params]


def _params():
    return {"a": torch.randn(3, 2), "b": torch.randn(4)}


def _bad_params(params):
    a, b = params["a"], params["b"]
    return {
        "reordered": {"b": b, "a": a},
        "renamed": {"a": a, "c": b},
        "missing": {"a": a},
        "transposed": {"a": a.t().contiguous(), "b": b},
        "broadcastable": {"a": a[:1], "b": b},
    }


@pytest.mark.parametrize("case", NEEDS_PARAMS, ids=[c.name for c in NEEDS_PARAMS])
@pytest.mark.parametrize("kind", list(_bad_params(_params())))
def test_params_that_do_not_match_the_state_are_refused(case, kind):
    """Right gradients with wrong params: refused, never paired by position or broadcast."""
    tx = case.factory(**case.kwargs)
    params = _params()
    state = tx.init(params)
    grads = {k: torch.ones_like(v) for k, v in params.items()}
    with pytest.raises((ValueError, TypeError), match=r"order|missing|unexpected|shape|do not match|fit"):
        tx.update(grads, state, _bad_params(params)[kind])


@pytest.mark.parametrize(
    "tx",
    [
        otx.chain(otx.sgd(0.1), otx.ema_params(0.9)),
        otx.lookahead(otx.sgd(0.1), sync_period=2, slow_step_size=0.5),
        otx.schedule_free_sgd(0.1),
    ],
    ids=["ema", "lookahead", "schedule_free"],
)
def test_evaluation_weights_are_matched_by_name_and_shape(tx):
    params = _params()
    state = tx.init(params)
    assert list(evaluation_params(state, params)) == ["a", "b"]
    for bad in ({"b": params["b"], "a": params["a"]}, {"a": params["a"]}, {"a": params["a"], "b": torch.zeros(1)}):
        with pytest.raises(ValueError, match=r"order|missing|shape"):
            evaluation_params(state, bad)


def test_eval_params_refuses_a_state_built_for_other_parameters():
    """The facade swap checks names and shapes before any parameter changes."""
    w = torch.nn.Parameter(torch.zeros(2))
    opt = otx.TransformOptimizer([w], dict(type="schedule_free_sgd", lr=1.0, momentum=0.5))
    w.grad = torch.ones(2)
    opt.step()
    state = opt._tx_states[0]
    node = find_one(state, ScheduleFreeState, "schedule_free")
    bad = node._replace(z={k: torch.zeros(3) for k in node.z})  # as if built for another model
    opt._tx_states[0] = replace_node(state, node, bad)
    before = w.detach().clone()
    with pytest.raises(ValueError, match="shape"), otx.eval_params(opt):
        pass
    assert torch.equal(w.detach(), before)


def test_rprop_complex_step_sizes_start_at_lr_on_both_parts_like_torch():
    tx = otx.rprop(lr=0.25)
    state = tx.init({"z": torch.zeros(2, dtype=torch.complex64)})
    sizes = otx.state_tree.find_one(state, otx.transforms.rprop.ScaleByRpropState, "rprop").step_size["z"]
    assert torch.equal(sizes, torch.full((2,), 0.25 + 0.25j))


@pytest.mark.parametrize(
    "tx", [otx.adam(0.1, mu_dtype="bfloat16"), otx.sgd(0.1, momentum=0.9, mu_dtype=torch.bfloat16)], ids=["adam", "sgd"]
)
def test_a_real_state_dtype_for_complex_parameters_is_refused(tx):
    with pytest.raises(TypeError, match=r"'z'.*complex.*mu_dtype"):
        tx.init({"z": torch.zeros(2, dtype=torch.complex64)})


def test_schedule_free_updates_come_out_in_the_parameter_dtype():
    tx = otx.schedule_free_adamw(1e-2)
    params = {"w": torch.ones(3, dtype=torch.bfloat16)}
    updates, state = tx.update({"w": torch.ones(3)}, tx.init(params), params)
    assert updates["w"].dtype == torch.bfloat16 and state.z["w"].dtype == torch.bfloat16


@pytest.mark.parametrize(
    "make",
    [
        lambda: otx.adadelta(1.0),
        lambda: otx.rprop(0.01),
        lambda: otx.asgd(0.01),
        lambda: otx.adafactor(0.01),
        lambda: otx.lamb(0.01),
        lambda: otx.lookahead(otx.adam(0.1), 2, 0.5),
        lambda: otx.chain(otx.adaptive_grad_clip(0.1), otx.sgd(0.1)),
        lambda: otx.schedule_free_adamw(0.01),
    ],
    ids=["adadelta", "rprop", "asgd", "adafactor", "lamb", "lookahead", "agc", "schedule_free"],
)
def test_the_checks_trace_under_torch_compile(make):
    """Python metadata only: fullgraph tracing works, and a transposed gradient is still refused."""
    tx = make()
    params = _params()
    state = tx.init(params)
    compiled = torch.compile(tx.update, fullgraph=True, backend="eager")
    compiled({k: torch.ones_like(v) for k, v in params.items()}, state, params)
    with pytest.raises(Exception, match="shape"):
        compiled({"a": torch.ones(2, 3), "b": torch.ones(4)}, state, params)
