"""Bridges to other frameworks; each submodule is imported explicitly and needs that framework installed.

Entry-point layer: may import anything in optimtx.
"""

__all__: list[str] = []  # the public names of this package live in its modules
