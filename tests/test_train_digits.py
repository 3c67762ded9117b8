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


def test_bfloat16_moments_config_keeps_its_state_in_bfloat16_and_learns(tmp_path, train_main):
    """The mu_dtype config (issue 15, part 4): pure adamw in TransformOptimizer with bfloat16 first moments."""
    cfg = ROOT / "examples" / "configs" / "digits_bf16_moments.py"
    result = train_main(
        ["--config", str(cfg), "--epochs", "1", "--no-progress", "--no-plot", "--work-dir", str(tmp_path)]
    )
    states = torch.load(tmp_path / "latest.pth", weights_only=False)["optim_wrapper"]
    dtypes = {t.dtype for t in _tensors(states) if t.dim() > 0}
    assert torch.bfloat16 in dtypes  # the first moments
    assert result["accuracy"] > 0.5


def _tensors(node):
    if isinstance(node, torch.Tensor):
        yield node
    elif isinstance(node, dict):
        for v in node.values():
            yield from _tensors(v)
    elif isinstance(node, (list, tuple)):
        for v in node:
            yield from _tensors(v)
