"""Check the BUILT documentation site: what a reader sees, not what the Markdown promised.

    python .ci/check_site.py site

Fails (exit 1, one line per problem) when a page shows a raw reST role (``:meth:``, ``:class:``,
``:func:``, ``:attr:``, ``:data:``, ``:mod:``, ``:exc:``, ``:obj:``) as text, when a docstring's
Example is not rendered as a code block (an "Example" admonition, an Examples section without a
highlighted block, or a ``>>>`` prompt inside a paragraph), when a cross-reference to an optimtx
name did not resolve (its Markdown shows as text), when a referenced image is missing, or when the
search index is absent. Run by ``.ci/docs`` after ``mkdocs build --strict``.
"""

from __future__ import annotations

import re
import sys
from html import unescape
from pathlib import Path

ROLE = re.compile(r":(?:meth|class|func|attr|data|mod|exc|obj):")
UNRESOLVED = re.compile(r"\]\[optimtx[\w.]*\]")
TAG = re.compile(r"<[^>]+>")
SCRIPT = re.compile(r"<(script|style)\b.*?</\1>", re.S)
SECTION = re.compile(
    r'doc-section-title">Examples:</span>(?P<body>.*?)(?=doc-section-title"|<div class="doc doc-object|$)', re.S
)
PROMPT_IN_PARAGRAPH = re.compile(r"<p>(?:(?!</p>).)*?&gt;&gt;&gt; ", re.S)
EXAMPLE_ADMONITION = re.compile(r'<p class="admonition-title">Examples?</p>')
IMAGE = re.compile(r'<img[^>]*\bsrc="(?!https?:|data:)([^"#?]+)"')


def page_problems(html: str, where: str = "") -> list[str]:
    """The problems of one built page (empty when it reads right).

    Example:
        >>> page_problems("<p>Call :meth:<code>step</code>.</p>", "x.html")
        ['x.html: raw reST role shown as text: ":meth:step"']
        >>> page_problems('<p class="doc-section-title">Examples:</span><div class="highlight"><pre>...')
        []
    """
    problems = []
    text = unescape(TAG.sub("", SCRIPT.sub("", html)))
    for match in ROLE.finditer(text):
        snippet = text[match.start() : match.end() + 20].split()[0]
        problems.append(f'{where}: raw reST role shown as text: "{snippet}"')
    for match in UNRESOLVED.finditer(text):
        problems.append(f"{where}: a cross-reference that did not resolve: {match.group(0)!r}")
    if EXAMPLE_ADMONITION.search(html):
        problems.append(f"{where}: an Example rendered as an admonition of plain text, not as code")
    for section in SECTION.finditer(html):
        if 'class="highlight"' not in section.group("body"):
            problems.append(f"{where}: an Examples section without a code block")
    if PROMPT_IN_PARAGRAPH.search(html):
        problems.append(f"{where}: a doctest prompt (>>>) inside a paragraph, not a code block")
    return problems


def site_problems(site: Path) -> list[str]:
    """Every problem of the built site in ``site``."""
    pages = sorted(site.rglob("*.html"))
    if not pages:
        return [f"{site}: no HTML pages (build the site first)"]
    problems = []
    for page in pages:
        html = page.read_text(encoding="utf-8")
        where = str(page.relative_to(site))
        problems += page_problems(html, where)
        for src in IMAGE.findall(html):
            if not (page.parent / src).resolve().is_file():
                problems.append(f"{where}: image {src!r} is missing")
    if not (site / "search" / "search_index.json").is_file():
        problems.append(f"{site}: search/search_index.json is missing (the search plugin did not run)")
    return problems


def main(argv: list[str]) -> int:
    site = Path(argv[0] if argv else "site")
    problems = site_problems(site)
    for problem in problems:
        print(problem, file=sys.stderr)
    print(f"check_site: {len(problems)} problem(s) in {site}")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
