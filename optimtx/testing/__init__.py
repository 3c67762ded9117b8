"""optimtx.testing: property-test your own update rules with the laws optimtx's rules obey.

[`check_transform`][optimtx.testing.check_transform] runs a transform through purity, determinism,
placement, state_dict, compile and reference laws, and raises
[`TransformLawError`][optimtx.testing.TransformLawError] naming the broken law. The hypothesis
strategies (parameter trees of any dtype and layout, gradients with inf/NaN, hyperparameters
from declared ranges) live in `optimtx.testing.strategies` and need the ``testing`` extra
(``pip install 'optimtx[testing]'``); nothing else here needs hypothesis.

Example:
    >>> import torch, optimtx as otx
    >>> from optimtx.testing import check_transform
    >>> def scale_by_sign():
    ...     return otx.GradientTransformation(
    ...         lambda params: otx.EmptyState(),
    ...         lambda updates, state, params=None: ({k: torch.sign(g) for k, g in updates.items()}, state),
    ...     )
    >>> check_transform(scale_by_sign)
"""

from __future__ import annotations

from optimtx.testing.host_reads import HostReadError as HostReadError
from optimtx.testing.host_reads import no_host_reads as no_host_reads
from optimtx.testing.laws import TransformLawError as TransformLawError
from optimtx.testing.laws import check_transform as check_transform
from optimtx.testing.samples import sample_gradients as sample_gradients
from optimtx.testing.samples import sample_params as sample_params

__all__ = [
    "HostReadError",
    "TransformLawError",
    "check_transform",
    "no_host_reads",
    "sample_gradients",
    "sample_params",
]
