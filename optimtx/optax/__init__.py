"""optax's public API on torch tensors: port optax code with `import optimtx.optax as optax`.

Entry-point layer: may import anything in optimtx. Every name here is a thin signature over
optimtx's own transforms and schedules (one implementation per update rule). Trees are dicts of
tensors keyed by parameter name; see the "Coming from optax" page for what else changes.
[`coverage`][optimtx.optax._coverage.coverage] lists every optax name with its status here.

Example:
    >>> import torch
    >>> import optimtx.optax as optax
    >>> params = {"w": torch.tensor([1.0, -2.0])}
    >>> tx = optax.chain(optax.clip_by_global_norm(1.0), optax.adamw(learning_rate=0.1))
    >>> state = tx.init(params)
    >>> updates, state = tx.update({"w": torch.tensor([3.0, 4.0])}, state, params)
    >>> optax.apply_updates(params, updates)
    {'w': tensor([ 0.9000, -2.1000])}
"""

from __future__ import annotations

from optimtx.optax import contrib as contrib
from optimtx.optax import projections as projections
from optimtx.optax import schedules as schedules
from optimtx.optax import transforms as transforms
from optimtx.optax import tree as tree
from optimtx.optax import tree_utils as tree_utils
from optimtx.optax._aliases import *  # noqa: F403
from optimtx.optax._aliases import __all__ as _aliases_all
from optimtx.optax._base import *  # noqa: F403
from optimtx.optax._base import __all__ as _base_all
from optimtx.optax._blocks import *  # noqa: F403
from optimtx.optax._blocks import __all__ as _blocks_all
from optimtx.optax._rprop import *  # noqa: F403
from optimtx.optax._rprop import __all__ as _rprop_all
from optimtx.optax._rules import *  # noqa: F403
from optimtx.optax._rules import __all__ as _rules_all
from optimtx.optax._states import *  # noqa: F403
from optimtx.optax._states import __all__ as _states_all
from optimtx.optax._wrappers import *  # noqa: F403
from optimtx.optax._wrappers import __all__ as _wrappers_all
from optimtx.optax.schedules import *  # noqa: F403
from optimtx.optax.schedules import __all__ as _schedules_all

__all__: list[str] = sorted(
    {
        *_aliases_all,
        *_base_all,
        *_blocks_all,
        *_rprop_all,
        *_rules_all,
        *_states_all,
        *_wrappers_all,
        *(n for n in _schedules_all if n != "StatefulSchedule"),  # optax has it in optax.schedules only
        "contrib",
        "projections",
        "schedules",
        "transforms",
        "tree",
        "tree_utils",
    }
)
