"""Checks of a wrapper config that need no model: the wrapper ``type`` and the ``paramwise_cfg`` keys.

One implementation, used by ``build_optim_wrapper`` (through the default constructor), by
``explain`` (which does not build the wrapper) and so by the command line: a typo is refused
the same way everywhere, with the closest accepted name.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from optimtx.config.paramwise_rules import FLAG_KEYS, MULT_KEYS
from optimtx.config.registries import OPTIM_WRAPPERS
from optimtx.core.registry import resolve_type

__all__ = ["PARAMWISE_KEYS", "check_paramwise_keys", "check_wrapper_type"]

PARAMWISE_KEYS = ("custom_keys", *FLAG_KEYS, *MULT_KEYS)
"""The ``paramwise_cfg`` keys the default constructor reads (from the rules' own lists)."""


def check_paramwise_keys(paramwise_cfg: Any) -> None:
    """Refuse a ``paramwise_cfg`` key the default rules do not read, suggesting the closest one.

    A constructor subclass that reads keys of its own skips this check (it is run for the
    default constructor only); values are checked by the rules themselves.

    Raises:
        ValueError: an unknown key (the message names it, a close match and every accepted key).

    Example:
        >>> check_paramwise_keys(dict(bias_decay_mult=0.0))
        >>> check_paramwise_keys(dict(bias_decay_mul=0.0))
        Traceback (most recent call last):
        ...
        ValueError: Unknown paramwise_cfg key 'bias_decay_mul'. Did you mean 'bias_decay_mult'? ...
    """
    if not isinstance(paramwise_cfg, Mapping):
        return  # the rules refuse a non-dict with their own message
    unknown = [key for key in paramwise_cfg if key not in PARAMWISE_KEYS]
    if not unknown:
        return
    key = unknown[0]
    close = difflib.get_close_matches(str(key), PARAMWISE_KEYS, n=1, cutoff=0.6)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise ValueError(
        f"Unknown paramwise_cfg key {key!r}.{hint} Accepted keys: {', '.join(PARAMWISE_KEYS)} "
        "(a custom constructor that reads other keys subclasses DefaultOptimWrapperConstructor)."
    )


def check_wrapper_type(wrapper_cfg: Mapping[str, Any]) -> None:
    """Refuse a wrapper ``type`` that is not registered in ``OPTIM_WRAPPERS`` (with suggestions).

    Raises:
        KeyError: the name is not registered (the message suggests close names).

    Example:
        >>> check_wrapper_type(dict(type="AmpOptimWrapper"))
        >>> check_wrapper_type(dict(type="AmpOptimWraper"))
        Traceback (most recent call last):
        ...
        KeyError: "AmpOptimWraper is not in the optim_wrapper registry. Did you mean 'AmpOptimWrapper' ..."
    """
    resolve_type({"type": wrapper_cfg.get("type", "OptimWrapper")}, OPTIM_WRAPPERS)
