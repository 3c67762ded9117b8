"""Checks and bookkeeping of [`TransformOptimizer`][optimtx.TransformOptimizer]'s param groups.

Which group keys would be silently ignored (and so are refused), which gradients a pure
transform cannot take, which injected values a schedule drives, and the warning for
whole-tree transforms that run once per group.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import struct
import warnings
from collections.abc import Iterator, Mapping
from typing import Any

import torch
from torch import Tensor

from optimtx.core.base import GradientTransformation, State
from optimtx.core.state_tree import iter_nodes
from optimtx.core.warnings import PerGroupTransformWarning
from optimtx.transforms.amp import ScaleByAmpState
from optimtx.transforms.clipping import ClipByGlobalNormState
from optimtx.transforms.finite import ApplyIfFiniteState
from optimtx.transforms.hyperparams import InjectHyperparamsState, get_hyperparams, inject_nodes

__all__ = [
    "PICKLED",
    "WHOLE_TREE_STATES",
    "check_grad",
    "group_defaults",
    "hyperparam_value",
    "looks_like_hyperparameter",
    "mirrors_betas",
    "schedule_driven",
    "warn_if_whole_tree",
]


def check_grad(p: Tensor, group: int, index: int) -> None:
    """Refuse gradients a pure transform cannot take, naming the parameter.

    Example:
        >>> p = torch.nn.Parameter(torch.ones(2)); p.grad = torch.ones(2).to_sparse()
        >>> check_grad(p, 0, 1)
        Traceback (most recent call last):
        ...
        ValueError: TransformOptimizer does not support sparse gradients: param group 0, parameter 1 (shape (2,)) ...
    """
    grad = p.grad
    assert grad is not None
    if grad.is_sparse or grad.layout != torch.strided:
        raise ValueError(
            f"TransformOptimizer does not support sparse gradients: param group {group}, parameter {index} "
            f"(shape {tuple(p.shape)}) has a {grad.layout} gradient (e.g. from nn.Embedding(sparse=True)). Use "
            "sparse=False, or torch.optim.SparseAdam for that parameter in its own optimizer."
        )
    if grad.shape != p.shape:
        raise ValueError(
            f"Param group {group}, parameter {index}: its gradient has shape {tuple(grad.shape)} but the parameter "
            f"has shape {tuple(p.shape)}."
        )


PICKLED = ("_tx_states", "_shared_state", "_synced", "_recipe", "_injected", "in_place")
_SCHEDULER_KEYS = frozenset({"initial_lr", "max_lr", "min_lr", "base_lr", "max_momentum", "base_momentum", "swa_lr"})
_BOOKKEEPING_KEYS = frozenset(
    {"params", "name", "param_names"}
    | _SCHEDULER_KEYS
    | {"lr_mult", "decay_mult"}  # MMEngine-style groups record the multipliers already folded into lr / weight_decay
    | {"lr_scale"}  # timm-style layer-decay groups: folded into lr, kept for timm's schedulers
)
_IMPLEMENTATION_FLAGS = frozenset({"foreach", "fused", "capturable", "differentiable"})  # no effect on results


def is_scheduler_bookkeeping(key: Any) -> bool:
    """Whether a group key is one that schedulers write for themselves (``initial_lr``, ``swa_lr``, ...).

    Such keys are not optimizer settings: a checkpoint saved while a scheduler was attached has them
    and one saved without has not, and either loads.

    Example:
        >>> is_scheduler_bookkeeping("initial_lr"), is_scheduler_bookkeeping("lr")
        (True, False)
    """
    return isinstance(key, str) and (key.startswith("initial_") or key in _SCHEDULER_KEYS)


@functools.cache
def construction_settings() -> frozenset[str]:
    """Names of settings a torch optimizer takes (``maximize``, ``nesterov``, ``adjust_lr_fn``, ...).

    A pure transform fixes these when it is built, so in a ``TransformOptimizer`` group they would be
    silently ignored unless injected. torch's own flags that do not change results (``foreach``, ...)
    are left out.

    Example:
        >>> {"maximize", "adjust_lr_fn"} <= construction_settings(), "foreach" in construction_settings()
        (True, False)
    """
    names = {"mu_dtype", "state_dtype", "warmup_steps"}  # optimtx's own construction-only settings
    for cls in vars(torch.optim).values():
        if isinstance(cls, type) and issubclass(cls, torch.optim.Optimizer):
            names.update(inspect.signature(cls.__init__).parameters)
    return frozenset(names - _IMPLEMENTATION_FLAGS - _BOOKKEEPING_KEYS - {"self", "defaults", "kwargs"})


def looks_like_hyperparameter(key: Any, value: Any) -> bool:
    """Whether a group entry would be a hyperparameter (a number, tensor or tuple of them) rather than a label.

    Example:
        >>> looks_like_hyperparameter("eps", 1e-8), looks_like_hyperparameter("name", "head")
        (True, False)
        >>> looks_like_hyperparameter("initial_lr", 0.1)  # written by torch's schedulers
        False
    """
    if key in _BOOKKEEPING_KEYS or is_scheduler_bookkeeping(key):
        return False
    if isinstance(value, tuple):
        return bool(value) and all(looks_like_hyperparameter(key, v) for v in value)
    return isinstance(value, (int, float, Tensor)) and not isinstance(value, bool)


def mirrors_betas(key: Any, group: Mapping[str, Any]) -> bool:
    """MMEngine's momentum schedulers keep ``group['momentum']`` equal to ``betas[0]`` for Adam-like groups.

    Example:
        >>> mirrors_betas("momentum", {"momentum": 0.9, "betas": (0.9, 0.999)})
        True
    """
    betas = group.get("betas")
    return key == "momentum" and isinstance(betas, tuple) and bool(betas) and betas[0] == group[key]


def schedule_driven(old: State, new: State, written: set[str], index: int) -> dict[str, Any]:
    """The injected values the transform replaced itself (schedules); refuse if the group had set them.

    Example:
        >>> import optimtx as otx
        >>> tx = otx.inject_hyperparams(otx.sgd)(lr=lambda count: 1.0 / (count + 1))
        >>> s0 = tx.init({"w": torch.ones(1)})
        >>> _, s1 = tx.update({"w": torch.ones(1)}, s0)
        >>> sorted(schedule_driven(s0, s1, set(), 0))
        ['lr']
    """
    before, after = list(inject_nodes(old)), list(inject_nodes(new))
    if len(after) != 1 or len(before) != 1:  # none, or several injected transforms: nothing to report per group
        return {}
    old_values = before[0].hyperparams
    driven = {k: v for k, v in after[0].hyperparams.items() if v is not old_values.get(k)}
    # Combinators that select between the old and new state (apply_if_finite, skip_if_spike) copy every value
    # they keep: a value the group wrote that comes back unchanged was kept, not computed by a schedule.
    clash = sorted(k for k in written & driven.keys() if not _same_value(driven[k], old_values.get(k)))
    if clash:
        raise ValueError(
            f"Param group {index} sets {clash}, but the transform computes them with a schedule, which would "
            "silently replace the group's value. Either schedule in the transform or with a scheduler on the "
            "group (inject a float value), not both."
        )
    return driven


def _same_value(a: Any, b: Any) -> bool:
    """Whether two hyperparameter values (0-d tensors or tuples of them) are equal (reads them on the host)."""
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(_same_value(x, y) for x, y in zip(a, b, strict=True))
    return isinstance(a, Tensor) and isinstance(b, Tensor) and a.shape == b.shape and bool(torch.equal(a, b))


WHOLE_TREE_STATES = {
    ClipByGlobalNormState: "clip_by_global_norm clips each group by its own norm",
    ScaleByAmpState: "scale_by_amp skips and rescales each group on its own overflow",
    ApplyIfFiniteState: "apply_if_finite skips each group on its own non-finite gradients",
}


def warn_if_whole_tree(state: State) -> None:
    """Warn once per optimizer when a transform meant for the whole tree runs per param group."""
    found = {WHOLE_TREE_STATES[type(n)] for n in iter_nodes(state) if type(n) in WHOLE_TREE_STATES}
    if found:
        warnings.warn(
            f"This TransformOptimizer has several param groups and runs its transform once per group: "
            f"{'; '.join(sorted(found))}. For model-wide clipping or loss scaling use the wrapper's "
            "clip_grad=dict(max_norm=...) / AmpOptimWrapper, or one group with otx.multi_transform for "
            "per-parameter hyperparameters.",
            PerGroupTransformWarning,
            stacklevel=4,
        )


def group_defaults(transform: GradientTransformation, n_params: int) -> dict[str, Any]:
    """Python values of the injected hyperparameters (these become the group keys).

    The probe state is built on float64 scalars (keyed like a real group) so that the
    values read back are the ones the user gave, not float32 roundings of them.

    Example:
        >>> from optimtx.transforms.hyperparams import inject_hyperparams
        >>> from optimtx.transforms.optimizers import sgd
        >>> group_defaults(inject_hyperparams(sgd)(lr=0.1), 1)
        {'lr': 0.1}
    """
    probe = probe_state(transform, n_params)
    if not any(isinstance(n, InjectHyperparamsState) for n in iter_nodes(probe)):
        return {}
    return {k: hyperparam_value(v) for k, v in get_hyperparams(probe).items()}


def probe_state(transform: GradientTransformation, n_params: int) -> State:
    """A state built on float64 stand-ins for ``n_params`` parameters, so injected values keep full precision.

    0-d stand-ins first, then matrices (for transforms such as ``muon`` that take only 2-D
    parameters); a transform that takes neither is probed on no parameters (float32 values).

    Example:
        >>> from optimtx.transforms.hyperparams import inject_hyperparams
        >>> from optimtx.transforms.muon import muon
        >>> probe_state(inject_hyperparams(muon)(lr=1 / 3), 1).hyperparams["lr"].dtype
        torch.float64
    """
    for shape in ((), (1, 1)):
        try:
            return transform.init({str(i): torch.zeros(shape, dtype=torch.float64) for i in range(n_params)})
        except Exception:  # this transform needs other shapes; try the next stand-in
            continue
    return transform.init({})


@contextlib.contextmanager
def held_hooks(optimizer: torch.optim.Optimizer, hooks: str) -> Iterator[Any]:
    """Keep torch's ``optimizer.<hooks>`` from running inside ``super()`` calls; yields them to run by hand.

    Example:
        >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
        >>> _ = opt.register_state_dict_post_hook(lambda o, sd: None)
        >>> with held_hooks(opt, "_optimizer_state_dict_post_hooks") as hooks:
        ...     len(opt._optimizer_state_dict_post_hooks), len(hooks)
        (0, 1)
    """
    held = getattr(optimizer, hooks)
    setattr(optimizer, hooks, type(held)())
    try:
        yield held
    finally:
        setattr(optimizer, hooks, held)


def hyperparam_value(value: Any) -> Any:
    """A hyperparameter tensor (or tuple of them) as the Python number the user wrote.

    Example:
        >>> hyperparam_value(torch.tensor(0.1)), hyperparam_value((torch.tensor(0.9), torch.tensor(0.999)))
        (0.1, (0.9, 0.999))
    """
    if isinstance(value, tuple):
        return tuple(hyperparam_value(v) for v in value)
    return _shortest_repr(value.item(), value.dtype)


def _shortest_repr(x: float, dtype: torch.dtype) -> float:
    """The shortest decimal that rounds to the same float32 (0.1, not 0.10000000149).

    Injected values are stored in float32 (or wider); reporting them as the user wrote
    them keeps ``group['lr']`` equal to the configured number.
    """
    if dtype != torch.float32:
        return x
    target = struct.pack("f", x)
    for digits in range(1, 10):
        candidate = float(f"{x:.{digits}g}")
        if struct.pack("f", candidate) == target:
            return candidate
    return x
