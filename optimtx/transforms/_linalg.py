"""Guards shared by the matrix preconditioners (SOAP's eigenbases, Shampoo's roots)."""

from __future__ import annotations

import torch
from torch import Tensor


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
