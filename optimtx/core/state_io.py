"""Any transform state as plain nested dicts (for checkpoints), and back, with validation.

The plain form uses only dicts, tensors and Python scalars, so
``torch.load(path, weights_only=True)`` reads it. NamedTuple states become dicts keyed
by field name, tuples (``chain`` states) become dicts keyed ``"0"``, ``"1"``, ... (like
``nn.Sequential``), dicts stay dicts.
"""

from __future__ import annotations

from typing import Any

import torch  # noqa: F401  (the doctests use it)
from torch import Tensor

from optimtx.core.state_tree import is_namedtuple

__all__ = ["load_state_dict", "state_dict"]

_SCALARS = (bool, int, float, str, type(None))


def state_dict(state: Any) -> Any:
    """The plain nested form of ``state``: a snapshot, whose tensors are detached copies.

    Pure updates return new tensors, so sharing memory with a state would be harmless
    there, but ``compile_step(..., donate=True)`` and the stateful facade write states in
    place; a copy makes the result a checkpoint that never drifts as training goes on.

    Example:
        >>> from optimtx.transforms.clipping import ClipByGlobalNormState
        >>> state_dict((ClipByGlobalNormState(torch.tensor(1.0)),))
        {'0': {'norm': tensor(1.)}}
    """
    if isinstance(state, Tensor):
        return state.detach().clone()
    if is_namedtuple(state):
        return {field: state_dict(value) for field, value in zip(state._fields, state, strict=True)}
    if isinstance(state, (tuple, list)):
        return {str(i): state_dict(s) for i, s in enumerate(state)}
    if isinstance(state, dict):
        return {k: state_dict(v) for k, v in state.items()}
    if isinstance(state, _SCALARS):
        return state
    raise TypeError(f"Cannot convert {type(state).__name__} {state!r} in a transform state to a state_dict.")


def load_state_dict(template: Any, sd: Any) -> Any:
    """A state shaped like ``template`` holding the values of ``sd`` (from [`state_dict`][optimtx.state_dict]).

    Structure, names, tensor shapes and dtypes must match ``template`` (usually
    ``tx.init(params)``); every problem found is listed in one ``ValueError``, and
    nothing is returned unless all of them match (all or nothing). Tensors are copied to
    the template's devices; neither ``template`` nor ``sd`` is modified or kept.

    Example:
        >>> from optimtx.transforms.clipping import ClipByGlobalNormState
        >>> template = ClipByGlobalNormState(torch.tensor(0.0))
        >>> load_state_dict(template, {"norm": torch.tensor(3.0)})
        ClipByGlobalNormState(norm=tensor(3.))
        >>> load_state_dict(template, {"nrm": torch.tensor(3.0)})
        Traceback (most recent call last):
        ...
        ValueError: state_dict does not match the transform state: state: missing ['norm'], unexpected ['nrm']. ...
    """
    problems: list[str] = []
    loaded = _load(template, sd, "state", problems)
    if problems:
        raise ValueError(
            "state_dict does not match the transform state: "
            + "; ".join(problems)
            + ". Load a state_dict saved from the same transform built for the same parameters."
        )
    return loaded


def _load(template: Any, sd: Any, path: str, problems: list[str]) -> Any:
    if isinstance(template, Tensor):
        return _load_tensor(template, sd, path, problems)
    if is_namedtuple(template):
        fields = _load_mapping(dict(zip(template._fields, template, strict=True)), sd, path, problems, attr=True)
        if fields is None or len(fields) != len(template._fields):
            return None
        return type(template)(**fields)
    if isinstance(template, (tuple, list)):
        entries = _load_mapping({str(i): t for i, t in enumerate(template)}, sd, path, problems, attr=False)
        if entries is None or len(entries) != len(template):
            return None
        return type(template)(entries.values())
    if isinstance(template, dict):
        return _load_mapping(template, sd, path, problems, attr=False)
    if type(sd) is not type(template):
        problems.append(f"{path}: expected {type(template).__name__} {template!r}, got {sd!r}")
    return sd


def _load_tensor(template: Tensor, sd: Any, path: str, problems: list[str]) -> Tensor | None:
    if not isinstance(sd, Tensor):
        problems.append(f"{path}: expected a tensor, got {type(sd).__name__}")
        return None
    if sd.shape != template.shape or sd.dtype != template.dtype:
        problems.append(
            f"{path}: expected shape {tuple(template.shape)} {template.dtype}, got {tuple(sd.shape)} {sd.dtype}"
        )
        return None
    return sd.detach().to(template.device, copy=True)


def _load_mapping(template: dict, sd: Any, path: str, problems: list[str], attr: bool) -> dict | None:
    if not isinstance(sd, dict):
        problems.append(f"{path}: expected a dict with keys {list(template)}, got {type(sd).__name__}")
        return None
    missing = [k for k in template if k not in sd]
    unexpected = [k for k in sd if k not in template]
    if missing or unexpected:
        problems.append(f"{path}: missing {missing}, unexpected {unexpected}")
    return {
        k: _load(v, sd[k], f"{path}.{k}" if attr else f"{path}[{k!r}]", problems)
        for k, v in template.items()
        if k in sd
    }
