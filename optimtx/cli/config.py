"""Read MMEngine-style Python config files and build their ``param_scheduler`` list.

A config file is plain Python; its module-level ``optim_wrapper = dict(...)`` and
``param_scheduler = [dict(...), ...]`` are what optimtx reads. Every problem is
reported as :class:`ConfigError` with a one-line message (the command line prints it
and exits with code 2).
"""

from __future__ import annotations

import copy
import importlib
import runpy
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from torch import nn

from optimtx.config.registries import PARAM_SCHEDULERS


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
    """Resolve ``'package.module:factory'`` to the callable it names.

    Raises:
        ConfigError: the spec is malformed, the module cannot be imported or has no such attribute.

    Example:
        >>> load_factory("torch.nn:Identity")
        <class 'torch.nn.modules.linear.Identity'>
        >>> load_factory("torch.nn")
        Traceback (most recent call last):
        ...
        optimtx.cli.config.ConfigError: --model must look like 'package.module:factory', got 'torch.nn'
    """
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr.replace(".", "_").isidentifier():
        raise ConfigError(f"--model must look like 'package.module:factory', got {spec!r}")
    try:
        obj: Any = importlib.import_module(module_name)
    except Exception as err:
        raise ConfigError(f"cannot import module {module_name!r} of --model {spec!r}: {err}") from err
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise ConfigError(f"module {module_name!r} has no attribute {attr!r} (--model {spec!r})")
        obj = getattr(obj, part)
    if not callable(obj):
        raise ConfigError(f"--model {spec!r} names a {type(obj).__name__}, not a callable that returns a model")
    return obj


def build_model(spec: str) -> nn.Module:
    """Call the factory named by ``spec`` and check it returned an ``nn.Module``."""
    factory = load_factory(spec)
    try:
        model = factory()
    except Exception as err:
        raise ConfigError(f"model factory {spec!r} raised {type(err).__name__}: {err}") from err
    if not isinstance(model, nn.Module):
        raise ConfigError(f"model factory {spec!r} returned a {type(model).__name__}, not a torch.nn.Module")
    return model


def build_param_schedulers(optimizer: Any, cfgs: Sequence[Mapping[str, Any]], epoch_length: int = 1) -> list[Any]:
    """Build MMEngine-style ``param_scheduler`` dicts on ``optimizer`` (a wrapper or torch optimizer).

    As MMEngine's runner: ``convert_to_iter_based=True`` turns an epoch-based entry into an
    iteration-based one with ``epoch_length`` iterations per epoch. The caller's dicts are not modified.

    Example:
        >>> import torch, optimtx as otx
        >>> opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
        >>> scheds = build_param_schedulers(opt, [dict(type="LinearLR", start_factor=0.5, end=2, by_epoch=False)])
        >>> [type(s).__name__ for s in scheds], opt.param_groups[0]["lr"]
        (['LinearLR'], 0.5)
    """
    schedulers = []
    for entry in cfgs:
        cfg: dict[str, Any] = copy.deepcopy(dict(entry))
        kind = cfg.pop("type", None)
        cls: Any = PARAM_SCHEDULERS.get(kind) if isinstance(kind, str) and kind in PARAM_SCHEDULERS else None
        if cls is None:
            raise ConfigError(f"unknown param_scheduler type {kind!r}; registered: {sorted(PARAM_SCHEDULERS)}")
        try:
            if cfg.pop("convert_to_iter_based", False):
                schedulers.append(cls.build_iter_from_epoch(optimizer, epoch_length=epoch_length, **cfg))
            else:
                schedulers.append(cls(optimizer, **cfg))
        except (TypeError, ValueError) as err:
            raise ConfigError(f"cannot build param_scheduler {kind!r}: {err}") from err
    return schedulers
