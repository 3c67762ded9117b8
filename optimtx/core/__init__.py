"""Layer 0, the core: the transform protocol, trees, states, validation, warnings, logging, registries.

May import: the standard library and torch only (no other optimtx layer).
"""
