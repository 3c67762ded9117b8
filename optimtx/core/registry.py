"""``Registry``: a name -> callable table that builds objects from config dicts.

Behaves like MMEngine's registry for what optimizer configs need: decorator or
direct registration (with aliases), ``get``, ``build(cfg, default_args)``, ``in``
and ``len``. Unknown names raise ``KeyError`` listing the closest registered names.
Scopes are not modelled; a registry may have a ``parent`` that lookups fall back to.
"""

from __future__ import annotations

import contextlib
import contextvars
import difflib
import importlib
import inspect
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

__all__ = ["BuildFunc", "Registry", "SCOPE", "allow_imports", "build_from_cfg", "merge_cfg", "resolve_type"]

SCOPE = "optimtx"  # names may carry it as an MMEngine scope prefix: "optimtx.AmpOptimWrapper"
BuildFunc = Callable[[Mapping[str, Any], "Registry", "Mapping[str, Any] | None"], Any]

_ALLOWED_IMPORTS: contextvars.ContextVar[tuple[str, ...]] = contextvars.ContextVar(
    "optimtx_allowed_imports", default=()
)


@contextlib.contextmanager
def allow_imports(*prefixes: str) -> Iterator[None]:
    """Let ``type`` strings under the given module prefixes be imported while the block runs.

    By default a registry resolves only names registered in it, so a config dict read from a
    file (JSON, YAML, a checkpoint's metadata) cannot name an arbitrary importable callable such as
    ``"subprocess.getoutput"``. Inside this block, a dotted ``type`` whose module path starts with
    one of ``prefixes`` is imported, and accepted only when it is a class or a function of the
    kind the registry holds (e.g. a ``torch.optim.Optimizer`` subclass for ``OPTIMIZERS``).

    Args:
        *prefixes: module paths such as ``"mypkg"`` or ``"mypkg.optim"`` (whole dotted components).

    Example:
        >>> from optimtx.registry import OPTIMIZERS
        >>> OPTIMIZERS.get("torch.optim.sgd.SGD") is None
        True
        >>> with allow_imports("torch.optim"):
        ...     OPTIMIZERS.get("torch.optim.sgd.SGD")
        <class 'torch.optim.sgd.SGD'>
    """
    for prefix in prefixes:
        if not isinstance(prefix, str) or not prefix or prefix.startswith(".") or prefix.endswith("."):
            raise ValueError(f"allow_imports takes module paths such as 'mypkg.optim', got {prefix!r}.")
    token = _ALLOWED_IMPORTS.set(_ALLOWED_IMPORTS.get() + prefixes)
    try:
        yield
    finally:
        _ALLOWED_IMPORTS.reset(token)


def _import_allowed(path: str) -> bool:
    return any(path.startswith(prefix + ".") for prefix in _ALLOWED_IMPORTS.get())


