"""Construction-time checks: schedules only where supported, numbers checked, tensors accepted."""

from __future__ import annotations

import pytest
import torch

import optimtx as otx
from optimtx import validation


@pytest.mark.parametrize(
    "build",
    [
        lambda s: otx.add_decayed_weights(s),
        lambda s: otx.scale_by_adam(eps=s),
        lambda s: otx.trace(momentum=s),
        lambda s: otx.adamw(1e-3, weight_decay=s),
        lambda s: otx.sgd(0.1, momentum=s),
        lambda s: otx.clip_by_global_norm(s),
    ],
)
def test_a_schedule_where_none_is_supported_is_a_type_error_at_construction(build):
    with pytest.raises(TypeError, match="a number or a 0-d tensor"):
        build(lambda count: 0.1)


def test_learning_rates_accept_schedules():
    schedule = otx.schedules.linear(0.1, 0.0, 10)
    for factory in (otx.sgd, otx.adam, otx.adamw, otx.rmsprop, otx.adagrad, otx.lion):
        tx = factory(lr=schedule)
        params = {"w": torch.ones(2)}
        updates, _ = tx.update({"w": torch.ones(2)}, tx.init(params), params)
        assert torch.isfinite(updates["w"]).all()


def test_adagrad_scheduled_lr_with_lr_decay_matches_the_formula():
    params = {"w": torch.tensor([1.0], dtype=torch.float64)}
    tx = otx.adagrad(lr=otx.schedules.constant(0.5), lr_decay=0.25)
    state = tx.init(params)
    grads = {"w": torch.tensor([2.0], dtype=torch.float64)}
    _, state = tx.update(grads, state, params)
    updates, _ = tx.update(grads, state, params)
    # second step: clr = 0.5 / (1 + 1 * 0.25); sum of squares 8 -> -clr * 2 / (sqrt(8) + 1e-10)
    expected = -(0.5 / 1.25) * 2 / (8**0.5 + 1e-10)
    torch.testing.assert_close(updates["w"], torch.tensor([expected], dtype=torch.float64))


def test_numbers_are_checked_and_tensors_are_not_read():
    with pytest.raises(ValueError, match=r"Invalid eps: -1\.0"):
        validation.check_non_negative("eps", -1.0)
    validation.check_non_negative("eps", torch.tensor(-1.0))  # not read: reading would sync
    with pytest.raises(TypeError, match="'x'"):
        validation.check_positive("growth_factor", "x")
    with pytest.raises(TypeError, match="True"):
        validation.check_unit_interval("b1", True)
