"""Smoke test of examples/optax_port.py: an optax-written loop trains through optimtx.optax."""

from __future__ import annotations

import runpy
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "optax_port.py"


def test_optax_port_example_trains():
    result = runpy.run_path(str(EXAMPLE), run_name="optax_port")["main"](["--steps", "24"])
    losses = result["losses"]
    assert sum(losses[-5:]) < 0.5 * sum(losses[:5])
    assert result["grad_norm"] > 0
