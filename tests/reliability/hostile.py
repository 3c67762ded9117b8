"""Hostile values by kind of argument, shared by the reliability tests of every area.

Each kind maps to values that a construction-time check must refuse with ``TypeError``
or ``ValueError``; ``hostile(kind)`` is a hypothesis strategy over them.
"""

from __future__ import annotations

import math

import torch
from hypothesis import strategies as st

_NOT_A_NUMBER = ["0.1", None, [0.1], {"v": 0.1}, True, False, torch.ones(2), torch.tensor(1)]

BAD_VALUES: dict[str, list] = {
    # a number >= 0 (lr, eps, weight_decay, momentum, ...)
    "non_negative": [-1.0, -1e-12, math.nan, math.inf, -math.inf, *_NOT_A_NUMBER],
    # a number > 0
    "positive": [0, 0.0, -1.0, math.nan, math.inf, *_NOT_A_NUMBER],
    # a number in [0, 1)
    "unit_open": [-0.1, 1.0, 2.0, math.nan, math.inf, *_NOT_A_NUMBER],
    # a number in [0, 1]
    "unit_closed": [-0.1, 1.5, 2.0, math.nan, math.inf, *_NOT_A_NUMBER],
    # any finite number
    "finite": [math.nan, math.inf, -math.inf, *_NOT_A_NUMBER],
    # True or False, nothing else (bools as strings are the classic trap)
    "bool": ["no", "yes", "False", "True", 0, 1, None, 0.0, torch.tensor(True)],
    # an int >= 1
    "positive_int": [0, -1, 1.5, "3", True, None, math.inf],
    # a pair of numbers in [0, 1)
    "betas": [(2.0, 3.0), (0.9,), (0.9, 0.99, 0.999), "0.9,0.99", (math.nan, 0.9), (0.9, math.inf), (-0.1, 0.9), 0.9],
    # a GradientTransformation
    "transform": [None, "adam", torch.optim.SGD, lambda g: g, (None, None)],
}


def hostile(kind: str) -> st.SearchStrategy:
    """A strategy over the values of ``kind`` that must be refused."""
    return st.sampled_from(BAD_VALUES[kind])
