"""Shared test settings: hypothesis profiles and strict numerics."""

from __future__ import annotations

import os

import torch
from hypothesis import HealthCheck, settings

# Maintainer scripts that regenerate reference values (tests/reference_data/make_*.py) import packages the tests do
# not depend on (jax, optax): never collected, not even by --doctest-modules.
collect_ignore_glob = ["reference_data/make_*.py"]

settings.register_profile("dev", max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile(
    "ci", max_examples=25, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))

torch.set_num_threads(2)
torch.use_deterministic_algorithms(True, warn_only=True)
