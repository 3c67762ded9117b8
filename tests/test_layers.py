"""Folders are layers and imports only go down: every import in optimtx, read with ``ast``, is checked.

The layer order is declared once, in optimtx/_layers.py (LAYERS); this file only applies it.
"""

from __future__ import annotations

import pytest

from optimtx._layers import LAYERS, Import, find_cycles, import_graph, layer_of, source_files, upward_imports
from optimtx._old_paths import MOVED

GRAPH = import_graph()
ENTRY = len(LAYERS) - 1


def test_every_module_belongs_to_a_declared_layer():
    undeclared = []
    for module in source_files():
        try:
            layer_of(module)
        except LookupError as error:
            undeclared.append(str(error))
    assert not undeclared, "\n".join(undeclared)


def test_no_import_reaches_up_a_layer():
    upward = upward_imports(GRAPH)
    assert not upward, (
        "Imports only go down (layers, lowest first: "
        + " < ".join(name for name, _ in LAYERS)
        + "). Move the code to the right layer, or fill the registry from the layer that defines the entries:\n"
        + "\n".join(upward)
    )


def test_no_import_cycles_among_modules():
    cycles = find_cycles(GRAPH)
    assert not cycles, "Import cycles (module-level and function-level imports counted):\n" + "\n".join(
        " <-> ".join(cycle) for cycle in cycles
    )


def test_no_function_level_import_of_optimtx_below_the_entry_points():
    hidden = [f"{i.source}:{i.line} imports {i.target}" for i in GRAPH if i.in_function and layer_of(i.source) < ENTRY]
    assert not hidden, (
        "Import optimtx modules at module level (a function-level import hides the structure; optional "
        "third-party dependencies may be imported inside functions):\n" + "\n".join(hidden)
    )


def test_the_package_uses_the_new_paths_not_the_old_aliases():
    old = [f"{i.source}:{i.line} imports {i.target}, now {MOVED[i.target]}" for i in GRAPH if i.target in MOVED]
    assert not old, "Inside optimtx, import the modules where they live:\n" + "\n".join(old)


def test_the_graph_is_read_from_the_source():
    assert len(GRAPH) > 200
    assert any(i.source == "optimtx.wrapper.torch_optimizer" and i.target == "optimtx.core.base" for i in GRAPH)
    assert all(i.target == "optimtx" or i.target.startswith("optimtx.") for i in GRAPH)


def test_the_checks_catch_an_upward_import_and_a_cycle():
    up = Import("optimtx.core.tree", "optimtx.config.builder", 7, False)
    assert upward_imports([up]) == ["optimtx.core.tree:7 (core) imports optimtx.config.builder (config)"]
    down = Import("optimtx.config.builder", "optimtx.core.tree", 7, False)
    assert upward_imports([down]) == []
    ring = [Import("m.a", "m.b", 1, False), Import("m.b", "m.a", 2, True)]
    assert find_cycles(ring) == [["m.a", "m.b"]]
    assert find_cycles([Import("m.a", "m.a", 1, False)]) == [["m.a"]]
    assert find_cycles([down]) == []


def test_an_undeclared_module_is_refused_by_name():
    with pytest.raises(LookupError, match=r"elsewhere\.mod is in no layer"):
        layer_of("elsewhere.mod")


@pytest.mark.parametrize(
    ("module", "layer"),
    [
        ("optimtx.core.base", "core"),
        ("optimtx.transforms.adam", "rules"),
        ("optimtx.schedules", "rules"),
        ("optimtx.compile", "compiled steps, transform configs"),
        ("optimtx.wrapper.optim_wrapper", "facade"),
        ("optimtx.param_scheduler.lr", "parameter schedulers"),
        ("optimtx.config.builder", "config"),
        ("optimtx", "entry points"),
        ("optimtx.optim", "entry points"),
    ],
)
def test_layer_of_known_modules(module, layer):
    assert LAYERS[layer_of(module)][0] == layer
