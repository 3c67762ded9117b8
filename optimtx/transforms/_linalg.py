"""Guards shared by the preconditioners (SOAP, Shampoo, PSGD-Kron, MARS)."""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import Tensor


def refuse_complex(params: Mapping[str, Tensor], who: str) -> None:
    """Raise ``TypeError`` naming the first complex parameter: these rules are defined for real tensors only.

    Example:
        >>> refuse_complex({"z": torch.zeros(1, dtype=torch.complex64)}, "soap")
        Traceback (most recent call last):
        ...
        TypeError: params['z'] is complex (torch.complex64); soap supports real parameters only (as its reference). ...
    """
    for key, p in params.items():
        if p.is_complex():
            raise TypeError(
                f"params[{key!r}] is complex ({p.dtype}); {who} supports real parameters only (as its reference). "
                "Optimize its real view (torch.view_as_real) instead."
            )


def finite_or_identity(a: Tensor) -> Tensor:
    """``a`` if every entry is finite, else the identity: what ``eigh``/``svd`` may be given without failing.

    A non-finite gradient makes the statistics non-finite, and ``torch.linalg.eigh``/``svd`` raise on them
    (the reference implementations crash there). The choice is a ``torch.where`` on the device; the
    statistics themselves keep their non-finite values, so the updates still show them (and
    ``apply_if_finite``/``scale_by_amp`` can skip the step).

    Example:
        >>> finite_or_identity(torch.tensor([[float("nan"), 0.0], [0.0, 1.0]]))
        tensor([[1., 0.],
                [0., 1.]])
    """
    eye = torch.eye(a.shape[-1], dtype=a.dtype, device=a.device)
    return torch.where(torch.isfinite(a).all(), a, eye)
