"""optax's public API on torch tensors: port optax code with `import optimtx.optax as optax`.

Entry-point layer: may import anything in optimtx. Every name here is a thin signature over
optimtx's own transforms and schedules (one implementation per update rule).
"""

from __future__ import annotations

from optimtx.optax._rules import *  # noqa: F403
from optimtx.optax._rules import __all__ as _rules_all

__all__: list[str] = [*_rules_all]
