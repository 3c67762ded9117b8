"""``TransformOptimizer``: a real ``torch.optim.Optimizer`` that runs a pure optimtx transform.

It lets a pure chain go wherever torch expects an optimizer: ``OptimWrapper``,
``torch.optim.lr_scheduler``, ``torch.amp.GradScaler``, config files.

Hyperparameters injected with :func:`~optimtx.inject_hyperparams` appear as param-group
keys (``group['lr']``, ``group['weight_decay']``, ...). The group dict is the source of
truth: before each step, a changed group value is written into that group's transform
state, so schedulers that edit ``group['lr']`` change the update.
"""

from __future__ import annotations

import struct
import warnings
from collections.abc import Iterable, Mapping
from typing import Any

import torch
from torch import Tensor

from optimtx.base import GradientTransformation, State, chain, chain_parts, identity
from optimtx.state_io import load_state_dict as load_transform_state
from optimtx.state_io import state_dict as transform_state_dict
from optimtx.state_tree import iter_nodes
from optimtx.transforms.amp import ScaleByAmpState
from optimtx.transforms.clipping import ClipByGlobalNormState
from optimtx.transforms.finite import ApplyIfFiniteState
from optimtx.transforms.hyperparams import InjectHyperparamsState, get_hyperparams, set_hyperparams
from optimtx.warnings import PerGroupTransformWarning

_STATE_KEY = "transform_state"
_SHARED_KEY = "shared_transform_state"


