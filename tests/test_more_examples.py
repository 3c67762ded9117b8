"""Smoke tests of examples/gan_2d.py, examples/functional_digits.py and examples/ddp_train.py."""

from __future__ import annotations

import os
import runpy
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _main(name: str):
    return runpy.run_path(str(EXAMPLES / name), run_name=name.removesuffix(".py"))["main"]


def test_gan_learns_the_modes_and_writes_the_picture(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    result = _main("gan_2d.py")(["--steps", "300", "--work-dir", str(tmp_path)])
    out = capsys.readouterr().out.splitlines()
    progress = [line for line in out if line.startswith("step ")]  # plain progress lines, readable in a log
    assert len(progress) == 10 and progress[-1].startswith("step 300/300  d_loss ")
    assert "generator lr: default 1.00e-03" in out and "discriminator lr: default 2.00e-03, bias 2.00e-03" in out
    assert (tmp_path / "samples.png").read_bytes()[:4] == b"\x89PNG"
    assert result["distance"] < 0.6 * result["start_distance"]
    saved = torch.load(tmp_path / "wrappers.pth", weights_only=False)
    assert {k.split(".")[0] for k in saved} == {"generator", "discriminator"}
    assert result["wrappers"]["generator"].autocast_dtype == torch.bfloat16


def test_functional_digits_trains_with_a_pure_chain():
    pytest.importorskip("sklearn")
    result = _main("functional_digits.py")(["--epochs", "2"])
    assert result["losses"][1] < result["losses"][0]
    assert result["accuracy"] > 0.8


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.distributed
def test_ddp_example_with_two_processes(tmp_path):
    pytest.importorskip("sklearn")
    env = {**os.environ, "GLOO_SOCKET_IFNAME": "lo", "OMP_NUM_THREADS": "1"}
    cmd = [
        sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--master_addr=127.0.0.1",
        f"--master_port={_free_port()}", str(EXAMPLES / "ddp_train.py"), "--epochs", "1", "--work-dir", str(tmp_path),
    ]  # fmt: skip
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=240, env=env)
    except subprocess.TimeoutExpired as err:  # a hang is a failure, not a stuck suite
        pytest.fail(f"ddp_train.py hung: {err}")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Warning" not in proc.stderr, proc.stderr[-2000:]  # the recommended path is silent on every rank
    assert "lr [default " in proc.stdout and "custom:head " in proc.stdout  # groups named as explain names them
    assert "ranks in sync: True" in proc.stdout
    assert proc.stdout.strip().splitlines()[-1].startswith("test accuracy: 0.")
    state = torch.load(tmp_path / "latest.pth", weights_only=False)
    assert state["epoch"] == 1 and not any(k.startswith("module.") for k in state["model"])
