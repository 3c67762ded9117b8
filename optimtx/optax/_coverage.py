"""Every optax public name and its status in ``optimtx.optax``: present, or absent with the reason.

A name is *present* when the matching ``optimtx.optax`` module exports it (its ``__all__``), so the
table follows the code: names another change adds to ``optimtx.optax._rules`` or
``optimtx.optax.contrib`` count as soon as they are exported. ``tests/test_optax_coverage.py`` checks
that every optax name is present or has a reason here, and that nothing marked impossible is exported.

Example:
    >>> rows = coverage()
    >>> row = next(r for r in rows if r.name == "adamw" and r.module == "optax")
    >>> row.present, row.reason
    (True, '')
"""

from __future__ import annotations

import importlib
from typing import NamedTuple

from optimtx.optax._optax_names import OPTAX_NAMES, OPTAX_VERSION

NAMESPACES = {
    "optax": "optimtx.optax",
    "optax.contrib": "optimtx.optax.contrib",
    "optax.schedules": "optimtx.optax.schedules",
    "optax.projections": "optimtx.optax.projections",
    "optax.tree_utils": "optimtx.optax.tree_utils",
}

_LOSS = "a loss function: optax's losses are outside this namespace (issue 22); use torch.nn.functional"
_RULES = "an optax rule not built yet (issue 22 follow-up; see docs/optimizers.md for the rules that are)"
_PRNG = "a JAX PRNG-key helper: torch draws from a torch.Generator, which optimtx.optax accepts where optax takes a key"
_MODULE = "an optax submodule that optimtx.optax does not mirror"

_LOSSES = [
    "convex_kl_divergence",
    "cosine_distance",
    "cosine_similarity",
    "ctc_loss",
    "ctc_loss_with_forward_probs",
    "generalized_kl_divergence",
    "hinge_loss",
    "huber_loss",
    "kl_divergence",
    "l2_loss",
    "log_cosh",
    "ntxent",
    "safe_softmax_cross_entropy",
    "sigmoid_binary_cross_entropy",
    "sigmoid_focal_loss",
    "smooth_labels",
    "softmax_cross_entropy",
    "softmax_cross_entropy_with_integer_labels",
    "squared_error",
]
_RULE_NAMES = [
    "adabelief",
    "adamaxw",
    "adan",
    "amsgrad",
    "fromage",
    "lbfgs",
    "nadamw",
    "noisy_sgd",
    "novograd",
    "optimistic_adam",
    "optimistic_adam_v2",
    "optimistic_gradient_descent",
    "polyak_sgd",
    "sign_sgd",
    "signum",
    "sm3",
    "yogi",
    "scale_by_adan",
    "scale_by_amsgrad",
    "scale_by_backtracking_linesearch",
    "scale_by_belief",
    "scale_by_distance_over_gradients",
    "scale_by_lbfgs",
    "scale_by_novograd",
    "scale_by_optimistic_gradient",
    "scale_by_polyak",
    "scale_by_sign",
    "scale_by_sm3",
    "scale_by_yogi",
    "scale_by_zoom_linesearch",
    "value_and_grad_from_state",
    "ZoomLinesearchInfo",
    "ScaleByAdanState",
    "ScaleByAmsgradState",
    "ScaleByBacktrackingLinesearchState",
    "ScaleByBeliefState",
    "ScaleByLBFGSState",
    "ScaleByNovogradState",
    "ScaleBySM3State",
    "ScaleByZoomLinesearchState",
]

