"""Every public module says what it exports (``__all__``), and the modules users browse show only that in dir()."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import optimtx


def _public_modules() -> list[str]:
    names = ["optimtx"]
    for info in pkgutil.walk_packages(optimtx.__path__, "optimtx."):
        if not any(part.startswith("_") for part in info.name.split(".")[1:]):
            names.append(info.name)
    return names


@pytest.mark.parametrize("name", _public_modules())
def test_every_public_module_defines_all_and_every_listed_name_exists(name):
    needs = {
        "mmengine": "mmengine",
        "lightning": "lightning",
        "transformers": "transformers",
        "accelerate": "accelerate",
    }
    for suffix, package in needs.items():
        if name.startswith(f"optimtx.integrations.{suffix}"):
            pytest.importorskip(package)
    module = importlib.import_module(name)
    assert "__all__" in vars(module), f"{name} has no __all__"
    missing = [n for n in module.__all__ if not hasattr(module, n)]
    assert not missing, f"{name}.__all__ lists names it does not define: {missing}"
    assert len(set(module.__all__)) == len(module.__all__)


def test_dir_of_schedules_and_viz_shows_the_public_names_only():
    import optimtx.schedules
    import optimtx.viz

    for module in (optimtx.schedules, optimtx.viz):
        assert dir(module) == sorted(module.__all__)
    assert {"torch", "math", "Any"}.isdisjoint(dir(optimtx.schedules))
    assert optimtx.schedules.math is not None  # only the listing changes: attributes stay reachable
