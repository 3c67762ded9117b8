"""The functional training example converges (run short)."""

from __future__ import annotations

from examples.functional_training import main, make_problem


def test_functional_training_converges():
    model, x, y = make_problem()
    with_init = ((model(x) - y) ** 2).mean().item()
    losses = main(updates_to_make=40, verbose=False)
    assert len(losses) == 40
    assert losses[-1] < 0.05 * with_init
    assert losses[-1] < 0.02 and losses[-1] < losses[0]
