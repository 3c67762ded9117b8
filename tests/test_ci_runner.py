"""``.ci/run``: a throwaway virtual environment, README's ci blocks in README order (test last), exit codes kept."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RUNNER = ROOT / ".ci" / "run"

FAKE_README = """# fake project

<!-- ci:test -->
```bash
echo "test $(python -c 'import sys; print(sys.prefix)') ${PYTHONPATH-unset}" >> order.txt && exit 3
```
<!-- /ci:test -->

<!-- ci:lint -->
```bash
echo lint >> order.txt
```
<!-- /ci:lint -->

<!-- ci:integrations -->
```bash
echo integrations >> order.txt
```
<!-- /ci:integrations -->
"""


@pytest.mark.skipif(sys.platform == "win32" or shutil.which("bash") is None, reason="the runner is a bash script")
def test_runner_uses_a_fresh_venv_runs_every_block_test_last_and_keeps_the_exit_code(tmp_path):
    (tmp_path / ".ci").mkdir()
    shutil.copy(RUNNER, tmp_path / ".ci" / "run")
    (tmp_path / "README.md").write_text(FAKE_README)
    env = {**os.environ, "PYTHONPATH": "/from/the/machine", "CI_SKIP_SDIST": "1", "PYTHON": sys.executable}
    proc = subprocess.run(
        ["bash", str(tmp_path / ".ci" / "run")], capture_output=True, text=True, env=env, timeout=300, check=False
    )
    assert proc.returncode == 3, proc.stdout + proc.stderr  # the failing command's own status
    lint, integrations, test = (tmp_path / "order.txt").read_text().splitlines()
    assert (lint, integrations) == ("lint", "integrations")  # every block, README order, a new one needs no edit
    _, prefix, *pythonpath = test.split(" ")
    assert prefix.startswith(os.environ.get("TMPDIR", "/tmp")) and prefix != sys.prefix  # a throwaway venv
    assert not Path(prefix).exists()  # removed afterwards
    assert pythonpath == ["unset"]  # nothing leaks in from the machine's environment


def test_runner_has_the_sdist_leg_and_the_readme_keeps_its_blocks():
    text = RUNNER.read_text()
    assert "-m venv" in text and "python -m build --sdist" in text and 'run_block test "$SDIST_DIR"' in text
    readme = (ROOT / "README.md").read_text()
    for name in ("lint", "docs", "test"):
        assert f"<!-- ci:{name} -->" in readme and f"<!-- /ci:{name} -->" in readme
    for path in text.split("SDIST_TESTS=(", 1)[1].split(")", 1)[0].split():
        assert (ROOT / path).is_file(), path  # the fast subset names real files


def test_install_instructions_say_what_each_machine_gets_and_ci_uses_plain_pypi():
    readme = (ROOT / "README.md").read_text()
    cpu_index = "pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu"
    for page in (readme, (ROOT / "docs" / "getting_started.md").read_text()):
        assert cpu_index in page
        assert all(system in page for system in ("Linux, x86-64", "macOS", "Windows"))
    assert "CPU build\nof torch 2.13.0 first" not in readme  # the old claim, untrue off this machine
    ci_blocks = [part.split("<!-- /ci:")[0] for part in readme.split("<!-- ci:")[1:]]
    assert ci_blocks and not any("index-url" in block for block in ci_blocks)  # CI reaches only PyPI
