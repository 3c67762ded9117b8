"""Plots of schedules and of the hyperparameters every param group will see (needs matplotlib).

matplotlib is optional: install it with ``pip install "optimtx[examples]"``. Nothing here
changes the wrapper or schedulers you pass in: their state is saved and restored exactly.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from optimtx.core.namespace import public_dir
from optimtx.core.validation import check_positive_int

__all__ = [
    "MATPLOTLIB_HINT",
    "param_group_values",
    "path_backend_is_interactive_unavailable",
    "plot_param_groups",
    "plot_schedule",
    "schedule_values",
]
__dir__ = public_dir(__all__)  # dir() lists the plotting functions, not their imports

_LINESTYLES = ("-", "--", ":", "-.")
MATPLOTLIB_HINT = 'optimtx.viz needs matplotlib: pip install "optimtx[examples]" (or pip install matplotlib)'


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError as err:
        raise ImportError(MATPLOTLIB_HINT) from err
    if path_backend_is_interactive_unavailable():
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def path_backend_is_interactive_unavailable() -> bool:
    """True when no display is available (then the non-interactive ``Agg`` backend is used)."""
    import os
    import sys

    return sys.platform.startswith("linux") and not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY")


def schedule_values(schedule: Callable[[int], Any], num_steps: int) -> list[float]:
    """``[float(schedule(0)), ..., float(schedule(num_steps - 1))]``.

    Example:
        >>> import optimtx as otx
        >>> schedule_values(otx.schedules.linear(1.0, 0.0, 4), 3)
        [1.0, 0.75, 0.5]
    """
    check_positive_int("num_steps", num_steps)
    if not callable(schedule):
        raise TypeError(f"schedule must be a callable step -> value, got {schedule!r}")
    return [float(schedule(step)) for step in range(num_steps)]


def plot_schedule(schedule: Callable[[int], Any], num_steps: int, path: str | Path | None = None) -> Any:
    """Plot a pure schedule (step -> value) over ``num_steps`` steps; save to ``path`` when given.

    Returns:
        The matplotlib ``Figure``.

    Raises:
        ImportError: matplotlib is not installed (the message names the extra to install).

    Example:
        >>> import optimtx as otx
        >>> fig = plot_schedule(otx.schedules.cosine_decay(1e-3, 100), 100)  # doctest: +SKIP
    """
    values = schedule_values(schedule, num_steps)
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 3.5), constrained_layout=True)
    ax.plot(range(num_steps), values)
    ax.set(xlabel="step", ylabel="value", title=getattr(schedule, "__name__", "schedule"))
    return _finish(plt, fig, path)


def param_group_values(wrapper: Any, schedulers: Sequence[Any], num_steps: int) -> dict[str, list[list[float]]]:
    """What each param group's scheduled hyperparameters will be for the next ``num_steps`` steps.

    Returns ``{param_name: [[group0 value per step], [group1 ...], ...]}`` over the optimizer's
    own groups (not the base-settings entry an ``OptimWrapper`` with several groups appends to
    ``param_groups``). The schedulers are stepped to find out, then the groups'
    hyperparameters and the schedulers' states are put back exactly as they were.

    Example:
        >>> import torch, optimtx as otx
        >>> opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
        >>> sched = otx.LinearLR(opt, start_factor=0.5, end=3, by_epoch=False)
        >>> param_group_values(opt, [sched], 3)
        {'lr': [[0.5, 0.75, 1.0]]}
        >>> opt.param_groups[0]["lr"], sched.last_step
        (0.5, 0)
    """
    check_positive_int("num_steps", num_steps)
    if not hasattr(wrapper, "param_groups"):
        raise TypeError(f"wrapper must be an OptimWrapper or torch optimizer (with param_groups), got {wrapper!r}")
    names = sorted({s.param_name for s in schedulers}) or ["lr"]
    saved_groups = [{k: copy.deepcopy(v) for k, v in g.items() if k != "params"} for g in wrapper.param_groups]
    saved_scheds = [copy.deepcopy(s.state_dict()) for s in schedulers]
    groups = _real_groups(wrapper)
    values: dict[str, list[list[float]]] = {n: [[] for _ in groups] for n in names}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # stepping schedulers without optimizer steps is the point here
            for _ in range(num_steps):
                for name in names:
                    for i, group in enumerate(groups):
                        values[name][i].append(float(group.get(name, float("nan"))))
                for scheduler in schedulers:
                    scheduler.step()
    finally:
        for group, saved in zip(wrapper.param_groups, saved_groups, strict=True):
            for key in [k for k in group if k != "params" and k not in saved]:
                del group[key]
            group.update(saved)
        for scheduler, state in zip(schedulers, saved_scheds, strict=True):
            scheduler.load_state_dict(state)
    return values


def plot_param_groups(
    wrapper: Any,
    schedulers: Sequence[Any],
    num_steps: int,
    path: str | Path | None = None,
    names: Sequence[str] | None = None,
) -> Any:
    """Plot every scheduled hyperparameter of every param group over the next ``num_steps`` steps.

    ``wrapper`` and ``schedulers`` are left exactly as they were (see
    [`param_group_values`][optimtx.viz.param_group_values]).
    ``names`` label the groups in the legend (one per group, e.g. from
    [`param_group_names`][optimtx.param_group_names]); ``'group <i>'`` without them.

    Returns:
        The matplotlib ``Figure`` (one panel per scheduled hyperparameter, one line per group).

    Raises:
        ImportError: matplotlib is not installed (the message names the extra to install).

    Example:
        >>> import torch, optimtx as otx
        >>> opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
        >>> fig = plot_param_groups(opt, [otx.LinearLR(opt, end=5, by_epoch=False)], 10)  # doctest: +SKIP
    """
    values = param_group_values(wrapper, schedulers, num_steps)
    count = len(_real_groups(wrapper))
    labels = [f"group {i}" for i in range(count)] if names is None else list(names)
    if len(labels) != count:
        raise ValueError(f"names must give one name per param group ({count}), got {len(labels)}: {labels!r}")
    plt = _pyplot()
    fig, axes = plt.subplots(len(values), 1, figsize=(6, 3 * len(values)), constrained_layout=True, squeeze=False)
    for ax, (name, groups) in zip(axes[:, 0], values.items(), strict=True):
        for i, series in enumerate(groups):
            # Groups often share a curve: dashes keep every line visible where they overlap.
            ax.plot(range(num_steps), series, label=labels[i], linestyle=_LINESTYLES[i % len(_LINESTYLES)])
        ax.set(xlabel="step", ylabel=name, title=f"{name} per param group")
        ax.legend(fontsize="small")
    return _finish(plt, fig, path)


def _real_groups(wrapper: Any) -> list[dict[str, Any]]:
    optimizer = getattr(wrapper, "optimizer", None)
    return list(optimizer.param_groups if optimizer is not None else wrapper.param_groups)


def _finish(plt: Any, fig: Any, path: str | Path | None) -> Any:
    if path is not None:
        fig.savefig(path, dpi=100)
        plt.close(fig)
    return fig
