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
    proc = subprocess.run(  # not on a terminal: the progress bar stays off by itself
        [sys.executable, str(SCRIPT), "--epochs", "1", "--compare", "--work-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    out = proc.stdout
    lines = out.strip().splitlines()
    assert lines[-1].startswith("test accuracy: 0.") and len(lines[-1]) == len("test accuracy: 0.NNN")
    assert "final test accuracy  optimtx" in out and "torch" in out
    assert "\r" not in out + proc.stderr  # readable in a log: no progress-bar redraws
    assert "Warning" not in proc.stderr and proc.stderr.strip() == "", proc.stderr  # the recommended path is silent
    # The lr line names the groups as explain does; the base-settings entry is not a group.
    assert "lr [default 4.00e-03, bias+norm 4.00e-03, custom:head 2.00e-03, custom:head.bias 2.00e-03]" in out
    assert "loss scale" not in lines[-4]  # bfloat16 on the CPU: no scaler, nothing to report
    for name in ("training.png", "latest.pth", "epoch_1.pth", "history.pt"):
        assert (tmp_path / name).stat().st_size > 0
    state = torch.load(tmp_path / "latest.pth", weights_only=False)
    losses = torch.load(tmp_path / "history.pt", weights_only=False)["loss"]
    assert state["epoch"] == 1 and sum(losses[-5:]) < sum(losses[:5])
    assert set(state) >= {"model", "optim_wrapper", "param_schedulers", "rng"} and "history" not in state


def test_resume_ends_with_bitwise_the_same_parameters(tmp_path, train_main):
    common = ["--no-progress", "--no-plot", "--seed", "3"]
    straight = train_main(["--epochs", "2", "--work-dir", str(tmp_path / "a"), *common])
    train_main(["--epochs", "1", "--work-dir", str(tmp_path / "b"), *common])
    torch.manual_seed(999)  # the checkpoint's RNG state must win over whatever the process holds
    resumed = train_main(
        ["--epochs", "2", "--work-dir", str(tmp_path / "b"), "--resume", str(tmp_path / "b" / "latest.pth"), *common]
    )
    a, b = straight["run"], resumed["run"]
    # A checkpoint holds what resuming needs, not the run's history: it does not grow epoch by epoch.
    sizes = {(tmp_path / "a" / f"epoch_{i}.pth").stat().st_size for i in (1, 2)}
    assert len(sizes) == 1
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


def test_ctrl_c_prints_how_to_resume_without_a_traceback(tmp_path, capsys):
    namespace = runpy.run_path(str(SCRIPT), run_name="train_digits_interrupted")
    main, real_epoch = namespace["main"], namespace["train_epoch"]
    calls = []

    def interrupted_in_the_second_epoch(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real_epoch(*args, **kwargs)

    main.__globals__["train_epoch"] = interrupted_in_the_second_epoch
    with pytest.raises(SystemExit) as exit_:
        main(["--epochs", "3", "--no-progress", "--no-plot", "--work-dir", str(tmp_path)])
    assert exit_.value.code == 130
    err = capsys.readouterr().err
    latest = tmp_path / "latest.pth"
    assert f"{latest} holds the model after epoch 1" in err and "Traceback" not in err
    command = err.strip().splitlines()[-1].split()
    assert command[:4] == ["python", "examples/train_digits.py", "--resume", str(latest)]
    assert command[4:] == ["--work-dir", str(tmp_path), "--epochs", "3"]
