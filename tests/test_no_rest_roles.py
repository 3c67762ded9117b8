"""Docstrings use markdown cross-references: a reST role (`:func:`...) shows as raw text on the docs site.

The built-site check (.ci/check_site.py) finds them too, but only in the docs leg; this catches them in every
test run, in modules the site may not render.
"""

from __future__ import annotations

import re
from pathlib import Path

import optimtx

ROLE = re.compile(r":(?:py:)?(?:func|class|meth|attr|data|mod|obj|exc):`")


def test_no_module_uses_a_rest_role():
    root = Path(optimtx.__file__).parent
    found = [
        f"{path.relative_to(root.parent)}:{number}"
        for path in sorted(root.rglob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if ROLE.search(line)
    ]
    assert not found, f"reST roles (write [`name`][optimtx.name] or `name`): {found}"
