"""How ``TransformOptimizer`` splits its transform and runs it on the parameters that have gradients.

Helpers of `optimtx.wrapper.torch_optimizer`: the split of a chain into the part that runs
over all groups at once and the part that runs per group, and the pure and in-place step
restricted to the parameters present in a step.
"""

from __future__ import annotations

from torch import Tensor

from optimtx.core.base import GradientTransformation, State, chain, chain_parts, identity
from optimtx.core.inplace import StepFn, add_updates_
from optimtx.core.partial_state import merge_state, restrict_state
from optimtx.core.state_tree import iter_nodes
from optimtx.transforms.hyperparams import InjectHyperparamsState
from optimtx.transforms.masking import MaskedState, MultiTransformState
from optimtx.wrapper.partial_update import partial_update
from optimtx.wrapper.torch_optimizer_groups import probe_state

__all__ = ["IDENTITY", "partial_step", "split_shared_prefix"]

IDENTITY = identity()  # the per-group part when the whole transform runs over all groups at once


def partial_step(
    step: StepFn, tx: GradientTransformation, state: State, grads: dict[str, Tensor], params: dict[str, Tensor]
) -> State:
    """``step`` (an in-place step of ``tx``) for the parameters in ``grads`` only, as ``partial_update`` does."""
    if len(grads) == len(params):
        return step(grads, state, params)
    if any(isinstance(node, (MaskedState, MultiTransformState)) for node in iter_nodes(state)):
        updates, new_state = partial_update(tx, state, grads, params)
        add_updates_({k: params[k] for k in updates}, updates)
        return new_state
    names, present = set(params), set(grads)
    sub_params = {k: params[k] for k in grads}
    return merge_state(state, step(grads, restrict_state(state, present, names), sub_params), names)


def split_shared_prefix(
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
    if not rest:  # the transform itself (not rebuilt from its parts), so it keeps any in-place step
        return transform, IDENTITY
    shared = parts[0] if n_shared == 1 else chain(*parts[:n_shared])
    return shared, (rest[0] if len(rest) == 1 else chain(*rest))


def _has_injected(transform: GradientTransformation) -> bool:
    try:
        probe = probe_state(transform, 1)
    except Exception:
        return True
    return any(isinstance(n, InjectHyperparamsState) for n in iter_nodes(probe))
