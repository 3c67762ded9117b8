"""optax.contrib's optimizers on torch tensors (`optimtx.optax.contrib`)."""

from __future__ import annotations

from optimtx.optax.contrib._complex_valued import *  # noqa: F403
from optimtx.optax.contrib._complex_valued import __all__ as _complex_all
from optimtx.optax.contrib._muon import *  # noqa: F403
from optimtx.optax.contrib._muon import __all__ as _muon_all
from optimtx.optax.contrib._reduce_on_plateau import *  # noqa: F403
from optimtx.optax.contrib._reduce_on_plateau import __all__ as _plateau_all
from optimtx.optax.contrib._rules import *  # noqa: F403
from optimtx.optax.contrib._rules import __all__ as _rules_all
from optimtx.optax.contrib._schedule_free import *  # noqa: F403
from optimtx.optax.contrib._schedule_free import __all__ as _schedule_free_all

__all__: list[str] = [*_rules_all, *_schedule_free_all, *_muon_all, *_plateau_all, *_complex_all]
