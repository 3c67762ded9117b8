"""``TransformOptimizer``: a real ``torch.optim.Optimizer`` that runs a pure optimtx transform.

It lets a pure chain go wherever torch expects an optimizer: ``OptimWrapper``,
``torch.optim.lr_scheduler``, ``torch.amp.GradScaler``, config files.

Hyperparameters injected with [`inject_hyperparams`][optimtx.inject_hyperparams] appear as param-group
keys (``group['lr']``, ``group['weight_decay']``, ...). The group dict is the source of
truth: before each step, a changed group value is written into that group's transform
state, so schedulers that edit ``group['lr']`` change the update.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

import torch
from torch import Tensor

from optimtx.core import function_pickle
from optimtx.core.base import GradientTransformation, State
from optimtx.core.inplace import inplace_step
from optimtx.core.partial_state import extend_state
from optimtx.core.state_io import load_state_dict as load_transform_state
from optimtx.core.state_io import state_dict as transform_state_dict
from optimtx.core.validation import check_bool
from optimtx.transform_configs import build_injected_transform
from optimtx.transforms.hyperparams import init_with_hyperparams, set_hyperparams
from optimtx.wrapper.partial_update import partial_update
from optimtx.wrapper.swapped_params import refuse_step_while_swapped
from optimtx.wrapper.torch_optimizer_groups import (
    PICKLED,
    check_grad,
    construction_settings,
    group_defaults,
    held_hooks,
    hyperparam_value,
    looks_like_hyperparameter,
    mirrors_betas,
    schedule_driven,
    warn_if_whole_tree,
)
from optimtx.wrapper.torch_optimizer_parts import IDENTITY, partial_step, split_shared_prefix
from optimtx.wrapper.torch_state_view import state_property

__all__ = ["TransformOptimizer"]

_STATE_KEY = "transform_state"
_SHARED_KEY = "shared_transform_state"


class TransformOptimizer(torch.optim.Optimizer):
    """A ``torch.optim.Optimizer`` whose step is ``transform.update`` + ``apply_updates``.

    Each param group gets its own transform state (built with ``transform.init`` on the
    group's parameters, keyed ``"0"``, ``"1"``, ... in group order), so per-group
    hyperparameters work as in torch. Within a group the update runs on all tensors at
    once. Parameters whose ``.grad`` is ``None`` are skipped as torch skips them: they do
    not move and their per-parameter state is untouched (the update runs on the others).

    Args:
        params: parameters or param-group dicts, as for any torch optimizer. Group keys
            that name an injected hyperparameter (e.g. ``lr``) override it for that group.
        transform: a [`GradientTransformation`][optimtx.GradientTransformation], or a config dict such as
            ``dict(type='adamw', lr=1e-3)`` (built from the ``TRANSFORMS`` registry, with
            the hyperparameters of every factory that takes an ``lr`` injected, so that
            ``group['lr']`` exists and schedulers work).
        in_place: use the transform's in-place step when it offers one (``adam``, ``adamw``, ``sgd``,
            ``adagrad``, ``rmsprop``, ``radam``, ``nadam``, ``adamax``, ``adadelta``; see
            ``optimtx.core.inplace``): torch's own kernel writes into the parameters and states
            this optimizer owns (``state_dict()`` is still a snapshot). ``False``: the pure update.

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

    in_place: bool = True  # see __init__; also what an optimizer pickled before the option existed gets
    state = state_property()  # always empty: the state is per group, in transform_states()

    def __init__(
        self, params: Iterable[Tensor] | Iterable[dict[str, Any]], transform: Any, *, in_place: bool = True
    ) -> None:
        self.in_place = check_bool("in_place", in_place)
        self._recipe = copy.deepcopy(dict(transform)) if isinstance(transform, Mapping) else None
        self.transform = _as_transform(transform)
        self._shared_tx, self._group_tx = split_shared_prefix(self.transform)
        self._shared_state: State = None
        self._tx_states: list[State] = []
        self._synced: list[dict[str, Any]] = []
        if isinstance(params, Tensor):
            raise TypeError(
                f"params must be an iterable of Tensors or dicts, got a single Tensor of shape {tuple(params.shape)}; "
                "pass [tensor] or model.parameters()."
            )
        params = [_materialised_group(p) for p in params]
        first = params[0]["params"] if params and isinstance(params[0], dict) else params
        defaults = group_defaults(self.transform, len(first))
        self._injected: tuple[str, ...] = tuple(defaults)
        super().__init__(params, defaults)

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group (torch semantics) and build its transform state.

        The state of the existing parameters (momentum, step counts) is kept, so
        progressive unfreezing works. If anything about the new group is wrong, this
        raises and the optimizer stays exactly as it was; ``param_group`` itself is never
        modified.

        Example:
            >>> import optimtx as otx
            >>> opt = TransformOptimizer([torch.nn.Parameter(torch.ones(1))], otx.inject_hyperparams(otx.sgd)(lr=0.1))
            >>> opt.add_param_group({"params": [torch.nn.Parameter(torch.ones(1))], "lr": 0.5})
            >>> [g["lr"] for g in opt.param_groups]
            [0.1, 0.5]
        """
        if not isinstance(param_group, Mapping):
            raise TypeError(f"param_group must be a dict with a 'params' entry, got {param_group!r}.")
        group = _materialised_group(dict(param_group))
        self._check_group_keys(group, len(self.param_groups))
        for j, p in enumerate(group["params"]):
            if isinstance(p, Tensor) and p.is_sparse:
                raise ValueError(
                    f"TransformOptimizer does not support sparse parameters; param group {len(self.param_groups)}, "
                    f"parameter {j} (shape {tuple(p.shape)}) is sparse. Use torch.optim.SparseAdam for it."
                )
        n_groups = len(self.param_groups)
        super().add_param_group(group)
        try:
            new_group = self.param_groups[-1]
            synced = {k: new_group[k] for k in self._injected}
            # The state starts from the group's own values (Rprop's step sizes, Adagrad's accumulator, ...),
            # checked by the factory now, not at the first step.
            state = _init_group(self._group_tx, _tree(new_group["params"]), synced, n_groups)
            shared = self._shared_state
            if self._shared_tx is not None:
                shared = self._shared_tx.init(self._all_params())
                if self._tx_states:
                    shared = extend_state(self._shared_state, shared, self._all_params().keys())
        except BaseException:
            del self.param_groups[n_groups:]
            raise
        self._tx_states.append(state)
        self._synced.append(synced)
        self._shared_state = shared
        if len(self._tx_states) == 2:
            warn_if_whole_tree(self._tx_states[0])

    def _check_group_keys(self, group: Mapping[str, Any], index: int) -> None:
        """Refuse group keys that look like hyperparameters but are not injected (they would be ignored)."""
        fixed = [
            k
            for k in group
            if k not in self._injected and k in construction_settings() and not looks_like_hyperparameter(k, group[k])
        ]
        if fixed:
            shown = ", ".join(f"{k}={group[k]!r}" for k in fixed)
            raise ValueError(
                f"Param group {index} sets {shown}, which a TransformOptimizer's transform fixes when it is built "
                "(all groups share it), so it would be silently ignored. Build the transform with that setting, "
                "or give those parameters their own TransformOptimizer (or an otx.multi_transform label)."
            )
        ignored = [
            k
            for k in group
            if k not in self._injected and looks_like_hyperparameter(k, group[k]) and not mirrors_betas(k, group)
        ]
        if ignored:
            shown = ", ".join(f"{k}={group[k]!r}" for k in ignored)
            injected = sorted(self._injected) or "none"
            raise ValueError(
                f"Param group {index} sets {shown}, which this TransformOptimizer's transform does not take as an "
                f"injected hyperparameter (injected: {injected}), so it would be silently ignored. Inject it, e.g. "
                "otx.inject_hyperparams(otx.adamw)(lr=1e-3, eps=1e-8), or remove it from the group."
            )

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
    def step(self, closure: Any = None) -> Any:
        """Run the transform on each group's gradients and add the updates to the parameters.

        Parameters whose ``.grad`` is ``None`` are skipped as torch skips them: they do not
        move (no weight decay) and their per-parameter state is not touched. Every update
        is computed before any parameter or state changes, so an error leaves all as it was.

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
        present = self._present_names()
        if not present:
            return loss
        refuse_step_while_swapped(p for group in self.param_groups for p in group["params"])
        grads = {i: {k: self.param_groups[i]["params"][int(k)].grad for k in names} for i, names in present.items()}
        if self.in_place and self._in_place_step(grads):
            return loss
        shared = self._shared_state
        if self._shared_tx is not None:
            grads, shared = self._shared_update(grads)
        results = {i: self._group_update(i, grads[i]) for i in present}
        self._shared_state = shared
        for i, (updates, state, synced, live) in results.items():
            self._tx_states[i], self._synced[i] = state, synced
            self.__dict__.setdefault("_driven", {})[i] = set(live)
            group = self.param_groups[i]
            params = [group["params"][int(k)] for k in updates]
            values = [u if u.dtype == p.dtype else u.to(p.dtype) for p, u in zip(params, updates.values(), strict=True)]
            torch._foreach_add_(params, values)
            if live:
                values_now = {k: hyperparam_value(v) for k, v in live.items()}
                group.update(values_now)
                synced.update(values_now)
        return loss

    def _in_place_step(self, grads: dict[int, dict[str, Tensor]]) -> bool:
        """Step through the transform's in-place step (``optimtx.core.inplace``): the optimizer owns and donates
        params, states and grads. ``False``, nothing changed, when there is none or the pure step must decide."""
        whole_shared = self._shared_tx is not None and self._group_tx is IDENTITY
        part = self._shared_tx if whole_shared else self._group_tx
        step = inplace_step(part) if part is not None else None
        if step is None or part is None:
            return False
        if whole_shared:
            tree = {f"{i}.{k}": g for i, group_grads in grads.items() for k, g in group_grads.items()}
            self._shared_state = partial_step(step, part, self._shared_state, tree, self._all_params())
            return True
        synced_states = {i: self._synced_state(i, self.param_groups[i]) for i in grads}  # every group checked first
        driven = self.__dict__.setdefault("_driven", {})  # per group: the values its schedules computed last step
        if any(w and (i not in driven or w & driven[i]) for i, (_, _, w) in synced_states.items()):
            return False  # a written value a schedule may own: the pure step refuses it, with nothing changed
        if self._shared_tx is not None:
            grads, self._shared_state = self._shared_update(grads)
        for i, (state, synced, written) in synced_states.items():
            group = self.param_groups[i]
            new_state = partial_step(step, part, state, grads[i], _tree(group["params"]))
            live = schedule_driven(state, new_state, written, i) if self._injected else {}
            self._tx_states[i], self._synced[i], driven[i] = new_state, synced, set(live)
            if live:
                values_now = {k: hyperparam_value(v) for k, v in live.items()}
                group.update(values_now)
                synced.update(values_now)
        return True

    def _present_names(self) -> dict[int, list[str]]:
        """For each group with gradients, the names of its parameters that have one; checks them first."""
        present: dict[int, list[str]] = {}
        for i, group in enumerate(self.param_groups):
            self._check_group_keys(group, i)
            names = []
            for j, p in enumerate(group["params"]):
                if p.grad is None:
                    continue
                check_grad(p, i, j)
                names.append(str(j))
            if names:
                present[i] = names
        return present

    def _group_update(
        self, index: int, grads: dict[str, Tensor]
    ) -> tuple[dict[str, Tensor], State, dict[str, Any], dict[str, Any]]:
        """The updates, new state, synced values and schedule-driven values of one group (nothing committed)."""
        group = self.param_groups[index]
        state, synced, written = self._synced_state(index, group)
        updates, new_state = partial_update(self._group_tx, state, grads, _tree(group["params"]))
        live = schedule_driven(state, new_state, written, index) if self._injected else {}
        return updates, new_state, synced, live

    def _all_params(self) -> dict[str, Tensor]:
        """Every parameter of every group, keyed ``"<group>.<index>"``."""
        return {f"{i}.{j}": p for i, g in enumerate(self.param_groups) for j, p in enumerate(g["params"])}

    def _shared_update(self, grads: dict[int, dict[str, Tensor]]) -> tuple[dict[int, dict[str, Tensor]], State]:
        """Run the shared prefix once over the parameters that have gradients, in all groups together."""
        assert self._shared_tx is not None
        tree = {f"{i}.{k}": g for i, group_grads in grads.items() for k, g in group_grads.items()}
        out, new_state = partial_update(self._shared_tx, self._shared_state, tree, self._all_params())
        return {i: {k: out[f"{i}.{k}"] for k in group_grads} for i, group_grads in grads.items()}, new_state

    def _synced_state(self, index: int, group: dict[str, Any]) -> tuple[State, dict[str, Any], set[str]]:
        """The group's state with the group-dict values that changed written into it (nothing committed)."""
        state = self._tx_states[index]
        synced = dict(self._synced[index])
        names = [k for k in self._injected if k in group]
        changed = {k: group[k] for k in names if not _same(group[k], synced.get(k))}
        if changed:
            state = _set_hyperparams(state, changed, f"Param group {index}")
            synced.update(changed)
        return state, synced, set(changed)

    def state_dict(self) -> dict[str, Any]:
        """torch's optimizer state dict plus the transform states in plain form.

        ``'transform_state'`` holds one state per group; ``'shared_transform_state'``
        (present when the transform starts with parts that run over all groups at once,
        such as a global-norm clip) holds that shared part's state. The result is a
        snapshot: later steps do not change it.

        Example:
            >>> import optimtx as otx
            >>> tx = otx.chain(otx.clip_by_global_norm(1.0), otx.inject_hyperparams(otx.sgd)(lr=0.1))
            >>> sd = TransformOptimizer([torch.nn.Parameter(torch.ones(1))], tx).state_dict()
            >>> sorted(sd)
            ['param_groups', 'shared_transform_state', 'state', 'transform_state']
            >>> sd["shared_transform_state"], len(sd["transform_state"])
            ({'norm': tensor(0.)}, 1)
        """
        with held_hooks(self, "_optimizer_state_dict_post_hooks") as post_hooks:  # they see the whole dict, below
            sd = super().state_dict()
        sd["param_groups"] = copy.deepcopy(sd["param_groups"])
        sd[_STATE_KEY] = [transform_state_dict(s) for s in self._tx_states]
        if self._shared_tx is not None:
            sd[_SHARED_KEY] = transform_state_dict(self._shared_state)
        for hook in post_hooks.values():
            result = hook(self, sd)
            sd = sd if result is None else result
        return sd

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Load a state dict from `state_dict`; on any mismatch raise and change nothing.

        The group values (``lr``, ...) are checked too, and ``state_dict`` is neither kept
        nor modified (its tensors are copied).

        Example:
            >>> import optimtx as otx
            >>> opt = TransformOptimizer([torch.nn.Parameter(torch.ones(1))], otx.clip_by_global_norm(1.0))
            >>> opt.load_state_dict(opt.state_dict())
        """
        for hook in list(self._optimizer_load_state_dict_pre_hooks.values()):  # on the whole dict, as torch
            result = hook(self, state_dict)
            state_dict = state_dict if result is None else result
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"state_dict must be a dict from state_dict(), got {type(state_dict).__name__}.")
        if _STATE_KEY not in state_dict:
            raise ValueError(
                f"This state_dict has no {_STATE_KEY!r} entry, so it was not saved by a TransformOptimizer; "
                f"got keys {sorted(state_dict)}."
            )
        saved = state_dict[_STATE_KEY]
        if not isinstance(saved, (list, tuple)) or len(saved) != len(self._tx_states):
            got = len(saved) if isinstance(saved, (list, tuple)) else repr(type(saved).__name__)
            raise ValueError(
                f"The state_dict has {got} transform states but this optimizer has {len(self._tx_states)} param groups."
            )
        states = [load_transform_state(t, s) for t, s in zip(self._tx_states, saved, strict=True)]
        shared = self._shared_state
        if self._shared_tx is not None:
            if _SHARED_KEY not in state_dict:
                raise ValueError(f"This state_dict has no {_SHARED_KEY!r} entry, which this transform needs.")
            shared = load_transform_state(self._shared_state, state_dict[_SHARED_KEY])
        rest = copy.deepcopy({k: v for k, v in state_dict.items() if k not in (_STATE_KEY, _SHARED_KEY)})
        states, synced = self._with_saved_groups(rest, states)
        with held_hooks(self, "_optimizer_load_state_dict_pre_hooks"):  # they ran above, on the whole dict
            super().load_state_dict(rest)  # validates group sizes before changing anything
        self._tx_states = states
        self._shared_state = shared
        self._synced = synced

    def _with_saved_groups(
        self, rest: Mapping[str, Any], states: list[State]
    ) -> tuple[list[State], list[dict[str, Any]]]:
        """The loaded states with the saved group values written in; raises if the groups do not fit."""
        groups = rest.get("param_groups")
        if not isinstance(groups, list) or len(groups) != len(self.param_groups):
            got = len(groups) if isinstance(groups, list) else repr(groups)
            raise ValueError(
                f"The state_dict has {got} param groups but this optimizer has {len(self.param_groups)}; "
                "load a state saved from an optimizer built the same way."
            )
        new_states, synced = [], []
        for i, (saved, state) in enumerate(zip(groups, states, strict=True)):
            if not isinstance(saved, Mapping):
                raise ValueError(f"Saved param group {i} is {saved!r}, not a dict.")
            self._check_group_keys(saved, i)
            values = {k: saved[k] for k in self._injected if k in saved}
            if values:
                state = _set_hyperparams(state, values, f"Saved param group {i}")
            new_states.append(state)
            synced.append(values)
        return new_states, synced

    # ------------------------------------------------------------ copy, pickle
    def __deepcopy__(self, memo: dict[int, Any]) -> TransformOptimizer:
        """A copy with its own parameters' state; the pure transform functions are shared."""
        new = type(self).__new__(type(self))
        memo[id(self)] = new
        shared = {"transform", "_shared_tx", "_group_tx"}
        for key, value in self.__dict__.items():
            new.__dict__[key] = value if key in shared else copy.deepcopy(value, memo)
        return new

    def __getstate__(self) -> dict[str, Any]:
        """torch's optimizer state plus the transform (as its config recipe, or pickled by value)."""
        state = super().__getstate__()
        state["_tx_states"] = self._tx_states
        state["_shared_state"] = self._shared_state
        state["_synced"] = self._synced
        state["_recipe"] = self._recipe
        state["_injected"] = self._injected
        state["in_place"] = self.in_place
        if self._recipe is None:
            try:
                state["_transform_pickle"] = function_pickle.dumps((self.transform, self._shared_tx, self._group_tx))
            except TypeError as error:
                raise TypeError(
                    f"This TransformOptimizer cannot be pickled because its transform cannot: {error}. Build it "
                    "from a config dict instead (TransformOptimizer(params, dict(type='adamw', lr=1e-3))), or "
                    "save opt.state_dict() and rebuild the optimizer on load."
                ) from None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        ours = {k: state.pop(k) for k in PICKLED if k in state}
        blob = state.pop("_transform_pickle", None)
        recipe = ours.get("_recipe")
        if recipe is not None:
            self.transform = _as_transform(copy.deepcopy(recipe))
            self._shared_tx, self._group_tx = split_shared_prefix(self.transform)
        elif blob is not None:
            self.transform, self._shared_tx, self._group_tx = function_pickle.loads(blob)
        self.__dict__.update(ours)
        super().__setstate__(state)


