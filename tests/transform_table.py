"""The table of every transform factory, run through the generic laws in test_contract.py.

One ``TransformCase`` per factory (a combinator gets a case with a sample inner transform):
sample kwargs, invalid kwargs with the error they must raise, and capability flags.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

import optimtx as otx


@dataclasses.dataclass(frozen=True)
class TransformCase:
    """How to build, call and break one transform factory."""

    name: str
    factory: Callable[..., otx.GradientTransformation]
    kwargs: dict[str, Any]
    # (kwargs, exception type, regex the message must match)
    invalid: tuple[tuple[dict[str, Any], type[Exception], str], ...] = ()
    needs_params: bool = False  # update() requires params
    compilable: bool = True  # runs under torch.compile(fullgraph=True)
    differentiable: bool = True  # outputs carry autograd through updates


TABLE: list[TransformCase] = [
    TransformCase("identity", otx.identity, {}),
    TransformCase("scale", otx.scale, {"factor": -0.5}, invalid=(({"factor": "x"}, TypeError, "factor"),)),
    TransformCase(
        "clip_by_global_norm",
        otx.clip_by_global_norm,
        {"max_norm": 1.0},
        invalid=(
            ({"max_norm": -1.0}, ValueError, "max_norm"),
            ({"max_norm": 1.0, "norm_type": 0}, ValueError, "norm_type"),
        ),
    ),
    TransformCase(
        "clip_by_global_norm_inf", otx.clip_by_global_norm, {"max_norm": 0.5, "norm_type": math.inf}
    ),
    TransformCase(
        "clip_by_value", otx.clip_by_value, {"clip_value": 0.1}, invalid=(({"clip_value": -1}, ValueError, "clip_value"),)
    ),
]