class TransformOptimizer(torch.optim.Optimizer):
    """A ``torch.optim.Optimizer`` whose step is ``transform.update`` + ``apply_updates``.

    Each param group gets its own transform state (built with ``transform.init`` on the
    group's parameters, keyed ``"0"``, ``"1"``, ... in group order), so per-group
    hyperparameters work as in torch. Within a group the update runs on all tensors at
    once. A parameter whose ``.grad`` is ``None`` gets a zero gradient when other
    parameters of its group have one (a pure transform needs the whole tree); a group in
    which no parameter has a gradient is skipped, as torch does.

    Args:
        params: parameters or param-group dicts, as for any torch optimizer. Group keys
            that name an injected hyperparameter (e.g. ``lr``) override it for that group.
        transform: a :class:`~optimtx.GradientTransformation`, or a config dict such as
            ``dict(type='adamw', lr=1e-3)`` (built from the ``TRANSFORMS`` registry, with
            the hyperparameters of every factory that takes an ``lr`` injected, so that
            ``group['lr']`` exists and schedulers work).

    Example:
        >>> import optimtx as otx
        >>> w = torch.nn.Parameter(torch.ones(2))
        >>> opt = TransformOptimizer([w], otx.inject_hyperparams(otx.sgd)(lr=0.1))
        >>> opt.param_groups[0]["lr"]
        0.1
        >>> w.grad = torch.ones(2)
        >>> opt.step()
        >>> w.detach()
        tensor([0.9000, 0.9000])
    """

    def __init__(self, params: Iterable[Tensor] | Iterable[dict[str, Any]], transform: Any) -> None:
        self.transform = _as_transform(transform)
        self._shared_tx, self._group_tx = _split_shared_prefix(self.transform)
        self._shared_state: State = None
        self._tx_states: list[State] = []
        self._synced: list[dict[str, Any]] = []
        params = [_materialised_group(p) for p in params]
        first = params[0]["params"] if params and isinstance(params[0], dict) else params
        super().__init__(params, _defaults_of(self.transform, len(first)))

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group (torch semantics) and build its transform state.

        Example:
            >>> import optimtx as otx
            >>> opt = TransformOptimizer([torch.nn.Parameter(torch.ones(1))], otx.inject_hyperparams(otx.sgd)(lr=0.1))
            >>> opt.add_param_group({"params": [torch.nn.Parameter(torch.ones(1))], "lr": 0.5})
            >>> [g["lr"] for g in opt.param_groups]
            [0.1, 0.5]
        """
        super().add_param_group(param_group)
        group = self.param_groups[-1]
        for p in group["params"]:
            if p.is_sparse:
                raise ValueError("TransformOptimizer does not support sparse parameters.")
        self._tx_states.append(self._group_tx.init(_tree(group["params"])))
        self._synced.append({})
        if self._shared_tx is not None:
            self._shared_state = self._shared_tx.init(self._all_params())
        if len(self._tx_states) == 2:
            _warn_if_whole_tree(self._tx_states[0])

    @property
    def transform_states(self) -> list[State]:
        """The transform state of each param group (read-only view; the step replaces them).

        Example:
            >>> import optimtx as otx
            >>> opt = TransformOptimizer([torch.nn.Parameter(torch.ones(1))], otx.clip_by_value(1.0))
            >>> opt.transform_states
            [EmptyState()]
        """
        return list(self._tx_states)

    @torch.no_grad()
    def step(self, closure: Any = None) -> Any:  # type: ignore[override]
        """Run the transform on each group's gradients and add the updates to the parameters.

        Example:
            >>> import optimtx as otx
            >>> w = torch.nn.Parameter(torch.zeros(1))
            >>> opt = TransformOptimizer([w], otx.scale(-1.0))
            >>> w.grad = torch.ones(1)
            >>> opt.step()
            >>> w.detach()
            tensor([-1.])
        """
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        active = [i for i, g in enumerate(self.param_groups) if any(p.grad is not None for p in g["params"])]
        if not active:
            return loss
        grads = {i: [_grad_or_zeros(p) for p in self.param_groups[i]["params"]] for i in active}
        if self._shared_tx is not None:
            grads = self._shared_update(grads)
        for index in active:
            params = self.param_groups[index]["params"]
            state = self._synced_state(index, self.param_groups[index])
            updates, self._tx_states[index] = self._group_tx.update(_tree(grads[index]), state, _tree(params))
            values = [u if u.dtype == p.dtype else u.to(p.dtype) for p, u in zip(params, updates.values())]
            torch._foreach_add_(params, values)
        return loss

    def _all_params(self) -> dict[str, Tensor]:
        """Every parameter of every group, keyed ``"<group>.<index>"``."""
        return {f"{i}.{j}": p for i, g in enumerate(self.param_groups) for j, p in enumerate(g["params"])}

    def _shared_update(self, grads: dict[int, list[Tensor]]) -> dict[int, list[Tensor]]:
        """Run the shared prefix once over all groups (missing groups count as zero gradients)."""
        tree = {
            f"{i}.{j}": grads[i][j] if i in grads else torch.zeros_like(p)
            for i, g in enumerate(self.param_groups)
            for j, p in enumerate(g["params"])
        }
        out, self._shared_state = self._shared_tx.update(tree, self._shared_state, self._all_params())
        return {i: [out[f"{i}.{j}"] for j in range(len(grads[i]))] for i in grads}

    def _synced_state(self, index: int, group: dict[str, Any]) -> State:
        """The group's state, with group-dict values that changed written into it."""
        state = self._tx_states[index]
        names = self.defaults.keys() & group.keys()
        changed = {k: group[k] for k in names if not _same(group[k], self._synced[index].get(k))}
        if changed:
            state = set_hyperparams(state, **changed)
            self._tx_states[index] = state
            self._synced[index].update(changed)
        return state

    def state_dict(self) -> dict[str, Any]:
        """torch's optimizer state dict plus the transform states in plain form.

        ``'transform_state'`` holds one state per group; ``'shared_transform_state'``
        (present when the transform starts with parts that run over all groups at once,
        such as a global-norm clip) holds that shared part's state.

        Example:
            >>> import optimtx as otx
            >>> tx = otx.chain(otx.clip_by_global_norm(1.0), otx.inject_hyperparams(otx.sgd)(lr=0.1))
            >>> sd = TransformOptimizer([torch.nn.Parameter(torch.ones(1))], tx).state_dict()
            >>> sorted(sd)
            ['param_groups', 'shared_transform_state', 'state', 'transform_state']
            >>> sd["shared_transform_state"], len(sd["transform_state"])
            ({'norm': tensor(0.)}, 1)
        """
        sd = super().state_dict()
        sd[_STATE_KEY] = [transform_state_dict(s) for s in self._tx_states]
        if self._shared_tx is not None:
            sd[_SHARED_KEY] = transform_state_dict(self._shared_state)
        return sd

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Load a state dict from :meth:`state_dict`; on any mismatch raise and change nothing.

        Example:
            >>> import optimtx as otx
            >>> opt = TransformOptimizer([torch.nn.Parameter(torch.ones(1))], otx.clip_by_global_norm(1.0))
            >>> opt.load_state_dict(opt.state_dict())
        """
        if _STATE_KEY not in state_dict:
            raise ValueError(
                f"This state_dict has no {_STATE_KEY!r} entry, so it was not saved by a TransformOptimizer; "
                f"got keys {sorted(state_dict)}."
            )
        saved = state_dict[_STATE_KEY]
        if len(saved) != len(self._tx_states):
            raise ValueError(
                f"The state_dict has {len(saved)} transform states but this optimizer has "
                f"{len(self._tx_states)} param groups."
            )
        states = [load_transform_state(t, s) for t, s in zip(self._tx_states, saved)]
        shared = self._shared_state
        if self._shared_tx is not None:
            if _SHARED_KEY not in state_dict:
                raise ValueError(f"This state_dict has no {_SHARED_KEY!r} entry, which this transform needs.")
            shared = load_transform_state(self._shared_state, state_dict[_SHARED_KEY])
        rest = {k: v for k, v in state_dict.items() if k not in (_STATE_KEY, _SHARED_KEY)}
        super().load_state_dict(rest)  # validates group sizes before changing anything
        self._tx_states = states
        self._shared_state = shared
        self._synced = [{} for _ in states]


_WHOLE_TREE_STATES = {
    ClipByGlobalNormState: "clip_by_global_norm clips each group by its own norm",
    ScaleByAmpState: "scale_by_amp skips and rescales each group on its own overflow",
    ApplyIfFiniteState: "apply_if_finite skips each group on its own non-finite gradients",
}


def _warn_if_whole_tree(state: State) -> None:
    """Warn once per optimizer when a transform meant for the whole tree runs per param group."""
    found = {_WHOLE_TREE_STATES[type(n)] for n in iter_nodes(state) if type(n) in _WHOLE_TREE_STATES}
    if found:
        warnings.warn(
            f"This TransformOptimizer has several param groups and runs its transform once per group: "
            f"{'; '.join(sorted(found))}. For model-wide clipping or loss scaling use the wrapper's "
            "clip_grad=dict(max_norm=...) / AmpOptimWrapper, or one group with otx.multi_transform for "
            "per-parameter hyperparameters.",
            PerGroupTransformWarning,
            stacklevel=4,
        )


def _split_shared_prefix(
    transform: GradientTransformation,
) -> tuple[GradientTransformation | None, GradientTransformation]:
    """Split off the leading transforms that hold no injected hyperparameters.

    Those have nothing a param group could override, so they run once over all groups
    together: ``chain(clip_by_global_norm(1.0), inject_hyperparams(adamw)(lr=...))``
    clips by the norm of the whole model, as ``clip_grad_norm_`` would, while the
    optimizer part runs per group with that group's ``lr``.
    """
    parts = chain_parts(transform) or (transform,)
    n_shared = 0
    for part in parts:
        if _has_injected(part):
            break
        n_shared += 1
    if n_shared == 0:
        return None, transform
    rest = parts[n_shared:]
    shared = parts[0] if n_shared == 1 else chain(*parts[:n_shared])
    if not rest:
        return shared, identity()
    return shared, (rest[0] if len(rest) == 1 else chain(*rest))


def _has_injected(transform: GradientTransformation) -> bool:
    try:
        probe = transform.init({"0": torch.zeros((), dtype=torch.float64)})
    except Exception:
        return True
    return any(isinstance(n, InjectHyperparamsState) for n in iter_nodes(probe))


def _grad_or_zeros(p: Tensor) -> Tensor:
    return p.grad if p.grad is not None else torch.zeros_like(p)


def _materialised_group(entry: Any) -> Any:
    """A group dict whose ``params`` is a list (generators would be used up by the probe)."""
    if isinstance(entry, dict):
        params = entry["params"]
        return {**entry, "params": [params] if isinstance(params, Tensor) else list(params)}
    return entry


def _tree(tensors: Iterable[Tensor]) -> dict[str, Tensor]:
    return {str(i): t for i, t in enumerate(tensors)}


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, Tensor) or isinstance(b, Tensor):
        return a is b
    return a == b


def _as_transform(transform: Any) -> GradientTransformation:
    if isinstance(transform, GradientTransformation):
        return transform
    if isinstance(transform, Mapping):
        from optimtx.wrapper.registries import build_injected_transform

        return build_injected_transform(transform)
    raise TypeError(
        f"transform must be a GradientTransformation or a config dict, got {transform!r}; "
        "for example otx.inject_hyperparams(otx.adamw)(lr=1e-3)."
    )


def _defaults_of(transform: GradientTransformation, n_params: int) -> dict[str, Any]:
    """Python values of the injected hyperparameters (these become the group keys).

    The probe state is built on float64 scalars (keyed like a real group) so that the
    values read back are the ones the user gave, not float32 roundings of them.
    """
    try:
        probe = transform.init({str(i): torch.zeros((), dtype=torch.float64) for i in range(n_params)})
    except Exception:  # a transform whose init needs real shapes: float32 values are the best we get
        probe = transform.init({})
    if not any(isinstance(n, InjectHyperparamsState) for n in iter_nodes(probe)):
        return {}
    return {k: _to_python(v) for k, v in get_hyperparams(probe).items()}


def _to_python(value: Any) -> Any:
    if isinstance(value, tuple):
        return tuple(_to_python(v) for v in value)
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
