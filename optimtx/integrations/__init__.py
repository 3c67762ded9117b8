"""Bridges to other frameworks; each submodule is imported explicitly and needs that framework installed.

Entry-point layer: may import anything in optimtx.
"""