class Registry:
    """A named table of classes and functions that config dicts refer to by ``type``.

    Args:
        name: the registry's name, used in messages.
        build_func: ``build_func(cfg, registry, default_args)`` replaces the default
            `build_from_cfg` (e.g. to build nested configs).
        parent: a registry that [`get`][optimtx.Registry.get] falls back to for names not found here.
        accepts: for dotted paths imported inside `allow_imports`, a predicate the
            imported class or function must satisfy (e.g. "is an Optimizer subclass").

    Example:
        >>> MODELS = Registry("model")
        >>> @MODELS.register_module()
        ... class Net:
        ...     def __init__(self, depth=1):
        ...         self.depth = depth
        >>> MODELS.build(dict(type="Net", depth=3)).depth
        3
        >>> "Net" in MODELS, len(MODELS)
        (True, 1)
    """

    def __init__(
        self,
        name: str,
        build_func: BuildFunc | None = None,
        parent: Registry | None = None,
        accepts: Callable[[Any], bool] | None = None,
    ):
        if not isinstance(name, str):
            raise TypeError(f"Registry name must be a str, got {name!r}.")
        if parent is not None and not isinstance(parent, Registry):
            raise TypeError(f"parent must be a Registry or None, got {parent!r}.")
        self._name = name
        self._module_dict: dict[str, Callable[..., Any]] = {}
        self._build_func = build_func or build_from_cfg
        self._accepts = accepts
        self.parent = parent

    @property
    def name(self) -> str:
        """The registry's name."""
        return self._name

    @property
    def module_dict(self) -> dict[str, Callable[..., Any]]:
        """The locally registered entries, name -> object (not a copy)."""
        return self._module_dict

    def __len__(self) -> int:
        return len(self._module_dict)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key) is not None

    def __iter__(self) -> Iterator[str]:
        return iter(self._module_dict)

    def __repr__(self) -> str:
        return f"Registry(name={self._name!r}, items={sorted(self._module_dict)!r})"

    def get(self, key: str) -> Callable[..., Any] | None:
        """The object registered as ``key`` here or in a parent, else ``None``.

        ``"optimtx.<name>"`` (an MMEngine-style scope prefix) means ``<name>``. Any other
        dotted path that is not registered is imported only inside `allow_imports`
        for a matching prefix (``TypeError`` when the object is not a class or function of the
        kind this registry holds); config data alone never imports anything.

        Example:
            >>> reg = Registry("demo")
            >>> _ = reg.register_module(name="Sum", module=sum)
            >>> reg.get("Sum") is sum, reg.get("Nope")
            (True, None)
        """
        if isinstance(key, str) and key.startswith(SCOPE + "."):
            key = key[len(SCOPE) + 1 :]  # MMEngine-style scope: "optimtx.AmpOptimWrapper" is ours
        registry: Registry | None = self
        while registry is not None:
            if key in registry._module_dict:
                return registry._module_dict[key]
            registry = registry.parent
        if isinstance(key, str) and "." in key and _import_allowed(key):
            return self._checked_import(key)
        return None

    def _checked_import(self, path: str) -> Callable[..., Any] | None:
        obj = _import_dotted(path)
        if obj is None:
            return None
        if not (inspect.isclass(obj) or inspect.isfunction(obj)) or (self._accepts and not self._accepts(obj)):
            raise TypeError(
                f"{path!r} imports {obj!r}, which is not a class or function the {self._name} registry accepts."
            )
        return obj

    def suggest(self, key: str, n: int = 3) -> list[str]:
        """The registered names closest to ``key`` (case-insensitive), best first.

        Example:
            >>> reg = Registry("demo")
            >>> _ = reg.register_module(name="AdamW", module=dict)
            >>> reg.suggest("adamw")
            ['AdamW']
        """
        names = self._all_names()
        lowered = {name.lower(): name for name in names}
        close = difflib.get_close_matches(key.lower(), list(lowered), n=n, cutoff=0.5)
        return [lowered[name] for name in close]

    def _all_names(self) -> list[str]:
        names: list[str] = []
        registry: Registry | None = self
        while registry is not None:
            names.extend(n for n in registry._module_dict if n not in names)
            registry = registry.parent
        return names

    def unknown_key_error(self, key: str) -> KeyError:
        """The ``KeyError`` for a name that is not registered, with suggestions.

        Example:
            >>> reg = Registry("optimizer")
            >>> _ = reg.register_module(name="AdamW", module=dict)
            >>> print(reg.unknown_key_error("Adamw").args[0])
            Adamw is not in the optimizer registry. Did you mean 'AdamW'? ...
        """
        close = self.suggest(key) if isinstance(key, str) else []
        hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        if isinstance(key, str) and "." in key and not _import_allowed(key):
            hint += (
                " Dotted paths in configs are not imported (config data must not run code): register the"
                " object, pass the class itself as `type`, or build inside"
                f" `optimtx.registry.allow_imports({key.rpartition('.')[0]!r})`."
            )
        return KeyError(
            f"{key} is not in the {self._name} registry.{hint} "
            f"Registered names: {', '.join(sorted(self._all_names()))}."
        )

    def register_module(
        self,
        name: str | Sequence[str] | None = None,
        force: bool = False,
        module: Callable[..., Any] | None = None,
    ) -> Any:
        """Register ``module`` (or, used as a decorator, the decorated object).

        Args:
            name: the name, or a list of alias names; defaults to ``module.__name__``.
            force: overwrite an existing entry instead of raising ``KeyError``.
            module: the callable to register now; omit it to get a decorator.

        Returns:
            ``module`` itself, or a decorator that registers and returns its argument.

        Example:
            >>> reg = Registry("demo")
            >>> _ = reg.register_module(name=["Sgd", "SGD"], module=dict)
            >>> sorted(reg.module_dict)
            ['SGD', 'Sgd']
        """
        if not isinstance(force, bool):
            raise TypeError(f"force must be a boolean, but got {type(force)}")
        if not (name is None or isinstance(name, str) or _is_str_sequence(name)):
            raise TypeError(f"name must be None, an instance of str, or a sequence of str, but got {type(name)}")
        if module is not None:
            self._register(module, name, force)
            return module

        def decorator(obj: Callable[..., Any]) -> Callable[..., Any]:
            self._register(obj, name, force)
            return obj

        return decorator

    def _register(self, module: Any, name: str | Sequence[str] | None, force: bool) -> None:
        if not callable(module):
            raise TypeError(f"module must be Callable, but got {type(module)}")
        names = [module.__name__] if name is None else [name] if isinstance(name, str) else list(name)
        for key in names:  # every name is checked before any is registered: all or nothing
            if not force and key in self._module_dict:
                existing = self._module_dict[key]
                raise KeyError(
                    f"{key} is already registered in {self._name} at "
                    f"{getattr(existing, '__module__', '?')}; pass force=True to replace it."
                )
        self._module_dict.update(dict.fromkeys(names, module))

    def build(self, cfg: Mapping[str, Any], default_args: Mapping[str, Any] | None = None) -> Any:
        """Build the object that ``cfg`` describes (``cfg`` is not modified).

        Example:
            >>> reg = Registry("demo")
            >>> _ = reg.register_module(name="Pair", module=lambda a, b=0: (a, b))
            >>> reg.build(dict(type="Pair", a=1), default_args=dict(b=2))
            (1, 2)
        """
        return self._build_func(cfg, self, default_args)


