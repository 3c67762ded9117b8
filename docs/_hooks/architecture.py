"""mkdocs hook: the figure of docs/architecture.md, drawn at build time from the code's own imports.

The page holds the marker ``<!-- import-graph -->``; this hook replaces it with a Mermaid flowchart:
one box per folder (or top-level module) of ``optimtx``, grouped by the layers of
``optimtx/_layers.py`` (the same table tests/test_layers.py enforces), and one arrow per pair of
boxes with at least one import between them, labelled with the number of imports.
"""

from __future__ import annotations

from collections import Counter

MARKER = "<!-- import-graph -->"


def _box(module: str) -> str:
    """The folder (``optimtx.wrapper``) or top-level module (``optimtx.compile``) that holds ``module``."""
    parts = module.split(".")
    return ".".join(parts[:2])


def _node_id(box: str) -> str:
    return box.replace(".", "_")


def mermaid_graph() -> str:
    """A Mermaid ``flowchart`` of the import graph between the folders of optimtx, layers as subgraphs."""
    from optimtx._layers import LAYERS, import_graph, layer_of, source_files

    boxes = sorted({_box(m) for m in source_files()})
    edges = Counter((_box(i.source), _box(i.target)) for i in import_graph() if _box(i.source) != _box(i.target))
    lines = ["flowchart TB"]
    for index in range(len(LAYERS) - 1, -1, -1):  # highest layer first, so arrows point down the page
        name = LAYERS[index][0]
        members = [b for b in boxes if layer_of(b) == index]
        lines.append(f'  subgraph L{index}["{index}. {name}"]')
        for box in members:
            label = "optimtx (package __init__)" if box == "optimtx" else box.removeprefix("optimtx.")
            lines.append(f'    {_node_id(box)}["{label}"]')
        lines.append("  end")
    for (source, target), count in sorted(edges.items()):
        lines.append(f"  {_node_id(source)} -->|{count}| {_node_id(target)}")
    return "\n".join(lines)


def on_page_markdown(markdown, page, config, files):  # type: ignore[no-untyped-def]
    if MARKER not in markdown:
        return markdown
    return markdown.replace(MARKER, f"```mermaid\n{mermaid_graph()}\n```")
