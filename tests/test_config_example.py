"""Smoke test of examples/config_training.py."""

from __future__ import annotations

import runpy
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "config_training.py"


def test_config_training_example_runs_and_learns(capsys):
    namespace = runpy.run_path(str(EXAMPLE))
    first, last = namespace["main"](steps=40)
    out = capsys.readouterr().out
    assert last < first
    assert "custom_keys['head']" in out
    assert "3 torch param groups, lr: default 0.003, bias+norm 0.003, custom:head 0.006" in out  # named as explain
