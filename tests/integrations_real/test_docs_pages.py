"""The python blocks of docs/integrations/*.md run against the real frameworks and print what they say."""

from __future__ import annotations

import pathlib

import pytest

from tests.test_docs import _run_page

PAGES = sorted((pathlib.Path(__file__).resolve().parents[2] / "docs" / "integrations").glob("*.md"))
NEEDS = {"lightning.md": "lightning", "transformers.md": "transformers", "accelerate.md": "accelerate"}


@pytest.mark.parametrize("path", PAGES, ids=[p.name for p in PAGES])
def test_integration_page_runs_and_prints_what_it_says(path):
    if path.name in NEEDS:
        pytest.importorskip(NEEDS[path.name])
    assert _run_page(path) == []