def _materialised_group(entry: Any) -> Any:
    """A group dict whose ``params`` is a list (generators would be used up by the probe)."""
    if isinstance(entry, dict):
        params = entry["params"]
        return {**entry, "params": [params] if isinstance(params, Tensor) else list(params)}
    return entry


def _tree(tensors: Iterable[Tensor]) -> dict[str, Tensor]:
    return {str(i): t for i, t in enumerate(tensors)}


def _init_group(tx: GradientTransformation, params: dict[str, Tensor], values: dict[str, Any], index: int) -> State:
    """``tx.init(params)`` starting from the group's values; errors name the group."""
    if not values:
        return tx.init(params)
    try:
        return init_with_hyperparams(tx, params, **values)
    except (TypeError, ValueError) as error:
        raise type(error)(f"Param group {index}: {error}") from None


def _set_hyperparams(state: State, values: dict[str, Any], where: str) -> State:
    """``set_hyperparams(state, **values)``, its ``ValueError`` prefixed with ``where`` (which group)."""
    try:
        return set_hyperparams(state, **values)
    except ValueError as error:
        raise ValueError(f"{where}: {error}") from None


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, Tensor) or isinstance(b, Tensor):
        return a is b
    return a == b


def _as_transform(transform: Any) -> GradientTransformation:
    if isinstance(transform, GradientTransformation):
        return transform
    if isinstance(transform, Mapping):
        return build_injected_transform(transform)
    raise TypeError(
        f"transform must be a GradientTransformation or a config dict, got {transform!r}; "
        "for example otx.inject_hyperparams(otx.adamw)(lr=1e-3)."
    )