# Reasons for names optimtx.optax does not export. Keyed "module:name"; "optax.contrib:*" covers a module.
REASONS: dict[str, str] = {
    **{f"optax:{n}": _LOSS for n in _LOSSES},
    **{f"optax:{n}": _RULES for n in _RULE_NAMES},
    "optax.contrib:*": _RULES,
    "optax:losses": _MODULE + " (losses are out of scope; use torch.nn.functional)",
    "optax:assignment": _MODULE + " (assignment solvers, not optimizers)",
    "optax:experimental": _MODULE + " (unstable optax API)",
    "optax:perturbations": _MODULE + " (perturbed optimizers; not in the issue's scope)",
    "optax:second_order": _MODULE + " (Hessian helpers built on jax.jvp; use torch.func.hessian)",
    "optax:microbatching": _MODULE + ": accumulate gradients with MultiSteps / optimtx.accumulate",
    "optax:microbatch": "function-level microbatching (a jax.vmap/scan loop): use MultiSteps or optimtx.accumulate",
    "optax:scale_gradient": "a JAX stop-gradient trick on the forward pass: in torch use "
    "tensor.register_hook(lambda g: g * scale)",
    "optax:multi_normal": "a JAX sampling helper: use torch.distributions.MultivariateNormal",
    "optax:MaskedNode": "optimtx's masked keeps the inner state for the masked entries only, so there is no "
    "placeholder node",
    "optax:LookaheadParams": "optimtx.optax.lookahead keeps the slow weights in its state (get_slow_params), "
    "so the parameters stay a plain dict",
    "optax:tree_map_params": "needs optax's init-with-placeholders trick; map a state with "
    "optimtx.state_tree.map_tensors instead",
    "optax:power_iteration": "a linear-algebra helper, not a transform: use torch.linalg",
    "optax:matrix_inverse_pth_root": "a linear-algebra helper, not a transform: use torch.linalg",
    "optax:nnls": "a least-squares solver, not a transform: use torch.linalg.lstsq",
    "optax:ScaleByLBFGSState": _RULES,
    "optax.contrib:ScheduleFreeState": "optimtx's schedule-free states (ScheduleFreeWrapperState) keep optax's "
    "averaging fields (b1, weight_sum, step_count, max_lr as lr_max, z) in a nested `schedule_free` field, so "
    "optax's flat field list is not offered under its name; read states with schedule_free_eval_params",
    "optax.tree_utils:NamedTupleKey": "a JAX key-path class: tree_get/tree_set paths here are tuples of names",
    "optax.tree_utils:tree_map_params": "see optax:tree_map_params",
    "optax.tree_utils:tree_split_key_like": _PRNG,
    "optax.tree_utils:tree_unwrap_random_key_data": _PRNG,
    "optax.tree_utils:tree_batch_shape": "a vmap-oriented shape helper with no use on dicts of tensors",
    "optax.tree_utils:functools": "the functools module, re-exported by accident: not API",
    "optax.tree_utils:typing": "the typing module, re-exported by accident: not API",
}
# Names that cannot mean anything in torch: exporting one of these is an error the tests catch.
NEVER = {
    key for key, reason in REASONS.items() if reason not in (_RULES,) and not reason.startswith(("optax's", "see"))
}


class Row(NamedTuple):
    """One optax name: its module, whether ``optimtx.optax`` has it, and why not if it does not.

    Example:
        >>> Row("optax", "adam", True, "").present
        True
    """

    module: str
    name: str
    present: bool
    reason: str


def exported(module: str) -> set[str]:
    """The names the ``optimtx.optax`` module mirroring optax's ``module`` exports.

    Example:
        >>> "cosine_decay_schedule" in exported("optax.schedules")
        True
    """
    return set(getattr(importlib.import_module(NAMESPACES[module]), "__all__", ()))


def reason_for(module: str, name: str) -> str | None:
    """Why ``module.name`` is absent, or ``None`` when the table has no reason.

    Example:
        >>> reason_for("optax", "scale_gradient")[:24]
        'a JAX stop-gradient tric'
    """
    return REASONS.get(f"{module}:{name}", REASONS.get(f"{module}:*"))


def coverage() -> list[Row]:
    """A row for every optax public name (optax's version in ``OPTAX_VERSION``).

    Example:
        >>> sum(r.present for r in coverage()) > 150
        True
    """
    rows = []
    for module, names in OPTAX_NAMES.items():
        present = exported(module)
        for name in names:
            here = name in present
            rows.append(Row(module, name, here, "" if here else reason_for(module, name) or "no reason recorded"))
    return rows


def markdown_table() -> str:
    """The coverage as a Markdown table (the docs page is generated from it).

    Example:
        >>> markdown_table().splitlines()[0].startswith("optax")
        True
    """
    rows = coverage()
    count = sum(r.present for r in rows)
    lines = [
        f"optax {OPTAX_VERSION}: {count} of {len(rows)} public names present in `optimtx.optax`.",
        "",
        "| module | name | status |",
        "| --- | --- | --- |",
    ]
    for r in rows:
        lines.append(f"| `{r.module}` | `{r.name}` | {'present' if r.present else 'absent: ' + r.reason} |")
    return "\n".join(lines) + "\n"
