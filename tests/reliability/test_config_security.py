"""Config data never executes code: ``type`` strings resolve to registered names only."""

from __future__ import annotations

import pytest
import torch

import optimtx as otx
from optimtx.registry import OPTIM_WRAPPERS, OPTIMIZERS, PARAM_SCHEDULERS, SCHEDULES, TRANSFORMS, allow_imports

HOSTILE = ["subprocess.getoutput", "os.system", "builtins.eval", "builtins.exec", "posix.system", "pickle.loads"]


def _model() -> torch.nn.Module:
    return torch.nn.Linear(2, 1)


@pytest.mark.parametrize("path", HOSTILE)
def test_dotted_paths_in_config_data_are_not_imported(path, tmp_path):
    marker = tmp_path / "ran"
    cfgs = [
        dict(optimizer=dict(type=path, cmd=f"touch {marker}")),
        dict(type=path, optimizer=dict(type="SGD", lr=0.1)),
        dict(optimizer=dict(type="TransformOptimizer", transform=dict(type="sgd", lr=dict(type=path, cmd="x")))),
        dict(constructor=path, optimizer=dict(type="SGD", lr=0.1)),
    ]
    for cfg in cfgs:
        with pytest.raises((KeyError, TypeError)) as info:
            otx.build_optim_wrapper(_model(), cfg)
        assert path in str(info.value)
    assert not marker.exists()


@pytest.mark.parametrize("registry", [OPTIMIZERS, OPTIM_WRAPPERS, TRANSFORMS, SCHEDULES, PARAM_SCHEDULERS])
@pytest.mark.parametrize("path", HOSTILE)
def test_no_registry_resolves_an_unregistered_dotted_path(registry, path):
    assert registry.get(path) is None
    assert path not in registry
    error = registry.unknown_key_error(path)
    assert "allow_imports" in str(error)


def test_the_error_says_how_to_opt_in():
    with pytest.raises(KeyError, match=r"allow_imports\('subprocess'\)"):
        OPTIMIZERS.build(dict(type="subprocess.getoutput", cmd="true"))


def test_opt_in_imports_only_classes_or_functions_of_the_registry_kind():
    with allow_imports("torch.optim"):
        assert OPTIMIZERS.get("torch.optim.sgd.SGD") is torch.optim.SGD
        with pytest.raises(TypeError, match="not a class or function the optimizer registry accepts"):
            OPTIMIZERS.get("torch.optim.lr_scheduler.StepLR")  # a class, but not an optimizer
    with allow_imports("subprocess"), pytest.raises(TypeError, match="accepts"):
        OPTIMIZERS.get("subprocess.getoutput")  # a function, not an optimizer class
    with allow_imports("os"), pytest.raises(TypeError, match="accepts"):
        SCHEDULES.get("os.sep")  # not callable at all


def test_opt_in_prefix_matches_whole_module_components():
    with allow_imports("torch.op"):  # not a prefix of torch.optim in module terms
        assert OPTIMIZERS.get("torch.optim.sgd.SGD") is None


def test_opt_in_builds_a_wrapper_from_an_imported_optimizer():
    with allow_imports("torch.optim"):
        wrapper = otx.build_optim_wrapper(_model(), dict(optimizer=dict(type="torch.optim.adam.Adam", lr=0.1)))
    assert isinstance(wrapper.optimizer, torch.optim.Adam)


@pytest.mark.parametrize("bad", ["", ".x", "x.", 3, None])
def test_allow_imports_checks_its_prefixes(bad):
    with pytest.raises(ValueError, match="module paths"), allow_imports(bad):
        pass


def test_passing_the_class_itself_still_works():
    wrapper = otx.build_optim_wrapper(_model(), dict(optimizer=dict(type=torch.optim.SGD, lr=0.1)))
    assert isinstance(wrapper.optimizer, torch.optim.SGD)
