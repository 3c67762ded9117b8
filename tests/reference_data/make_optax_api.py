"""Regenerate tests/reference_data/optax_api.json: optax's public names and signatures.

The coverage table (optimtx/optax/_coverage.py) and the signature tests check against this
file, so neither needs JAX. Run by hand with optax installed (CPU is enough):

    /work/venv-jax/bin/python tests/reference_data/make_optax_api.py

For every public name of ``optax``, ``optax.contrib``, ``optax.schedules``, ``optax.projections``
and ``optax.tree_utils`` it stores (and writes the names alone to optimtx/optax/_optax_names.py, which the
coverage table reads) the kind (function, class, module, other) and, for callables,
each parameter's name, kind and default (JSON value when it is a plain number, string, bool,
None or tuple of those; otherwise ``{"repr": ...}``).
"""

from __future__ import annotations

import inspect
import json
import pathlib
import re

OUT = pathlib.Path(__file__).with_name("optax_api.json")
NAMES_MODULE = pathlib.Path(__file__).parents[2] / "optimtx" / "optax" / "_optax_names.py"
MODULES = ("optax", "optax.contrib", "optax.schedules", "optax.projections", "optax.tree_utils")


def _plain(value: object) -> object:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, tuple) and all(_plain(v) == v for v in value):
        return list(value)
    return {"repr": re.sub(r" at 0x[0-9a-f]+", "", repr(value))}


def _signature(obj: object) -> list[dict] | None:
    try:
        sig = inspect.signature(obj)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    params = []
    for p in sig.parameters.values():
        entry: dict = {"name": p.name, "kind": p.kind.name}
        if p.default is not inspect.Parameter.empty:
            entry["default"] = _plain(p.default)
        params.append(entry)
    return params


def _kind(obj: object) -> str:
    if inspect.ismodule(obj):
        return "module"
    if inspect.isclass(obj):
        return "class"
    if callable(obj):
        return "function"
    return "other"


def describe(module_name: str) -> dict[str, dict]:
    import importlib

    module = importlib.import_module(module_name)
    out = {}
    for name in sorted(dir(module)):
        if name.startswith("_"):
            continue
        obj = getattr(module, name)
        entry: dict = {"kind": _kind(obj)}
        if entry["kind"] in ("function", "class"):
            entry["signature"] = _signature(obj)
        out[name] = entry
    return out


def main() -> None:
    import optax

    data = {"optax": optax.__version__, "modules": {m: describe(m) for m in MODULES}}
    OUT.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    lines = [
        f'"""optax {optax.__version__}\'s public names per module (from tests/reference_data/make_optax_api.py)."""',
        "",
        "OPTAX_VERSION = " + json.dumps(optax.__version__),
        "OPTAX_NAMES: dict[str, tuple[str, ...]] = {",
    ]
    for module, names in data["modules"].items():
        lines.append(f"    {json.dumps(module)}: (")
        lines.extend(f"        {json.dumps(n)}," for n in names)
        lines.append("    ),")
    lines.append("}")
    NAMES_MODULE.write_text("\n".join(lines) + "\n")
    print(f"wrote {sum(len(v) for v in data['modules'].values())} names to {OUT}")


if __name__ == "__main__":
    main()
