"""Gradient transforms, one module per concern."""
