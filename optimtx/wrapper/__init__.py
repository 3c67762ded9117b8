"""Layer 3, the facade: stateful MMEngine-style wrappers, TransformOptimizer, loss scaling, step info, eval swaps.

May import: core, transforms, schedules, compile, transform_configs (never param_scheduler, config or the entry points).
The public names are listed in ``optimtx/wrapper/exports.py``.
"""

__all__: list[str] = []  # the public names of this package live in its modules
