"""Helpers for trees: flat, ordered ``dict[str, Tensor]`` keyed by parameter name.

Every transform works on all leaves at once through ``torch._foreach_*`` kernels;
these helpers convert between the dict form and the list form those kernels take.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import torch
from torch import Tensor

__all__ = [
    "Tree",
    "check_leaves",
    "check_params",
    "check_same_keys",
    "copy_tree",
    "global_norm",
    "leaves",
    "matched_leaves",
    "rebuild",
    "resolve_per_name",
    "zeros_like",
]

Tree = dict[str, Tensor]
_STRIDED = torch.strided


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
    if dtype is not None and not dtype.is_complex:
        for key, value in tree.items():
            if isinstance(value, Tensor) and value.is_complex():
                # A real state for a complex parameter would drop the imaginary part (a low-precision
                # state dtype such as bfloat16 has no complex counterpart).
                raise TypeError(
                    f"params[{key!r}] is complex ({value.dtype}), but its state was asked for in the real dtype "
                    f"{dtype}; leave the state dtype (mu_dtype) unset for complex parameters."
                )
    return {k: torch.zeros_like(v, dtype=dtype, memory_format=torch.preserve_format) for k, v in tree.items()}


def check_same_keys(expected: Mapping[str, object], got: Mapping[str, object], what: str) -> None:
    """Raise ``ValueError`` when two trees do not have the same keys in the same order.

    Example:
        >>> check_same_keys({"a": 1}, {"b": 1}, "updates")
        Traceback (most recent call last):
        ...
        ValueError: updates do not match the expected tree: missing ['a'], unexpected ['b']. ...
    """
    if not isinstance(got, Mapping):
        raise TypeError(f"{what} must be a dict of parameter name -> tensor, got {type(got).__name__} {got!r:.80}.")
    if list(expected.keys()) == list(got.keys()):
        return
    missing = [k for k in expected if k not in got]
    unexpected = [k for k in got if k not in expected]
    detail = f"missing {missing}, unexpected {unexpected}" if missing or unexpected else "keys are in another order"
    raise ValueError(
        f"{what} do not match the expected tree: {detail}. "
        "Pass trees with the same keys, in the same order, as the ones given to init()."
    )


def check_leaves(tree: Mapping[str, Any], what: str = "updates") -> list[Tensor]:
    """The tensors of ``tree``, after checking that each one is a dense (strided) floating or complex tensor.

    ``None`` entries (a parameter that got no gradient), sparse gradients and non-tensors
    are refused with an error naming the parameter. Python metadata only: no device sync.

    Example:
        >>> check_leaves({"w": torch.ones(1), "b": None})
        Traceback (most recent call last):
        ...
        TypeError: updates['b'] is None, not a tensor. ...
    """
    if not isinstance(tree, Mapping):
        raise TypeError(f"{what} must be a dict of parameter name -> tensor, got {type(tree).__name__} {tree!r:.80}.")
    values = list(tree.values())
    if all(
        isinstance(v, Tensor) and v.layout == _STRIDED and (v.is_floating_point() or v.is_complex()) for v in values
    ):
        return values
    for key, value in tree.items():
        _check_leaf(key, value, what)
    return values


def _check_leaf(key: str, value: Any, what: str) -> None:
    if value is None:
        raise TypeError(
            f"{what}[{key!r}] is None, not a tensor. Drop parameters without a gradient from the tree "
            "(and from init()), or pass zeros for them."
        )
    if not isinstance(value, Tensor):
        raise TypeError(f"{what}[{key!r}] is {type(value).__name__} {value!r:.80}, not a tensor.")
    if value.layout != torch.strided:
        raise TypeError(
            f"{what}[{key!r}] is a {value.layout} tensor; only dense (strided) tensors are supported. "
            "Convert it with .to_dense(), or use nn.Embedding(sparse=False)."
        )
    if not (value.is_floating_point() or value.is_complex()):
        # An integer "gradient" would be promoted (or round every update) silently downstream.
        raise TypeError(
            f"{what}[{key!r}] has dtype {value.dtype}; only floating and complex parameters can be optimized."
        )


def check_params(params: Mapping[str, Any]) -> None:
    """Raise unless ``params`` is a tree of dense floating (or complex) tensors, the kind ``init`` builds state for.

    Integer or bool parameters are refused: an optimizer state for them would silently
    round every update. The error names the parameter.

    Example:
        >>> check_params({"steps": torch.zeros(2, dtype=torch.int64)})
        Traceback (most recent call last):
        ...
        TypeError: params['steps'] has dtype torch.int64; only floating and complex parameters can be optimized.
    """
    for key, value in zip(params, check_leaves(params, "params"), strict=True):
        if not (value.is_floating_point() or value.is_complex()):
            raise TypeError(
                f"params[{key!r}] has dtype {value.dtype}; only floating and complex parameters can be optimized."
            )


def matched_leaves(
    tree: Mapping[str, Any], reference: Mapping[str, Tensor], what: str = "updates", *, keep_dtype: bool = False
) -> list[Tensor]:
    """The tensors of ``tree``, checked to match ``reference`` by name and shape, in ``reference``'s dtypes.

    This is the one check made wherever a tree meets a state or another tree. ``tree``
    must have the keys of ``reference`` in the same order (an error lists missing and
    unexpected names, or says the order differs), and each tensor must have the shape of
    its reference (no broadcasting), be on its device, and be complex exactly when the
    reference is. A floating tensor of another floating dtype (float32 gradients for
    bfloat16 parameters) is converted to the reference's dtype, so states keep the dtype
    ``init`` gave them; ``keep_dtype=True`` skips that conversion (a state stored in a lower
    precision, ``mu_dtype``, is computed on in the gradients' dtype). Python metadata only: no
    device sync, fine under ``torch.compile``.

    Example:
        >>> matched_leaves({"w": torch.ones(2)}, {"w": torch.zeros(2, dtype=torch.float64)})
        [tensor([1., 1.], dtype=torch.float64)]
        >>> matched_leaves({"w": torch.ones(1)}, {"w": torch.zeros(2)})
        Traceback (most recent call last):
        ...
        ValueError: updates['w'] has shape (1,), but the parameter has shape (2,). ...
    """
    if not isinstance(tree, Mapping):
        check_leaves(tree, what)  # raises the TypeError
    values, refs = list(tree.values()), list(reference.values())
    if list(tree.keys()) != list(reference.keys()):
        check_same_keys(reference, tree, what)
    # One pass over Python metadata on the hot path; the slow path below finds and names the culprit.
    if all(
        isinstance(v, Tensor)
        and v.shape == r.shape
        and (v.dtype == r.dtype or (keep_dtype and v.is_floating_point() and r.is_floating_point()))
        and v.layout == _STRIDED
        and v.device == r.device
        for v, r in zip(values, refs, strict=True)
    ):
        return values
    check_leaves(tree, what)
    return [_matched_leaf(k, v, r, what, keep_dtype) for k, v, r in zip(tree.keys(), values, refs, strict=True)]


def _matched_leaf(key: str, value: Tensor, ref: Tensor, what: str, keep_dtype: bool = False) -> Tensor:
    if value.shape != ref.shape:
        raise ValueError(
            f"{what}[{key!r}] has shape {tuple(value.shape)}, but the parameter has shape {tuple(ref.shape)}. "
            "Pass one tensor of exactly the parameter's shape per name (nothing is broadcast)."
        )
    if value.device != ref.device:
        raise ValueError(
            f"{what}[{key!r}] is on {value.device}, but the parameter (and its state) is on {ref.device}. "
            "Move the tensors to one device first."
        )
    if value.is_complex() != ref.is_complex() or not (value.is_floating_point() or value.is_complex()):
        raise TypeError(
            f"{what}[{key!r}] has dtype {value.dtype}, which cannot stand for a {ref.dtype} parameter. "
            "Pass floating tensors for floating parameters and complex ones for complex parameters."
        )
    return value if keep_dtype or value.dtype == ref.dtype else value.to(ref.dtype)


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
        norms: Sequence[Tensor] = [torch.linalg.vector_norm(g, norm_type) for g in grads]
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
