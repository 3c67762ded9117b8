"""A plain ``import optimtx`` prints nothing, with numpy installed and without it (torch warns then)."""

from __future__ import annotations

import subprocess
import sys

import pytest

HIDE_NUMPY = "import sys; sys.modules['numpy'] = None; "


@pytest.mark.parametrize("prelude", ["", HIDE_NUMPY], ids=["with-numpy", "without-numpy"])
def test_import_optimtx_prints_no_warning(prelude):
    proc = subprocess.run(
        [sys.executable, "-W", "always", "-c", prelude + "import optimtx; print('ok')"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "ok\n" and proc.stderr == ""


def test_the_simulation_really_makes_torch_warn():
    """Guards the test above: hiding numpy this way does make a bare ``import torch`` warn."""
    proc = subprocess.run(
        [sys.executable, "-W", "always", "-c", HIDE_NUMPY + "import torch"], capture_output=True, text=True, timeout=120
    )
    assert "Failed to initialize NumPy" in proc.stderr
