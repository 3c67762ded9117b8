"""The layers of the package, lowest first, and the import graph read from the source with ``ast``.

This table is the one declaration of the layer order: tests/test_layers.py checks every import
against it (no upward import, no cycle, no old path used inside the package) and the docs hook
``docs/_hooks/architecture.py`` draws the figure of docs/architecture.md from the same graph.
Nothing here is imported by the library at run time.

Example:
    >>> layer_of("optimtx.core.tree") < layer_of("optimtx.transforms.adam") < layer_of("optimtx.config.builder")
    True
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent

# (name, module prefixes), lowest first. A module may import its own layer and the layers below.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("core", ("optimtx.core",)),
    ("rules", ("optimtx.transforms", "optimtx.schedules")),
    ("compiled steps, transform configs", ("optimtx.compile", "optimtx.transform_configs")),
    ("facade", ("optimtx.wrapper",)),
    ("parameter schedulers", ("optimtx.param_scheduler",)),
    ("config", ("optimtx.config",)),
    (
        "entry points",
        (
            "optimtx",  # the package __init__ itself
            "optimtx.__main__",
            "optimtx._layers",
            "optimtx._old_paths",
            "optimtx.cli",
            "optimtx.integrations",
            "optimtx.optax",
            "optimtx.optim",
            "optimtx.registry",
            "optimtx.testing",
            "optimtx.viz",
        ),
    ),
)


@dataclass(frozen=True)
class Import:
    """One import of an optimtx module: who imports what, where, and whether inside a function."""

    source: str
    target: str
    line: int
    in_function: bool


def module_name(path: Path) -> str:
    """The dotted name of a source file of the package.

    Example:
        >>> module_name(PACKAGE_DIR / "core" / "__init__.py"), module_name(PACKAGE_DIR / "core" / "tree.py")
        ('optimtx.core', 'optimtx.core.tree')
    """
    parts = list(path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def source_files() -> dict[str, Path]:
    """``{module name: path}`` for every ``.py`` file of the package.

    Example:
        >>> "optimtx.core.base" in source_files()
        True
    """
    return {module_name(path): path for path in sorted(PACKAGE_DIR.rglob("*.py"))}


def layer_of(module: str) -> int:
    """The index in `LAYERS` of the longest prefix that owns ``module``.

    Raises:
        LookupError: no layer declares ``module``.

    Example:
        >>> LAYERS[layer_of("optimtx.wrapper.optim_wrapper")][0]
        'facade'
    """
    best, best_len = -1, -1
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            owns = module == prefix or (prefix != "optimtx" and module.startswith(prefix + "."))
            if owns and len(prefix) > best_len:
                best, best_len = index, len(prefix)
    if best < 0:
        raise LookupError(f"{module} is in no layer: add it (or its folder) to optimtx/_layers.py LAYERS.")
    return best


def _function_nodes(tree: ast.AST) -> set[int]:
    inside: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            inside.update(id(sub) for sub in ast.walk(node) if isinstance(sub, (ast.Import, ast.ImportFrom)))
    return inside


def _targets(node: ast.Import | ast.ImportFrom, source: str, is_package: bool, known: set[str]) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:
        package = source if is_package else source.rpartition(".")[0]
        anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
        base = ".".join(anchor + ([node.module] if node.module else []))
    # ``from optimtx.core import tree`` imports the module optimtx.core.tree, not the package.
    return [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]


def imports_of(module: str, path: Path, known: set[str]) -> list[Import]:
    """Every import of an optimtx module in one file, module-level and inside functions.

    Example:
        >>> files = source_files()
        >>> sorted({i.target for i in imports_of("optimtx.core.base", files["optimtx.core.base"], set(files))})
        ['optimtx.core.tree']
    """
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    in_function = _function_nodes(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            for target in _targets(node, module, path.name == "__init__.py", known):
                if target == "optimtx" or target.startswith("optimtx."):
                    found.append(Import(module, target, node.lineno, id(node) in in_function))
    return sorted(found, key=lambda i: (i.line, i.target))


def import_graph() -> list[Import]:
    """All imports between optimtx modules, read from the source files.

    Example:
        >>> edges = {(i.source, i.target) for i in import_graph()}
        >>> ("optimtx.config.builder", "optimtx.config.registries") in edges
        True
    """
    files = source_files()
    known = set(files)
    return [found for module, path in files.items() for found in imports_of(module, path, known)]


def upward_imports(graph: list[Import]) -> list[str]:
    """One line per import that reaches a higher layer than its own.

    Example:
        >>> upward_imports([Import("optimtx.core.tree", "optimtx.wrapper", 3, False)])
        ['optimtx.core.tree:3 (core) imports optimtx.wrapper (facade)']
    """
    return [
        f"{i.source}:{i.line} ({LAYERS[layer_of(i.source)][0]}) imports {i.target} ({LAYERS[layer_of(i.target)][0]})"
        for i in graph
        if layer_of(i.target) > layer_of(i.source)
    ]


def find_cycles(graph: list[Import]) -> list[list[str]]:
    """The import cycles of ``graph``: each strongly connected group of two or more modules (or a self-import).

    Example:
        >>> ring = [Import("a", "b", 1, False), Import("b", "c", 1, True), Import("c", "a", 1, False)]
        >>> find_cycles(ring + [Import("c", "d", 2, False)])
        [['a', 'b', 'c']]
    """
    edges: dict[str, set[str]] = {}
    for i in graph:
        edges.setdefault(i.source, set()).add(i.target)
        edges.setdefault(i.target, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        for succ in sorted(edges[node]):
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1 or node in edges[node]:
                cycles.append(sorted(group))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return sorted(cycles)
