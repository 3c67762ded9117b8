"""examples/distributed_training.py runs under the documented torchrun command (FSDP2 leg)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tests.distributed.harness import requires_gloo

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "distributed_training.py"
LINE = re.compile(r"(DDP|FSDP2) on 2 ranks: loss ([\d.]+) -> ([\d.]+), scale ([\d.]+)")


def _torchrun(tmp_path: Path, *flags: str) -> tuple[re.Match, Path]:
    checkpoint = tmp_path / f"ckpt{'_'.join(flags)}.pt"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", str(EXAMPLE)]
    env = {**os.environ, "GLOO_SOCKET_IFNAME": "lo", "OMP_NUM_THREADS": "1"}
    env["PYTHONPATH"] = os.pathsep.join([str(EXAMPLE.parents[1]), env.get("PYTHONPATH", "")])
    try:
        done = subprocess.run(
            [*cmd, *flags, "--checkpoint", str(checkpoint)], env=env, capture_output=True, text=True, timeout=150
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"torchrun {' '.join(flags)} did not finish within 150 s")
    assert done.returncode == 0, done.stderr[-3000:]
    match = LINE.search(done.stdout)
    assert match is not None, done.stdout
    return match, checkpoint


@pytest.mark.distributed
@pytest.mark.slow
@requires_gloo
def test_distributed_example_trains_with_fsdp2_and_writes_a_full_checkpoint(tmp_path):
    # DDP's path is the same script without --fsdp; test_ddp.py and test_fsdp.py check both against one process.
    match, checkpoint = _torchrun(tmp_path, "--fsdp")
    assert float(match.group(3)) < float(match.group(2))  # it learned
    state = torch.load(checkpoint, weights_only=False)
    assert set(state) == {"model", "optimizer", "loss_scaler"}
    assert state["loss_scaler"]["scale"] == float(match.group(4))
    model = torch.nn.Sequential(torch.nn.Linear(8, 32), torch.nn.ReLU(), torch.nn.Linear(32, 2))
    model.load_state_dict(state["model"])  # the gathered state is a plain, unsharded one