def _is_str_sequence(value: Any) -> bool:
    return isinstance(value, Sequence) and all(isinstance(v, str) for v in value)


def _import_dotted(path: str) -> Any:
    module_name, _, attr = path.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return None
    return getattr(module, attr, None)


def resolve_type(cfg: Mapping[str, Any], registry: Registry) -> Callable[..., Any]:
    """The callable that ``cfg['type']`` names in ``registry`` (or ``cfg['type']`` itself).

    Example:
        >>> reg = Registry("demo")
        >>> resolve_type(dict(type=int), reg)
        <class 'int'>
    """
    obj_type = cfg["type"]
    if isinstance(obj_type, str):
        obj = registry.get(obj_type)
        if obj is None:
            raise registry.unknown_key_error(obj_type)
        return obj
    if callable(obj_type):
        return obj_type
    raise TypeError(f"type must be a str or valid type, but got {type(obj_type)}")


def merge_cfg(
    cfg: Mapping[str, Any], registry: Registry, default_args: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Validate ``cfg`` and return a shallow copy with ``default_args`` filled in (cfg wins).

    Example:
        >>> merge_cfg(dict(type="A", x=1), Registry("demo"), dict(x=2, y=3))
        {'type': 'A', 'x': 1, 'y': 3}
    """
    if not isinstance(cfg, Mapping):
        raise TypeError(f"cfg should be a dict, ConfigDict or Config, but got {type(cfg)}")
    if not isinstance(registry, Registry):
        raise TypeError(f"registry must be a Registry object, but got {type(registry)}")
    if default_args is not None and not isinstance(default_args, Mapping):
        raise TypeError(f"default_args should be a dict, ConfigDict, Config or None, but got {type(default_args)}")
    if "type" not in cfg and "type" not in (default_args or {}):
        raise KeyError(
            f'`cfg` or `default_args` must contain the key "type", but got {dict(cfg)!r} and {default_args!r}'
        )
    # A shallow copy: configs may carry live objects (parameter generators, optimizers),
    # and only top-level keys are popped, so the caller's dict stays untouched.
    merged = dict(cfg)
    for key, value in (default_args or {}).items():
        merged.setdefault(key, value)
    return merged


def build_from_cfg(cfg: Mapping[str, Any], registry: Registry, default_args: Mapping[str, Any] | None = None) -> Any:
    """Build ``cfg['type'](**rest)``, looking ``type`` up in ``registry`` when it is a name.

    Example:
        >>> reg = Registry("demo")
        >>> _ = reg.register_module(name="Dict", module=dict)
        >>> build_from_cfg(dict(type="Dict", a=1), reg)
        {'a': 1}
    """
    args = merge_cfg(cfg, registry, default_args)
    obj_cls = resolve_type(args, registry)
    args.pop("type")
    return obj_cls(**args)
