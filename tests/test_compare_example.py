"""Smoke test of examples/compare_optimizers.py with tiny settings (seconds)."""

from __future__ import annotations

import math
import runpy
from pathlib import Path

import pytest

import optimtx as otx

ROOT = Path(__file__).resolve().parents[1]
pytest.importorskip("sklearn")
pytest.importorskip("matplotlib")


def test_tiny_comparison_runs_every_registered_optimizer_skips_the_rest_and_plots(tmp_path, capsys):
    module = runpy.run_path(str(ROOT / "examples" / "compare_optimizers.py"), run_name="compare_optimizers")
    results = module["main"](["--steps", "3", "--tiny", "--work-dir", str(tmp_path)])
    out = capsys.readouterr().out
    expected = {name for name, cfg in module["OPTIMIZERS"].items() if not module["missing_types"](cfg)}
    assert {"AdamW", "Muon", "AdamW 8-bit"} <= expected
    for name in set(module["OPTIMIZERS"]) - expected:
        assert f"skipping {name}" in out
    assert set(results) == {"digits", "lm"}
    for runs in results.values():
        assert set(runs) == expected
        for run in runs.values():
            assert len(run["loss"]) == 3 and all(math.isfinite(x) for x in run["loss"])
            assert run["step_ms"] > 0 and 0 <= run["accuracy"] <= 1
        assert runs["AdamW"]["bytes_per_param"] == pytest.approx(8.0, abs=0.01)  # + an int64 counter per group
        assert runs["AdamW 8-bit"]["bytes_per_param"] < 4.5
    assert (tmp_path / "compare.png").stat().st_size > 0


def test_missing_types_names_nested_types_that_are_not_registered():
    module = runpy.run_path(str(ROOT / "examples" / "compare_optimizers.py"), run_name="compare_optimizers")
    cfg = dict(type="quantize_state", inner=dict(type="no_such_rule"))
    assert module["missing_types"](cfg) == ["no_such_rule"]
    assert "quantize_state" in otx.TRANSFORMS
