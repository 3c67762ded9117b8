"""Collection rules for the whole repository (tests/conftest.py holds the test settings).

The framework integrations import their framework at import time, so --doctest-modules can only
collect the ones whose package is installed; tests/integrations_real runs them where it is.
"""

from __future__ import annotations

import importlib.util

_FRAMEWORKS = {"lightning": "lightning", "transformers": "transformers", "accelerate": "accelerate"}

collect_ignore = [
    f"optimtx/integrations/{module}.py"
    for module, package in _FRAMEWORKS.items()
    if importlib.util.find_spec(package) is None
]
