"""mkdocs hook: API pages generated from ``optimtx.__all__`` and a nav that picks up every page.

* One page per area (``api/<area>.md``), each a list of ``::: optimtx.<name>`` entries for the
  public names defined in that area, so a new export appears without editing anything.
* Pages in ``docs/`` that ``mkdocs.yml``'s nav does not list are appended under "More", so pages
  added by other changes are never orphaned.

* The optax namespace (``optimtx.optax`` and its submodules) gets one page per module, from
  each module's ``__all__``, plus the generated coverage table of every optax name.

tests/test_docs_site.py reads :func:`api_pages` too: every public name is on some page.
"""

from __future__ import annotations

import importlib
import inspect
import logging
from pathlib import Path

AREAS = {  # module prefix -> (page, title); the first prefix that matches wins
    "optimtx.transforms": ("transforms", "Transforms and combinators"),
    "optimtx.wrapper.torch_optimizer": ("torch_optimizer", "TransformOptimizer"),
    "optimtx.wrapper": ("wrapper", "OptimWrapper facade and config"),
    "optimtx.config": ("wrapper", "OptimWrapper facade and config"),
    "optimtx.param_scheduler": ("param_scheduler", "Parameter schedulers"),
    "optimtx.schedules": ("schedules", "Schedules"),
}
CORE = ("core", "Core: protocol, trees, states, compile")


def area_of(name: str) -> tuple[str, str]:
    """The (page, title) of a public name, from the module that defines it."""
    otx = importlib.import_module("optimtx")
    obj = getattr(otx, name)
    module = getattr(obj, "__module__", None) or "optimtx"
    if not module.startswith("optimtx"):
        module = "optimtx"
    for prefix, area in AREAS.items():
        if module.startswith(prefix):
            return area
    return CORE


def api_pages() -> dict[str, str]:
    """``{"api/<area>.md": markdown}`` for every area holding at least one name of ``optimtx.__all__``."""
    otx = importlib.import_module("optimtx")
    by_area: dict[tuple[str, str], list[str]] = {}
    for name in otx.__all__:
        by_area.setdefault(area_of(name), []).append(name)
    pages = {}
    for (page, title), names in sorted(by_area.items()):
        body = "\n\n".join(f"::: optimtx.{name}" for name in sorted(names, key=str.lower))
        pages[f"api/{page}.md"] = f"# {title}\n\nGenerated from `optimtx.__all__`.\n\n{body}\n"
    return {**pages, **optax_pages()}


OPTAX_MODULES = {  # module -> (page, title)
    "optimtx.optax": ("optax", "optimtx.optax"),
    "optimtx.optax.schedules": ("optax_schedules", "optimtx.optax.schedules"),
    "optimtx.optax.projections": ("optax_projections", "optimtx.optax.projections"),
    "optimtx.optax.tree_utils": ("optax_tree_utils", "optimtx.optax.tree_utils"),
    "optimtx.optax.contrib": ("optax_contrib", "optimtx.optax.contrib"),
    "optimtx.optax.tree": ("optax_tree", "optimtx.optax.tree"),
}


def optax_pages() -> dict[str, str]:
    """``{"api/optax*.md": markdown}``: one page per ``optimtx.optax`` module, and the coverage table."""
    pages = {}
    for module_name, (page, title) in OPTAX_MODULES.items():
        module = importlib.import_module(module_name)
        names = [n for n in getattr(module, "__all__", ()) if not inspect.ismodule(getattr(module, n))]
        top = importlib.import_module("optimtx")
        # An object the main API already documents gets a link, not a second anchor (two anchors for one
        # object leave autorefs unable to choose where a signature's cross-reference should point).
        body = "\n\n".join(
            f"`{module_name}.{name}`: the same object as [`optimtx.{name}`][optimtx.{name}]."
            if getattr(top, name, None) is getattr(module, name) and name in top.__all__
            else f"::: {module_name}.{name}"
            for name in sorted(names, key=str.lower)
        )
        pages[f"api/{page}.md"] = f"# {title}\n\nGenerated from `{module_name}.__all__`.\n\n{body or '(empty)'}\n"
    coverage = importlib.import_module("optimtx.optax._coverage")
    pages["api/optax_coverage.md"] = "# optax coverage\n\n" + coverage.markdown_table()
    return pages


def _nav_files(nav: object) -> set[str]:
    if isinstance(nav, str):
        return {nav}
    if isinstance(nav, list):
        return set().union(*(_nav_files(item) for item in nav)) if nav else set()
    if isinstance(nav, dict):
        return set().union(*(_nav_files(v) for v in nav.values())) if nav else set()
    return set()


class _DropDocstringSubscripts(logging.Filter):
    """Docstrings are written for plain text and doctest: ``group["lr"]`` or ``x[0][1]`` there is code,
    not a Markdown cross-reference, so autorefs' "Could not find cross-reference target" is noise."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "Could not find cross-reference target" not in record.getMessage()


def _filter_mkdocs_handlers() -> None:
    for handler in logging.getLogger("mkdocs").handlers:  # where strict mode counts warnings
        if not any(isinstance(f, _DropDocstringSubscripts) for f in handler.filters):
            handler.addFilter(_DropDocstringSubscripts())


def on_config(config):  # type: ignore[no-untyped-def]
    _filter_mkdocs_handlers()
    pages = api_pages()
    nav = list(config["nav"] or [])
    nav.append({"API reference": [{text.splitlines()[0][2:]: path} for path, text in pages.items()]})
    listed = _nav_files(nav)
    docs_dir = Path(config["docs_dir"])
    extra = sorted(p.name for p in docs_dir.glob("*.md") if p.name not in listed)
    if extra:
        nav.insert(len(nav) - 1, {"More": extra})
    config["nav"] = nav
    return config


def on_files(files, config):  # type: ignore[no-untyped-def]
    from mkdocs.structure.files import File

    for path, text in api_pages().items():
        files.append(File.generated(config, path, content=text))
    return files
