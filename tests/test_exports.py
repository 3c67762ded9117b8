"""Every public name is exported from optimtx, and every public factory is in __all__."""

from __future__ import annotations

import importlib
import inspect
import pathlib
import pkgutil
import subprocess
import sys

import pytest

import optimtx
import optimtx.transforms
from optimtx.core.base import GradientTransformation


def _transform_modules():
    for info in pkgutil.iter_modules(optimtx.transforms.__path__):
        if not info.name.startswith("_"):
            yield importlib.import_module(f"optimtx.transforms.{info.name}")


def _public_factories_and_states():
    for module in _transform_modules():
        for name, obj in vars(module).items():
            if name.startswith("_") or getattr(obj, "__module__", None) != module.__name__:
                continue
            returns = inspect.signature(obj).return_annotation if inspect.isfunction(obj) else None
            if returns in (GradientTransformation, "GradientTransformation") or name.endswith("State"):
                yield f"{module.__name__}.{name}", name, obj


def test_all_is_sorted_and_unique():
    assert list(optimtx.__all__) == sorted(set(optimtx.__all__))


@pytest.mark.parametrize("name", optimtx.__all__)
def test_every_name_in_all_is_importable(name):
    namespace = {}
    exec(f"from optimtx import {name}", namespace)
    assert namespace[name] is getattr(optimtx, name)


PUBLIC = list(_public_factories_and_states())


@pytest.mark.parametrize("qualname,name,obj", PUBLIC, ids=[q for q, _, _ in PUBLIC])
def test_every_public_factory_and_state_is_exported(qualname, name, obj):
    assert name in optimtx.__all__, f"{qualname} is public but not in optimtx.__all__"
    assert getattr(optimtx, name) is obj


def test_the_optimizers_are_found():
    found = {name for _, name, _ in PUBLIC}
    assert {"sgd", "adam", "adamw", "rmsprop", "adagrad", "lion", "trace", "scale_by_adam"} <= found


def test_version_and_typed_marker():
    assert isinstance(optimtx.__version__, str)
    assert all(part.isdigit() for part in optimtx.__version__.split(".")[:2])
    assert (pathlib.Path(optimtx.__file__).parent / "py.typed").is_file()


def test_import_has_no_global_side_effects():
    """Importing optimtx adds no root handler, no warning filter and sets no torch option."""
    code = (
        "import logging, warnings, torch\n"
        "before = (list(logging.getLogger().handlers), list(warnings.filters), torch.get_default_dtype(),"
        " torch.is_grad_enabled(), torch.get_num_threads())\n"
        "import optimtx, optimtx.optim, optimtx.registry, optimtx.logging\n"
        "after = (list(logging.getLogger().handlers), list(warnings.filters), torch.get_default_dtype(),"
        " torch.is_grad_enabled(), torch.get_num_threads())\n"
        "assert before == after, (before, after)\n"
        "assert logging.getLogger('optimtx').level == logging.NOTSET\n"
    )
    root = pathlib.Path(__file__).resolve().parent.parent
    result = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
