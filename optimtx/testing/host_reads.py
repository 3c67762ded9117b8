"""``no_host_reads()``: a context in which reading a tensor's value on the host raises.

A transform's ``update`` must not read tensor values into Python (``.item()``, ``float(t)``,
``bool(t)``, ``if t:``, ``t.tolist()``, ``torch.equal``): on an accelerator each read blocks the
host until the device catches up, and under ``torch.compile`` it breaks the graph. Every such read
reaches torch's dispatcher as one of a few operators (``.tolist()`` and ``.numpy()`` do not, so the
context replaces those two methods while it is open); this mode refuses them all.
"""

from __future__ import annotations

import traceback
from typing import Any

import torch
from torch.utils._python_dispatch import TorchDispatchMode

__all__ = ["HostReadError", "no_host_reads"]

_aten = torch.ops.aten
_HOST_READS = {
    _aten._local_scalar_dense.default: "a tensor value read into Python (.item(), float(t), int(t), bool(t), if t:)",
    _aten.equal.default: "torch.equal (returns a Python bool, so it reads both tensors on the host)",
    _aten.is_nonzero.default: "bool(t) / if t:",
    _aten.allclose.default: "torch.allclose (returns a Python bool)",
}
# Two reads that bypass the dispatcher; the mode swaps them for the duration of the context.
_BYPASSING = {"tolist": "t.tolist()", "numpy": "t.numpy()"}


class HostReadError(RuntimeError):
    """Raised inside [`no_host_reads`][optimtx.testing.no_host_reads] where code reads a tensor on the host."""


def _caller() -> str:
    """The innermost frame outside torch and this module: where the host read was written."""
    for frame in reversed(traceback.extract_stack()[:-2]):
        name = frame.filename.replace("\\", "/")
        if "/torch/" not in name and not name.endswith("optimtx/testing/host_reads.py"):
            return f"{frame.filename}:{frame.lineno} in {frame.name}: {(frame.line or '').strip()}"
    return "<unknown>"


def _refusing(what: str) -> Any:
    def refuse(self: torch.Tensor, *args: Any, **kwargs: Any) -> Any:
        raise HostReadError(f"host read: {what}, at {_caller()}")

    return refuse


class no_host_reads(TorchDispatchMode):  # lower case: used like a function, `with no_host_reads():`
    """Raise `HostReadError` on any host read of a tensor value.

    Example:
        >>> t = torch.tensor([1.0, 2.0])
        >>> with no_host_reads():
        ...     _ = t * 2  # device-side work is fine
        >>> with no_host_reads():
        ...     t.sum().item()
        Traceback (most recent call last):
        ...
        optimtx.testing.host_reads.HostReadError: host read: a tensor value read into Python ...
    """

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._saved: dict[str, Any] = {}

    def __enter__(self) -> no_host_reads:
        self._saved = {name: getattr(torch.Tensor, name) for name in _BYPASSING}
        for name, what in _BYPASSING.items():
            setattr(torch.Tensor, name, _refusing(what))
        super().__enter__()  # type: ignore[no-untyped-call]
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            super().__exit__(*exc)  # type: ignore[no-untyped-call]
        finally:
            for name, method in self._saved.items():
                setattr(torch.Tensor, name, method)

    def __torch_dispatch__(
        self, func: Any, types: Any, args: tuple[Any, ...] = (), kwargs: dict[str, Any] | None = None
    ) -> Any:
        what = _HOST_READS.get(func)
        if what is not None:
            raise HostReadError(f"host read: {what}, at {_caller()}")
        return func(*args, **(kwargs or {}))
