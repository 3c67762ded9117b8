"""The docs site: API pages list every public name (from the same hook mkdocs runs), the nav is complete."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import optimtx

ROOT = Path(__file__).resolve().parents[1]
HOOK = ROOT / "docs" / "_hooks" / "api_pages.py"


def _hook():
    spec = importlib.util.spec_from_file_location("api_pages_hook", HOOK)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_public_name_appears_in_the_api_pages():
    pages = _hook().api_pages()
    listed = re.findall(r"^::: optimtx\.(\w+)$", "\n".join(pages.values()), re.M)
    assert sorted(listed) == sorted(optimtx.__all__)
    assert all(path.startswith("api/") and path.endswith(".md") for path in pages)


def test_nav_pages_exist_and_unlisted_pages_are_added(tmp_path):
    hook = _hook()
    nav_text = (ROOT / "mkdocs.yml").read_text().split("\nnav:\n", 1)[1]
    for page in re.findall(r":\s*(\S+\.md)\s*$", nav_text, re.M):
        assert (ROOT / "docs" / page).is_file(), page
    (tmp_path / "listed.md").write_text("# a")
    (tmp_path / "new_page.md").write_text("# b")
    config = hook.on_config({"nav": [{"Home": "listed.md"}], "docs_dir": str(tmp_path)})
    assert config["nav"][1] == {"More": ["new_page.md"]}
    assert list(config["nav"][-1]) == ["API reference"]
