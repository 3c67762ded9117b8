"""The recommended path is silent: example scripts print no warning at all, as a user runs them.

Run in one fresh interpreter with Python's default warning filters (what a user's terminal shows),
not pytest's. train_digits.py and ddp_train.py are checked the same way by their own tests
(tests/test_train_digits.py, tests/test_more_examples.py); the other examples run in-process in
their own tests, where optimtx's own warnings are errors (pyproject's filterwarnings).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
# One short script keeps this cheap; quickstart.py, gan_2d.py and the rest run in-process in their own tests, where
# optimtx's warnings are errors, and train_digits.py / ddp_train.py as subprocesses with their stderr checked.
QUICK = ["config_training.py"]

DRIVER = """
import runpy, sys
for path in sys.argv[1:]:
    runpy.run_path(path, run_name="__main__")
"""


def test_quick_examples_run_without_any_warning(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONWARNINGS",)}
    proc = subprocess.run(
        [sys.executable, "-c", DRIVER, *(str(EXAMPLES / name) for name in QUICK)],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
        env=env,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    # config_training.py turns on INFO logging on purpose; anything else on stderr is a warning.
    noise = [line for line in proc.stderr.splitlines() if line and not line.startswith("optimtx INFO")]
    assert noise == [], proc.stderr[-3000:]
