"""Shared shape of a benchmark case, and how an optional piece turns into "n/a"."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass, field

from timing import Variant


@dataclass
class Target:
    """A ratio the issue asks for: ``faster`` is timed against ``slower``.

    ``kind="speedup"`` needs ``slower / faster >= bound``; ``kind="within"`` needs
    ``faster / slower <= bound`` (``faster`` may be slower by at most that factor).
    """

    faster: str
    slower: str
    bound: float
    kind: str = "speedup"

    def ratio(self, medians: dict[str, float | None]) -> float | None:
        """The ratio the target is about, from per-variant times (medians or minima)."""
        a, b = medians.get(self.faster), medians.get(self.slower)
        if a is None or b is None:
            return None
        return b / a if self.kind == "speedup" else a / b

    def met(self, medians: dict[str, float | None]) -> bool | None:
        r = self.ratio(medians)
        if r is None:
            return None
        return r >= self.bound if self.kind == "speedup" else r <= self.bound

    def describe(self) -> str:
        if self.kind == "speedup":
            return f"{self.slower} / {self.faster} >= {self.bound}"
        return f"{self.faster} / {self.slower} <= {self.bound}"


@dataclass
class Case:
    """One benchmark: its variants on one parameter set, the bytes an ideal step moves, its targets."""

    case_id: str
    title: str
    param_set: str
    baseline: str
    bytes_per_step: int
    bound_note: str
    variants: list[Variant] = field(default_factory=list)
    missing: dict[str, str] = field(default_factory=dict)
    targets: list[Target] = field(default_factory=list)
    extra: dict[str, object] = field(default_factory=dict)

    def add(self, name: str, build: Callable[[], Variant], role: str = "anchor") -> None:
        """Add the variant ``build()`` returns; when it cannot be built, record why and report n/a."""
        try:
            variant = build()
        except Exception as exc:  # an unmerged optimtx piece or an anchor this machine lacks
            self.missing[name] = f"{type(exc).__name__}: {exc}".splitlines()[0][:160]
            return
        variant.name, variant.role = name, role
        self.variants.append(variant)


def has_mmengine() -> bool:
    """Whether MMEngine's optimizer wrappers can be imported here."""
    return importlib.util.find_spec("mmengine") is not None
