"""mkdocs hook: the site's figures and tables, made at build time by the project's own code.

* ``figures/plot_schedule_digits.png``: ``python -m optimtx plot-schedule`` of the demo config
  (the command ``docs/cli.md`` shows), run through the CLI's ``main``.
* ``figures/training_digits.png``: ``training.png`` of a three-epoch run of
  ``examples/train_digits.py`` (about ten seconds on two CPU cores).
* ``<!-- generated: explain digits -->`` in a page becomes the ``explain`` table of the demo config.

Nothing is written into ``docs/``: the files are added to the build in memory, with matplotlib's
Agg backend, so a build on a machine without a display works and leaves the tree clean.
"""

from __future__ import annotations

import contextlib
import io
import os
import runpy
import sys
import tempfile
from pathlib import Path
from typing import Any

EXPLAIN_MARKER = "<!-- generated: explain digits -->"
_CACHE: dict[str, Any] = {}


def _root(config: Any) -> Path:
    return Path(config["config_file_path"]).resolve().parent


def _quiet() -> contextlib.ExitStack:
    stack = contextlib.ExitStack()
    stack.enter_context(contextlib.redirect_stdout(io.StringIO()))
    return stack


def plot_schedule_png(root: Path, out: Path) -> bytes:
    """The picture of ``docs/cli.md``'s plot-schedule command, made by that command's code."""
    from optimtx.cli.main import main

    argv = ["plot-schedule", "examples/configs/digits.py", "--steps", "300", "--epoch-length", "22"]
    argv += ["--model", "examples/digits_common.py:build_model", "--out", str(out)]
    cwd = os.getcwd()
    os.chdir(root)
    try:
        with _quiet():
            code = main(argv)
    finally:
        os.chdir(cwd)
    if code != 0:
        raise RuntimeError(f"plot-schedule for the docs failed with exit code {code}")
    return out.read_bytes()


def training_png(root: Path, work_dir: Path) -> bytes:
    """``training.png`` of a short demo run."""
    script = root / "examples" / "train_digits.py"
    main = runpy.run_path(str(script), run_name="train_digits_docs")["main"]
    with _quiet():
        main(["--epochs", "3", "--no-progress", "--work-dir", str(work_dir), "--device", "cpu"])
    return (work_dir / "training.png").read_bytes()


def explain_table(root: Path) -> str:
    """The table the demo prints at its start (``explain`` of the config on the demo's model)."""
    examples = str(root / "examples")
    sys.path.insert(0, examples)
    try:
        from digits_common import DigitsCNN

        import optimtx as otx
        from optimtx.cli import load_config

        wrapper_cfg = dict(load_config(root / "examples" / "configs" / "digits.py")["optim_wrapper"], dtype="bfloat16")
        return str(otx.explain(DigitsCNN(), wrapper_cfg))
    finally:
        sys.path.remove(examples)


def _figures(config: Any) -> dict[str, bytes]:
    if "figures" not in _CACHE:  # mkdocs serve rebuilds often: make them once per process
        import matplotlib

        matplotlib.use("Agg")
        root = _root(config)
        with tempfile.TemporaryDirectory() as tmp:
            _CACHE["figures"] = {
                "figures/plot_schedule_digits.png": plot_schedule_png(root, Path(tmp) / "lr.png"),
                "figures/training_digits.png": training_png(root, Path(tmp) / "run"),
            }
        _CACHE["explain"] = explain_table(root)
    return _CACHE["figures"]


def on_files(files: Any, config: Any) -> Any:
    from mkdocs.structure.files import File

    for path, content in _figures(config).items():
        files.append(File.generated(config, path, content=content))
    return files


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    if EXPLAIN_MARKER not in markdown:
        return markdown
    _figures(config)
    return markdown.replace(EXPLAIN_MARKER, f"```text\n{_CACHE['explain']}\n```")
