"""The docs as a reader meets them: docs/cli.md's commands run as written, the built-HTML check, build-time figures."""

from __future__ import annotations

import importlib.util
import re
import shlex
from pathlib import Path

import pytest

from optimtx.cli.main import main

ROOT = Path(__file__).resolve().parents[1]


def _load(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _cli_commands() -> list[list[str]]:
    text = (ROOT / "docs" / "cli.md").read_text()
    blocks = re.findall(r"^```bash\n(.*?)^```", text, re.S | re.M)
    lines = [line.split("  #")[0].strip() for block in blocks for line in block.splitlines()]
    return [shlex.split(line) for line in lines if line.startswith("python -m optimtx")]


def test_every_command_in_docs_cli_runs_as_written(tmp_path, monkeypatch, capsys):
    pytest.importorskip("matplotlib")
    (tmp_path / "examples").symlink_to(ROOT / "examples")  # the repository root, without writing into it
    monkeypatch.chdir(tmp_path)
    commands = _cli_commands()
    assert len(commands) >= 4
    for argv in commands:
        assert argv[:3] == ["python", "-m", "optimtx"]
        code = main(argv[3:])
        _, err = capsys.readouterr()
        if any("no_such_factory" in a for a in argv):  # the page's example of an error, and what it prints
            assert code == 2 and err.startswith("optimtx: error: module 'examples/digits_common.py' has no attribute")
            assert err.count("\n") == 1
        else:
            assert code == 0 and err == "", (argv, err)
    assert (tmp_path / "lr.png").read_bytes()[:4] == b"\x89PNG" and (tmp_path / "lr_base.png").is_file()


def test_site_check_finds_raw_roles_and_collapsed_examples():
    check = _load(ROOT / ".ci" / "check_site.py")
    good = (
        '<p>See <a href="#optimtx.chain"><code>chain</code></a>.</p>'
        '<p><span class="doc-section-title">Examples:</span></p><div class="highlight"><pre><code>'
        '<span class="gp">&gt;&gt;&gt; </span>1 + 1</code></pre></div>'
    )
    assert check.page_problems(good, "good.html") == []
    raw = "<p>Use :class:<code>OptimWrapper</code> and :meth:<code>step</code>.</p>"
    assert check.page_problems(raw, "raw.html") == [
        'raw.html: raw reST role shown as text: ":class:OptimWrapper"',
        'raw.html: raw reST role shown as text: ":meth:step."',
    ]
    collapsed = (
        '<div class="admonition example"><p class="admonition-title">Example</p><p>&gt;&gt;&gt; f(1) 2</p></div>'
    )
    problems = check.page_problems(collapsed, "c.html")
    assert any("admonition" in p for p in problems) and any(">>>" in p for p in problems)
    unresolved = "<p>See [<code>chain</code>][optimtx.no_such_name].</p>"
    assert any("did not resolve" in p for p in check.page_problems(unresolved, "u.html"))
    empty = '<span class="doc-section-title">Examples:</span><p>text only</p>'
    assert any("without a code block" in p for p in check.page_problems(empty, "e.html"))


def test_site_check_on_a_tiny_site(tmp_path):
    check = _load(ROOT / ".ci" / "check_site.py")
    (tmp_path / "page").mkdir()
    (tmp_path / "page" / "index.html").write_text('<p>fine</p><img src="../figures/a.png" alt="a">')
    problems = check.site_problems(tmp_path)
    assert any("'../figures/a.png' is missing" in p for p in problems) and any("search_index" in p for p in problems)
    (tmp_path / "figures").mkdir()
    (tmp_path / "figures" / "a.png").write_bytes(b"\x89PNG")
    (tmp_path / "search").mkdir()
    (tmp_path / "search" / "search_index.json").write_text("{}")
    assert check.site_problems(tmp_path) == []
    assert check.main([str(tmp_path)]) == 0


def test_example_sections_become_examples_for_the_renderer():
    pytest.importorskip("griffe")
    hook = _load(ROOT / "docs" / "_hooks" / "griffe_examples.py")
    text = "Do it.\n\n    Example:\n        >>> 1 + 1\n        2\n\nNot an Example: heading.\n"
    assert hook.plural_examples(text) == text.replace("    Example:\n", "    Examples:\n")


def test_build_time_figures_come_from_the_project_code(tmp_path):
    pytest.importorskip("matplotlib")
    pytest.importorskip("sklearn")
    hook = _load(ROOT / "docs" / "_hooks" / "figures.py")
    png = hook.plot_schedule_png(ROOT, tmp_path / "lr.png")
    assert png[:4] == b"\x89PNG"
    table = hook.explain_table(ROOT)
    assert table.splitlines()[0].split()[:2] == ["parameter", "label"] and "custom:head" in table
    cli_page = (ROOT / "docs" / "cli.md").read_text()
    assert hook.EXPLAIN_MARKER in cli_page and "figures/plot_schedule_digits.png" in cli_page
    assert "figures/training_digits.png" in (ROOT / "docs" / "examples.md").read_text()
