"""Smoke and resume tests of examples/train_digits.py (the README's "run" command)."""

from __future__ import annotations

import runpy
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "examples" / "train_digits.py"

pytest.importorskip("sklearn")
pytest.importorskip("tqdm")


@pytest.fixture(scope="module")
def train_main():
    return runpy.run_path(str(SCRIPT), run_name="train_digits")["main"]


def test_one_epoch_from_the_command_line_writes_outputs_and_learns(tmp_path):
    pytest.importorskip("matplotlib")
    out = subprocess.run(
        [sys.executable, str(SCRIPT), "--epochs", "1", "--compare", "--work-dir", str(tmp_path), "--no-progress"],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    ).stdout
    lines = out.strip().splitlines()
    assert lines[-1].startswith("test accuracy: 0.") and len(lines[-1]) == len("test accuracy: 0.NNN")
    assert "final test accuracy  optimtx" in out and "torch" in out
    for name in ("training.png", "latest.pth", "epoch_1.pth"):
        assert (tmp_path / name).stat().st_size > 0
    state = torch.load(tmp_path / "latest.pth", weights_only=False)
    losses = state["history"]["loss"]
    assert state["epoch"] == 1 and sum(losses[-5:]) < sum(losses[:5])
    assert set(state) >= {"model", "optim_wrapper", "param_schedulers", "rng"}


def test_resume_ends_with_bitwise_the_same_parameters(tmp_path, train_main):
    common = ["--no-progress", "--no-plot", "--seed", "3"]
    straight = train_main(["--epochs", "2", "--work-dir", str(tmp_path / "a"), *common])
    train_main(["--epochs", "1", "--work-dir", str(tmp_path / "b"), *common])
    torch.manual_seed(999)  # the checkpoint's RNG state must win over whatever the process holds
    resumed = train_main(
        ["--epochs", "2", "--work-dir", str(tmp_path / "b"), "--resume", str(tmp_path / "b" / "latest.pth"), *common]
    )
    a, b = straight["run"], resumed["run"]
    for (name, p), q in zip(a.model.state_dict().items(), b.model.state_dict().values(), strict=True):
        assert torch.equal(p, q), name
    assert a.history == b.history
    assert [s.state_dict() for s in a.schedulers] == [s.state_dict() for s in b.schedulers]


def test_default_config_builds_what_the_issue_asks_for():
    from optimtx.cli import load_config

    cfg = load_config(ROOT / "examples" / "configs" / "digits.py")
    wrapper = cfg["optim_wrapper"]
    assert wrapper["type"] == "AmpOptimWrapper" and wrapper["accumulative_counts"] > 1 and wrapper["clip_grad"]
    assert [s["type"] for s in cfg["param_scheduler"]] == ["LinearLR", "CosineAnnealingLR"]
