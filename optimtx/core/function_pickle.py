"""Pickle transforms, whose ``init``/``update`` are closures, by value.

A [`GradientTransformation`][optimtx.GradientTransformation] is a pair of functions defined inside its
factory, which the standard ``pickle`` cannot save (it saves functions by their import
path). `dumps` saves such *local* functions by value instead: their code, the
module whose globals they use, their defaults and the contents of their closure cells
(recursively, so a chain of closures works, lambdas included). Functions that can be
imported by name are saved by name as usual.

The code is stored in Python's ``marshal`` format, which is specific to one Python
version: `loads` refuses, with a clear error, data written by another version.
For checkpoints meant to outlive the environment, save ``state_dict()`` instead.
"""

from __future__ import annotations

import importlib
import io
import marshal
import pickle
import sys
import types
from typing import Any

__all__ = ["dumps", "loads"]

_VERSION = tuple(sys.version_info[:2])


class _EmptyCell:
    """Marks a closure cell that had no value yet."""


def _importable(fn: types.FunctionType) -> bool:
    module = sys.modules.get(fn.__module__ or "")
    target: Any = module
    for part in fn.__qualname__.split("."):
        target = getattr(target, part, None)
    return target is fn


def _make_function(code: bytes, module: str, name: str, n_cells: int) -> types.FunctionType:
    cells = tuple(types.CellType() for _ in range(n_cells))
    fn_globals = importlib.import_module(module).__dict__ if module else {"__builtins__": __builtins__}
    return types.FunctionType(marshal.loads(code), fn_globals, name, None, cells or None)


def _set_function_state(fn: types.FunctionType, state: dict[str, Any]) -> None:
    for cell, value in zip(fn.__closure__ or (), state["cells"], strict=True):
        if value is not _EmptyCell:
            cell.cell_contents = value
    fn.__defaults__ = state["defaults"]
    fn.__kwdefaults__ = state["kwdefaults"]
    fn.__qualname__ = state["qualname"]
    fn.__dict__.update(state["dict"])


class _Pickler(pickle.Pickler):
    def reducer_override(self, obj: Any) -> Any:
        if not isinstance(obj, types.FunctionType) or _importable(obj):
            return NotImplemented
        cells = obj.__closure__ or ()
        contents = []
        for cell in cells:
            try:
                contents.append(cell.cell_contents)
            except ValueError:  # a cell that was never filled
                contents.append(_EmptyCell)
        state = {
            "cells": contents,
            "defaults": obj.__defaults__,
            "kwdefaults": obj.__kwdefaults__,
            "qualname": obj.__qualname__,
            "dict": dict(obj.__dict__),
        }
        args = (marshal.dumps(obj.__code__), obj.__module__ or "", obj.__name__, len(cells))
        return _make_function, args, state, None, None, _set_function_state


def dumps(obj: Any) -> bytes:
    """``obj`` pickled with its local functions (closures, lambdas) saved by value.

    Raises:
        TypeError: when something inside cannot be pickled; the message names it.

    Example:
        >>> import torch, optimtx as otx
        >>> tx = loads(dumps(otx.chain(otx.clip_by_global_norm(1.0), otx.sgd(0.1))))
        >>> tx.update({"w": torch.ones(1)}, tx.init({"w": torch.ones(1)}))[0]
        {'w': tensor([-0.1000])}
    """
    buffer = io.BytesIO()
    try:
        _Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(obj)
    except (pickle.PicklingError, TypeError, AttributeError, ValueError) as error:
        raise TypeError(f"cannot pickle {obj!r}: {error}") from error
    return pickle.dumps((_VERSION, buffer.getvalue()))


def loads(data: bytes) -> Any:
    """The object saved by `dumps` (with the same Python version).

    Example:
        >>> loads(dumps(lambda x: x + 1))(1)
        2
    """
    version, payload = pickle.loads(data)
    if tuple(version) != _VERSION:
        raise ValueError(
            f"This object was pickled by Python {version[0]}.{version[1]}, whose code format differs from this "
            f"Python {_VERSION[0]}.{_VERSION[1]}. Rebuild the optimizer and load its state_dict() instead."
        )
    return pickle.loads(payload)
