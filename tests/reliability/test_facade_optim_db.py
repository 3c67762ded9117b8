"""torch's own optimizer test database (``optim_db``) run through optimtx.

Every sample input of every optimizer with a torch class goes through the pure rule
(``update`` + ``apply_updates``) and through ``TransformOptimizer`` (config form), in float32
and float64, and must give torch's parameters after three steps. Every error input must be
refused (an error, or torch's warning for duplicate parameters).

Left out, and why: ``LBFGS`` (closure-driven, no optimtx twin) and ``SparseAdam`` (sparse
gradients are refused by design). torch's samples for CUDA-only flags are not generated on
the CPU. Error inputs that exercise a torch implementation flag (``foreach=True`` with tensor
``lr``/``betas``) are refused too, as an unknown argument (``TypeError``), since optimtx has no
such flag.
"""

from __future__ import annotations

import sys
import types
import unittest
import warnings

import pytest
import torch

import optimtx as otx
from tests.reliability.torch_twins import TWINS, assert_same_params, default_dtype, gradients, start, step_all


def _optim_db():
    """torch's ``optim_db``; its module imports ``expecttest`` only for a base class the database never uses."""
    if "expecttest" not in sys.modules:
        try:
            import expecttest  # noqa: F401
        except ImportError:
            stub = types.ModuleType("expecttest")
            stub.TestCase = unittest.TestCase  # type: ignore[attr-defined]
            sys.modules["expecttest"] = stub
    from torch.testing._internal.common_optimizers import optim_db

    return {info.optim_cls: info for info in optim_db}


DB = _optim_db()
NAME_OF = {cls: name for name, cls in TWINS.items()}
COVERED = [cls for cls in DB if cls in NAME_OF]
DTYPES = (torch.float32, torch.float64)


def test_every_optimizer_in_optim_db_is_covered_or_left_out_on_purpose():
    left_out = {cls.__name__ for cls in DB if cls not in NAME_OF}
    assert left_out == {"LBFGS", "SparseAdam"}


def _samples():
    for cls in COVERED:
        for sample in DB[cls].optim_inputs_func(device="cpu", dtype=torch.float32):
            yield pytest.param(cls, sample.kwargs, id=f"{cls.__name__}-{sample.desc}")


@pytest.mark.parametrize(("cls", "kwargs"), list(_samples()))
@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_every_sample_input_gives_torchs_parameters_on_both_paths(cls, kwargs, dtype):
    name = NAME_OF[cls]
    grads = gradients(name, 3, dtype)
    with default_dtype(dtype):
        theirs = [torch.nn.Parameter(p) for p in start(name, dtype)]
        step_all(cls(theirs, **_torch_kwargs(kwargs, dtype)), theirs, grads)
        ours = [torch.nn.Parameter(p) for p in start(name, dtype)]
        step_all(otx.TransformOptimizer(ours, dict(type=name, **kwargs)), ours, grads)
    assert_same_params(ours, theirs, dtype)
    tree = {str(i): p for i, p in enumerate(start(name, dtype))}
    tx = getattr(otx, name)(**kwargs)
    state = tx.init(tree)
    for step in grads:
        updates, state = tx.update({str(i): g for i, g in enumerate(step)}, state, tree)
        tree = otx.apply_updates(tree, updates)
    assert_same_params(list(tree.values()), theirs, dtype)


def _torch_kwargs(kwargs: dict, dtype: torch.dtype) -> dict:
    """torch's tensor ``lr`` in the parameters' dtype (its foreach path would otherwise mix dtypes)."""
    return {k: v.to(dtype) if isinstance(v, torch.Tensor) else v for k, v in kwargs.items()}


def _errors():
    for cls in COVERED:
        for error in DB[cls].optim_error_inputs_func(device="cpu", dtype=torch.float32):
            inputs = error.optimizer_error_input
            yield pytest.param(cls, error, id=f"{cls.__name__}-{inputs.desc or error.error_regex}")


@pytest.mark.parametrize(("cls", "error"), list(_errors()))
def test_every_error_input_is_refused(cls, error):
    name = NAME_OF[cls]
    inputs = error.optimizer_error_input
    params = inputs.params if inputs.params is not None else [torch.nn.Parameter(p) for p in start(name, torch.float32)]
    if issubclass(error.error_type, Warning):
        with pytest.warns(error.error_type):
            otx.TransformOptimizer(params, dict(type=name, **inputs.kwargs))
        return
    with pytest.raises((TypeError, ValueError)):
        _build_and_step(name, params, inputs.kwargs)
    if inputs.kwargs:  # a bad hyperparameter: the pure factory refuses it as well
        with pytest.raises((TypeError, ValueError)):
            getattr(otx, name)(**inputs.kwargs)


def _build_and_step(name: str, params, kwargs: dict) -> None:
    """Construction, then one step (torch refuses some inputs, e.g. complex parameters, only at the step)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        opt = otx.TransformOptimizer(params, dict(type=name, **kwargs))
    for group in opt.param_groups:
        for p in group["params"]:
            p.grad = torch.ones_like(p)
    opt.step()
