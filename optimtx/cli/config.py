"""Read MMEngine-style Python config files and build their ``param_scheduler`` list.

A config file is plain Python; its module-level ``optim_wrapper = dict(...)`` and
``param_scheduler = [dict(...), ...]`` are what optimtx reads. Every problem is
reported as [`ConfigError`][optimtx.cli.config.ConfigError] with a one-line message (the command line prints it
and exits with code 2). Schedulers are built by the library's own
[`build_param_schedulers`][optimtx.build_param_schedulers] (re-exported here for the examples).
"""

from __future__ import annotations

import importlib
import importlib.util
import runpy
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from torch import nn

from optimtx.config.scheduler_builder import build_param_schedulers

__all__ = ["ConfigError", "build_model", "build_param_schedulers", "load_config", "load_factory"]


class ConfigError(ValueError):
    """A config file, model spec or scheduler list that cannot be used (the message says why)."""


def load_config(path: str | Path) -> dict[str, Any]:
    """Run the Python config file at ``path`` and return its public module-level names.

    Raises:
        ConfigError: the file is missing, not a ``.py`` file, fails to run, or has no ``optim_wrapper`` dict.

    Example:
        >>> import tempfile, os
        >>> with tempfile.TemporaryDirectory() as d:
        ...     p = os.path.join(d, "cfg.py")
        ...     _ = open(p, "w").write("optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.1))")
        ...     load_config(p)["optim_wrapper"]
        {'optimizer': {'type': 'SGD', 'lr': 0.1}}
    """
    file = Path(path)
    if not file.is_file():
        raise ConfigError(f"config file {str(path)!r} does not exist")
    if file.suffix != ".py":
        raise ConfigError(f"config file {str(path)!r} must be a Python file (.py)")
    try:
        namespace = runpy.run_path(str(file))
    except SystemExit as err:  # a config that exits must not end the command with its code (often 0)
        raise ConfigError(f"config file {str(path)!r} called sys.exit({err.code!r}) while it was read") from err
    except SyntaxError as err:
        raise ConfigError(f"config file {str(path)!r} has a syntax error on line {err.lineno}: {err.msg}") from err
    except Exception as err:
        raise ConfigError(f"config file {str(path)!r} failed to run: {type(err).__name__}: {err}") from err
    config = {k: v for k, v in namespace.items() if not k.startswith("_")}
    wrapper_cfg = config.get("optim_wrapper")
    if not isinstance(wrapper_cfg, Mapping):
        raise ConfigError(
            f"config file {str(path)!r} must define optim_wrapper = dict(...), got {type(wrapper_cfg).__name__}"
        )
    schedulers = config.get("param_scheduler", [])
    if isinstance(schedulers, Mapping):
        config["param_scheduler"] = [schedulers]
    elif not isinstance(schedulers, Sequence) or not all(isinstance(s, Mapping) for s in schedulers):
        raise ConfigError(f"param_scheduler in {str(path)!r} must be a dict or a list of dicts, got {schedulers!r}")
    return config


def load_factory(spec: str) -> Callable[[], nn.Module]:
    """Resolve ``'package.module:factory'`` or ``'path/to/file.py:factory'`` to the callable it names.

    A module name is imported with the current directory importable; a ``.py`` path is loaded
    from that file (its folder importable while it loads), so a factory next to a config works
    from any directory.

    Raises:
        ConfigError: the spec is malformed, the module cannot be imported or has no such attribute.

    Example:
        >>> load_factory("torch.nn:Identity")
        <class 'torch.nn.modules.linear.Identity'>
        >>> load_factory("torch.nn")
        Traceback (most recent call last):
        ...
        optimtx.cli.config.ConfigError: --model must look like 'package.module:factory' or ...
    """
    module_name, sep, attr = spec.rpartition(":")
    if not sep or not module_name or not attr.replace(".", "_").isidentifier():
        raise ConfigError(f"--model must look like 'package.module:factory' or 'path/file.py:factory', got {spec!r}")
    try:
        obj: Any = _import_file(module_name) if module_name.endswith(".py") else importlib.import_module(module_name)
    except ConfigError:
        raise
    except SystemExit as err:
        raise ConfigError(f"importing {module_name!r} of --model {spec!r} called sys.exit({err.code!r})") from err
    except Exception as err:
        raise ConfigError(f"cannot import module {module_name!r} of --model {spec!r}: {err}") from err
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise ConfigError(f"module {module_name!r} has no attribute {attr!r} (--model {spec!r})")
        obj = getattr(obj, part)
    if not callable(obj):
        raise ConfigError(f"--model {spec!r} names a {type(obj).__name__}, not a callable that returns a model")
    return obj


def _import_file(path: str) -> Any:
    file = Path(path).resolve()
    if not file.is_file():
        raise ConfigError(f"--model file {path!r} does not exist")
    spec = importlib.util.spec_from_file_location(file.stem, file)
    if spec is None or spec.loader is None:
        raise ConfigError(f"--model file {path!r} cannot be loaded as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(file.parent))  # its own imports of neighbouring modules work
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(file.parent))
    return module


def build_model(spec: str) -> nn.Module:
    """Call the factory named by ``spec`` and check it returned an ``nn.Module``.

    Raises:
        ConfigError: the factory cannot be found, raises, exits, or returns something else.

    Example:
        >>> build_model("torch.nn:Identity")
        Identity()
    """
    factory = load_factory(spec)
    try:
        model = factory()
    except SystemExit as err:
        raise ConfigError(f"model factory {spec!r} called sys.exit({err.code!r})") from err
    except Exception as err:
        raise ConfigError(f"model factory {spec!r} raised {type(err).__name__}: {err}") from err
    if not isinstance(model, nn.Module):
        raise ConfigError(f"model factory {spec!r} returned a {type(model).__name__}, not a torch.nn.Module")
    return model
