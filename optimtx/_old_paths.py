"""Import paths from before the layered layout, kept working as aliases of the modules that moved.

``import optimtx.tree`` gives the very module object ``optimtx.core.tree`` (not a copy), so
attributes, ``isinstance`` checks, pickles of older checkpoints and monkeypatching all behave as
before. Code inside optimtx imports the new paths (tests/test_layers.py refuses the old ones).

Example:
    >>> import optimtx.tree, optimtx.core.tree
    >>> optimtx.tree is optimtx.core.tree
    True
"""

from __future__ import annotations

import importlib
import sys

# old path -> new path, lowest layer first: a module loaded while these are being installed
# may still use an old path of a layer below it.
MOVED: dict[str, str] = {
    "optimtx.base": "optimtx.core.base",
    "optimtx.tree": "optimtx.core.tree",
    "optimtx.state_tree": "optimtx.core.state_tree",
    "optimtx.state_io": "optimtx.core.state_io",
    "optimtx.partial_state": "optimtx.core.partial_state",
    "optimtx.validation": "optimtx.core.validation",
    "optimtx.warnings": "optimtx.core.warnings",
    "optimtx.logging": "optimtx.core.logging",
    "optimtx.function_pickle": "optimtx.core.function_pickle",
    "optimtx.wrapper.registry": "optimtx.core.registry",
    "optimtx.torch_optimizer": "optimtx.wrapper.torch_optimizer",
    "optimtx.torch_optimizer_groups": "optimtx.wrapper.torch_optimizer_groups",
    "optimtx.eval_params": "optimtx.wrapper.eval_params",
    "optimtx.step_info": "optimtx.wrapper.step_info",
    "optimtx.paramwise_rules": "optimtx.config.paramwise_rules",
    "optimtx.paramwise": "optimtx.config.paramwise",
    "optimtx.wrapper.registries": "optimtx.config.registries",
    "optimtx.wrapper.builder": "optimtx.config.builder",
    "optimtx.wrapper.constructor": "optimtx.config.constructor",
    "optimtx.wrapper.multi_constructor": "optimtx.config.multi_constructor",
    "optimtx.wrapper.explain": "optimtx.config.explain",
    "optimtx.param_scheduler.build": "optimtx.config.scheduler_builder",
}


def install() -> None:
    """Register every old path in ``sys.modules`` as the moved module (idempotent).

    Example:
        >>> install()
        >>> sys.modules["optimtx.wrapper.builder"].__name__
        'optimtx.config.builder'
    """
    for old, new in MOVED.items():
        module = importlib.import_module(new)
        sys.modules.setdefault(old, module)
        parent, _, leaf = old.rpartition(".")
        package = importlib.import_module(parent)
        if not hasattr(package, leaf):
            setattr(package, leaf, module)
