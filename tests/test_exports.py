"""Every public name is exported from optimtx, and every public factory is in __all__."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import optimtx
import optimtx.transforms
from optimtx.base import GradientTransformation


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
