"""``make_variant``: derive the ``*LR`` / ``*Momentum`` class of a ``*ParamScheduler`` curve.

Each curve is written once, as a ``*ParamScheduler`` class. Its learning-rate and
momentum forms are generated here: same constructor minus ``param_name`` (same
positional order, shown by ``inspect.signature``), a docstring derived from the
curve's own (its summary, arguments and example, rewritten for the fixed parameter).
"""

from __future__ import annotations

import inspect
import re
from typing import Any

__all__ = ["make_variant"]


def _derived_doc(base: type, suffix: str, what: str) -> str:
    """``base``'s docstring rewritten for the variant that schedules ``what`` (``"lr"``/``"momentum"``)."""
    doc = inspect.cleandoc(base.__doc__ or "")
    summary, _, rest = doc.partition("\n")
    subject = "the learning rate" if what == "lr" else "the momentum (``betas[0]`` for Adam-like optimizers)"
    summary = summary.replace("``param_name``", subject)
    rest = re.sub(r"\n    param_name: [^\n]*(\n        [^\n]*)*", "", rest)  # drop the param_name argument
    name = base.__name__.replace("ParamScheduler", suffix)
    rest = rest.replace(f'{base.__name__}(opt, "lr", ', f"{name}(opt, ")
    if what == "momentum":  # the same curve on a momentum starting at 1.0 gives the same numbers
        rest = rest.replace("lr=1.0)", "lr=1.0, momentum=1.0)").replace('["lr"]', '["momentum"]')
    return f"{summary}\n\nGenerated from `{base.__name__}` with ``param_name={what!r}``.\n{rest}"


def make_variant(base: type, mixin: type, suffix: str, what: str, module: str) -> type[Any]:
    """The class ``mixin + base`` named ``base`` with ``ParamScheduler`` replaced by ``suffix``.

    Args:
        base: the ``*ParamScheduler`` class that defines the curve.
        mixin: the class that fixes ``param_name`` (e.g. ``LRSchedulerMixin``).
        suffix: ``"LR"`` or ``"Momentum"``.
        what: the scheduled key, for the docstring (``"lr"`` or ``"momentum"``).
        module: the module the class is published in (for pickling, doctests and repr).

    Example:
        >>> import inspect
        >>> from optimtx.param_scheduler import StepLR
        >>> list(inspect.signature(StepLR).parameters)[:3]
        ['optimizer', 'step_size', 'gamma']
    """
    name = base.__name__.replace("ParamScheduler", suffix)
    base_sig = inspect.signature(vars(base)["__init__"])
    params = [p for p in base_sig.parameters.values() if p.name != "param_name"]

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        vars(mixin)["__init__"](self, *args, **kwargs)

    __init__.__signature__ = base_sig.replace(parameters=params)  # type: ignore[attr-defined]
    __init__.__qualname__ = f"{name}.__init__"
    __init__.__doc__ = f"Build the scheduler; the arguments of `{base.__name__}` without ``param_name``."
    namespace = {"__init__": __init__, "__doc__": _derived_doc(base, suffix, what), "__module__": module}
    cls = type(name, (mixin, base), namespace)
    cls.__qualname__ = name
    return cls
