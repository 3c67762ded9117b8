"""Every ```python block in docs/*.md runs (blocks of one page share a namespace, in order).

A line ``print(expr)  # text`` must print exactly ``text``; other fenced languages
(```text, ```bash, ```py) are not run.
"""

from __future__ import annotations

import pathlib
import re
import sys

import pytest

DOCS = sorted((pathlib.Path(__file__).resolve().parent.parent / "docs").glob("*.md"))
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)
EXPECTED = re.compile(r"^\s*print\(.*\)\s+#\s?(.*)$")


def _run_page(path: pathlib.Path) -> list[tuple[int, str, str]]:
    mismatches = []
    namespace: dict = {"__name__": f"docs_{path.stem}"}
    for block in BLOCK.findall(path.read_text()):
        expected = {
            i + 1: m.group(1).strip() for i, line in enumerate(block.splitlines()) if (m := EXPECTED.match(line))
        }
        filename = f"<{path.name} block>"

        def recording_print(*args, sep=" ", end="\n", file=None, flush=False, _expected=expected, _fn=filename):
            frame = sys._getframe(1)
            text = sep.join(str(a) for a in args)
            if frame.f_code.co_filename == _fn and frame.f_lineno in _expected and text != _expected[frame.f_lineno]:
                mismatches.append((frame.f_lineno, _expected[frame.f_lineno], text))

        namespace["print"] = recording_print
        exec(compile(block, filename, "exec"), namespace)
    return mismatches


@pytest.mark.parametrize("path", DOCS, ids=[p.name for p in DOCS])
def test_doc_page_code_runs_and_prints_what_it_says(path):
    assert _run_page(path) == []


def test_docs_exist():
    assert len(DOCS) >= 3
