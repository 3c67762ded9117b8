"""examples/compiled_training.py trains, and its compiled steps equal the eager-backend ones."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "compiled_training.py"


@pytest.fixture(scope="module")
def example():
    return runpy.run_path(str(EXAMPLE))


def test_compiled_training_example_learns(example):
    losses = example["main"](steps=60, verbose=False)
    assert losses[-1] < 0.1 * losses[0]


def test_inductor_and_eager_backends_give_the_same_losses(example):
    compiled = example["main"](steps=10, verbose=False)
    eager = example["main"](steps=10, backend="eager", verbose=False)
    assert compiled == pytest.approx(eager, rel=1e-4, abs=1e-6)
