"""Every import path users rely on keeps working after the move to layer folders.

Old paths are aliases of the moved modules (optimtx/_old_paths.py): the same module object, so
attributes, isinstance checks, monkeypatching and pickles of older checkpoints behave as before.
"""

from __future__ import annotations

import importlib
import importlib.util
import pathlib
import pickle
import re
import subprocess
import sys
import warnings

import pytest

import optimtx
from optimtx._old_paths import MOVED

ROOT = pathlib.Path(__file__).resolve().parent.parent

# Module paths named by the docs, examples, README, the seed tutorial and the reference notes.
DOCUMENTED_MODULES = [
    "optimtx.base",
    "optimtx.cli",
    "optimtx.cli.main",
    "optimtx.compile",
    "optimtx.eval_params",
    "optimtx.function_pickle",
    "optimtx.logging",
    "optimtx.optim",
    "optimtx.param_scheduler",
    "optimtx.param_scheduler.build",
    "optimtx.param_scheduler.lr",
    "optimtx.param_scheduler.momentum",
    "optimtx.param_scheduler.variants",
    "optimtx.paramwise",
    "optimtx.paramwise_rules",
    "optimtx.registry",
    "optimtx.schedules",
    "optimtx.state_io",
    "optimtx.state_tree",
    "optimtx.step_info",
    "optimtx.torch_optimizer",
    "optimtx.torch_optimizer_groups",
    "optimtx.transforms",
    "optimtx.transforms._fused_adamw",
    "optimtx.transforms.adam",
    "optimtx.transforms.amp",
    "optimtx.transforms.clipping",
    "optimtx.transforms.finite",
    "optimtx.transforms.hyperparams",
    "optimtx.transforms.scaling",
    "optimtx.transforms.schedule_free",
    "optimtx.transforms.weight_decay",
    "optimtx.tree",
    "optimtx.validation",
    "optimtx.viz",
    "optimtx.warnings",
    "optimtx.wrapper",
    "optimtx.wrapper.amp_optim_wrapper",
    "optimtx.wrapper.builder",
    "optimtx.wrapper.constructor",
    "optimtx.wrapper.explain",
    "optimtx.wrapper.fast_step",
    "optimtx.wrapper.grad_clipping",
    "optimtx.wrapper.loss_scaler",
    "optimtx.wrapper.multi_constructor",
    "optimtx.wrapper.optim_wrapper",
    "optimtx.wrapper.optim_wrapper_dict",
    "optimtx.wrapper.registries",
    "optimtx.wrapper.registry",
]


@pytest.mark.parametrize("path", DOCUMENTED_MODULES)
def test_documented_module_paths_import(path):
    module = importlib.import_module(path)
    assert module.__name__ == MOVED.get(path, path)


def test_the_mmengine_integration_path_exists():
    # imported by tests/integrations (with MMEngine's own import warnings silenced); here only located
    assert importlib.util.find_spec("optimtx.integrations.mmengine") is not None


@pytest.mark.parametrize(("old", "new"), sorted(MOVED.items()))
def test_an_old_path_is_the_moved_module_itself(old, new):
    assert importlib.import_module(old) is importlib.import_module(new)
    parent, _, leaf = old.rpartition(".")
    assert hasattr(importlib.import_module(parent), leaf)


def _resolves(dotted: str) -> bool:
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for name in parts[cut:]:
            if not hasattr(obj, name):
                return False
            obj = getattr(obj, name)
        return True
    return False


def test_every_optimtx_path_written_in_the_docs_examples_and_readme_resolves():
    texts = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), *sorted((ROOT / "examples").rglob("*.py"))]
    found = {m for path in texts for m in re.findall(r"\boptimtx(?:\.[A-Za-z_]\w*)+", path.read_text(encoding="utf-8"))}
    assert len(found) > 10
    with warnings.catch_warnings():  # optimtx.integrations.mmengine imports MMEngine, which warns about torch.jit
        warnings.simplefilter("ignore", DeprecationWarning)
        broken = sorted(path for path in found if not _resolves(path))
    assert not broken, f"documented paths that no longer resolve: {broken}"


def test_old_paths_work_as_the_first_import_of_a_fresh_interpreter():
    code = (
        "from optimtx.wrapper.builder import build_optim_wrapper\n"
        "import optimtx.tree, optimtx.core.tree\n"
        "from optimtx.param_scheduler.build import build_param_schedulers\n"
        "from optimtx.paramwise import paramwise_labels\n"
        "assert optimtx.tree is optimtx.core.tree\n"
        "assert build_optim_wrapper.__module__ == 'optimtx.config.builder'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def test_a_pickle_naming_an_old_module_path_loads():
    # protocol 2: GLOBAL optimtx.base.EmptyState, empty args, NEWOBJ
    loaded = pickle.loads(b"\x80\x02coptimtx.base\nEmptyState\n)\x81.")
    assert isinstance(loaded, optimtx.EmptyState)
    assert pickle.loads(pickle.dumps(optimtx.EmptyState())) == optimtx.EmptyState()


def test_top_level_names_match_their_subpackages():
    assert optimtx.build_optim_wrapper is importlib.import_module("optimtx.wrapper.builder").build_optim_wrapper
    assert optimtx.TransformOptimizer is importlib.import_module("optimtx.torch_optimizer").TransformOptimizer


def test_no_package_attribute_hides_one_of_its_modules():
    """``optimtx.transforms.rprop`` is the module even though a factory is also named ``rprop``.

    (At the top level, ``optimtx.paramwise``/``explain``/``eval_params``/``step_info`` are the functions,
    as they always were; their modules are reached by import, which these tests check above.)
    """
    from optimtx._layers import source_files

    hidden = []
    for name in source_files():
        parent, _, leaf = name.rpartition(".")
        if parent and parent != "optimtx" and not leaf.startswith("__"):
            try:
                module = importlib.import_module(name)
            except ImportError:  # an integration whose framework (an optional extra) is not installed
                assert name.startswith("optimtx.integrations."), name
                continue
            if getattr(importlib.import_module(parent), leaf, None) is not module:
                hidden.append(name)
    assert not hidden, f"package attributes that are not their modules: {hidden}"
