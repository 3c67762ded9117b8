"""docs/architecture.md: its figure is generated from the code's imports by docs/_hooks/architecture.py."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

from optimtx._layers import LAYERS, layer_of, source_files

ROOT = Path(__file__).resolve().parents[1]
HOOK = ROOT / "docs" / "_hooks" / "architecture.py"


def _hook():
    spec = importlib.util.spec_from_file_location("architecture_hook", HOOK)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_page_holds_the_marker_and_is_in_the_nav():
    hook = _hook()
    assert hook.MARKER in (ROOT / "docs" / "architecture.md").read_text()
    assert "architecture.md" in (ROOT / "mkdocs.yml").read_text().split("\nnav:\n", 1)[1]
    assert "docs/_hooks/architecture.py" in (ROOT / "mkdocs.yml").read_text()


def test_the_figure_has_every_layer_and_folder_and_only_downward_arrows():
    graph = _hook().mermaid_graph()
    assert graph.startswith("flowchart TB")
    for index, (name, _) in enumerate(LAYERS):
        assert f'subgraph L{index}["{index}. {name}"]' in graph
    boxes = {".".join(m.split(".")[:2]) for m in source_files()}
    for box in boxes:
        assert re.search(rf"^    {re.escape(box.replace('.', '_'))}\[", graph, re.M), box
    arrows = re.findall(r"^  (\w+) -->\|(\d+)\| (\w+)$", graph, re.M)
    assert len(arrows) > 10
    ids = {box.replace(".", "_"): box for box in boxes}
    for source, count, target in arrows:
        assert int(count) >= 1
        assert layer_of(ids[source]) >= layer_of(ids[target]), (source, target)


def test_the_page_replacement_leaves_other_pages_alone():
    hook = _hook()
    assert hook.on_page_markdown("# other\n", None, None, None) == "# other\n"
    replaced = hook.on_page_markdown(f"# a\n\n{hook.MARKER}\n", None, None, None)
    assert "```mermaid\nflowchart TB" in replaced and hook.MARKER not in replaced
