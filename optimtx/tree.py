"""Helpers for trees: flat, ordered ``dict[str, Tensor]`` keyed by parameter name.

Every transform works on all leaves at once through ``torch._foreach_*`` kernels;
these helpers convert between the dict form and the list form those kernels take.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import torch
from torch import Tensor

Tree = dict[str, Tensor]


def leaves(tree: Mapping[str, Tensor]) -> list[Tensor]:
    """The tensors of ``tree`` in key order.

    Example:
        >>> leaves({"w": torch.ones(2), "b": torch.zeros(1)})
        [tensor([1., 1.]), tensor([0.])]
    """
    return list(tree.values())


def rebuild(template: Mapping[str, Tensor], values: Iterable[Tensor]) -> Tree:
    """A tree with the keys of ``template`` (same order) and the given ``values``.

    Example:
        >>> rebuild({"w": torch.ones(2)}, [torch.zeros(2)])
        {'w': tensor([0., 0.])}
    """
    return dict(zip(template.keys(), values, strict=True))


def zeros_like(tree: Mapping[str, Tensor], dtype: torch.dtype | None = None) -> Tree:
    """A tree of zeros shaped like ``tree`` (optionally in another dtype).

    Example:
        >>> zeros_like({"w": torch.ones(2)})
        {'w': tensor([0., 0.])}
    """
    return {k: torch.zeros_like(v, dtype=dtype, memory_format=torch.preserve_format) for k, v in tree.items()}


def check_same_keys(expected: Mapping[str, object], got: Mapping[str, object], what: str) -> None:
    """Raise ``ValueError`` when two trees do not have the same keys in the same order.

    Example:
        >>> check_same_keys({"a": 1}, {"b": 1}, "updates")
        Traceback (most recent call last):
        ...
        ValueError: updates do not match the expected tree: missing ['a'], unexpected ['b']. ...
    """
    if list(expected.keys()) == list(got.keys()):
        return
    missing = [k for k in expected if k not in got]
    unexpected = [k for k in got if k not in expected]
    detail = f"missing {missing}, unexpected {unexpected}" if missing or unexpected else "keys are in another order"
    raise ValueError(
        f"{what} do not match the expected tree: {detail}. "
        "Pass trees with the same keys, in the same order, as the ones given to init()."
    )


def global_norm(tree: Mapping[str, Tensor], norm_type: float = 2.0) -> Tensor:
    """The norm of all leaves taken together, as ``torch.nn.utils.get_total_norm`` computes it.

    Per-tensor norms come from one batched kernel; the result is a 0-d tensor in the
    leaves' dtype, on the first leaf's device (``tensor(0.)`` for an empty tree).

    Example:
        >>> global_norm({"a": torch.tensor([3.0]), "b": torch.tensor([4.0])})
        tensor(5.)
    """
    grads = leaves(tree)
    if not grads:
        return torch.tensor(0.0)
    if torch.is_grad_enabled() and any(g.requires_grad for g in grads):
        # _foreach_norm has no backward; per-tensor norms keep meta-learning (grads through updates) working.
        norms = [torch.linalg.vector_norm(g, norm_type) for g in grads]
    else:
        norms = torch._foreach_norm(grads, norm_type)
    device = grads[0].device
    return torch.linalg.vector_norm(torch.stack([n.to(device) for n in norms]), norm_type)


def resolve_per_name(spec: Any, tree: Mapping[str, Tensor], what: str) -> dict[str, Any]:
    """``spec`` (a dict keyed by name, or a callable building one from ``tree``) checked against ``tree``.

    Raises ``ValueError`` naming the parameters ``spec`` misses and the names it has
    that ``tree`` does not.

    Example:
        >>> resolve_per_name(lambda t: {k: k == "b" for k in t}, {"w": 1, "b": 2}, "mask")
        {'w': False, 'b': True}
    """
    resolved = spec(tree) if callable(spec) else spec
    if not isinstance(resolved, Mapping):
        raise TypeError(
            f"{what} must be a dict keyed by parameter name (or a callable returning one), got {resolved!r}."
        )
    missing = [k for k in tree if k not in resolved]
    unexpected = [k for k in resolved if k not in tree]
    if missing or unexpected:
        raise ValueError(
            f"{what} does not match the parameters: missing {missing} (parameters without an entry), "
            f"unexpected {unexpected} (entries for unknown names). Give exactly one entry per parameter name."
        )
    return {k: resolved[k] for k in tree}


def copy_tree(tree: Mapping[str, Tensor], dtype: torch.dtype | None = None) -> Tree:
    """A copy of every tensor (optionally cast), for states that start from the parameters.

    ``nn.Parameter`` leaves are detached, so a state never holds a model's autograd graph;
    other tensors keep theirs, so a meta-learner can differentiate through the initial
    values (e.g. lookahead's slow weights).

    Example:
        >>> w = torch.ones(2, requires_grad=True)
        >>> copy_tree({"w": w * 2})["w"].requires_grad, copy_tree({"p": torch.nn.Parameter(w)})["p"].requires_grad
        (True, False)
    """
    copies = {}
    for k, v in tree.items():
        source = v.detach() if isinstance(v, torch.nn.Parameter) else v
        copies[k] = source.to(dtype=dtype or v.dtype, copy=True)
    return copies
