"""Griffe extension (loaded by mkdocstrings, see mkdocs.yml): ``Example:`` sections render as code.

The docstrings say ``Example:`` (one example each). Griffe's Google parser knows only the plural
``Examples:`` as a section, and renders any other title as an admonition of plain Markdown, in
which a doctest collapses into one paragraph. Renaming the title while the docs are built makes
every doctest a highlighted code block with its output, without touching the sources.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_SINGULAR = re.compile(r"^(?P<indent>[ \t]*)Example:[ \t]*$", re.M)


def plural_examples(text: str) -> str:
    """``text`` with every line ``Example:`` (any indent) turned into ``Examples:``.

    Example:
        >>> plural_examples("Sum.\\n\\nExample:\\n    >>> 1 + 1\\n    2\\n")
        'Sum.\\n\\nExamples:\\n    >>> 1 + 1\\n    2\\n'
    """
    return _SINGULAR.sub(r"\g<indent>Examples:", text)


class PluralExamples(griffe.Extension):
    """Rename ``Example:`` sections to ``Examples:`` in every docstring griffe loads."""

    def on_object(self, *, obj: Any, loader: Any, **kwargs: Any) -> None:
        docstring = getattr(obj, "docstring", None)
        if docstring is not None and "Example:" in docstring.value:
            docstring.value = plural_examples(docstring.value)
