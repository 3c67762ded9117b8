"""Layer 5, the config system: registries, builders, constructors, paramwise rules, explain, scheduler building.

May import: core, transforms, schedules, compile, transform_configs, wrapper (the facade), param_scheduler.
The public names are listed in ``optimtx/config/exports.py``.
"""

from __future__ import annotations

# The constructors register themselves in OPTIM_WRAPPER_CONSTRUCTORS where they are defined;
# importing them here fills that registry whichever config module is imported first.
from optimtx.config import constructor as constructor
from optimtx.config import multi_constructor as multi_constructor

__all__: list[str] = []  # the public names of this package live in its modules
