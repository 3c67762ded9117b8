"""``python -m optimtx`` / ``optimtx``: ``explain`` a config on a model, ``plot-schedule`` a config's schedule.

Bad input never shows a traceback: one line ``optimtx: error: ...`` on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from torch import nn

from optimtx.cli.config import ConfigError, build_model, build_param_schedulers, load_config
from optimtx.config.builder import build_optim_wrapper
from optimtx.config.explain import explain
from optimtx.viz import plot_param_groups

EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        """One line, no usage dump: ``<prog>: error: <message>``, exit code 2."""
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="optimtx", description="optimtx command line: inspect MMEngine-style optimizer configs.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser, metavar="COMMAND")
    explain = sub.add_parser(
        "explain", help="print which lr / weight decay every parameter gets, and which rule decided it"
    )
    explain.add_argument("config", help="Python config file with optim_wrapper = dict(...)")
    explain.add_argument("--model", required=True, help="model factory as package.module:factory (called without args)")
    plot = sub.add_parser("plot-schedule", help="plot the config's param_scheduler for every param group")
    plot.add_argument("config", help="Python config file with optim_wrapper = dict(...) and param_scheduler = [...]")
    plot.add_argument("--steps", type=_positive_int, required=True, help="number of scheduler steps to plot")
    plot.add_argument("--out", default="lr.png", help="output image (default: %(default)s)")
    plot.add_argument("--model", default=None, help="model factory package.module:factory (default: one parameter)")
    plot.add_argument(
        "--epoch-length", type=_positive_int, default=1, help="steps per epoch for convert_to_iter_based entries"
    )
    return parser


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {text!r}")
    return value


def run_explain(args: argparse.Namespace) -> None:
    config = load_config(args.config)
    model = build_model(args.model)
    print(explain(model, config["optim_wrapper"]))


def run_plot_schedule(args: argparse.Namespace) -> None:
    config = load_config(args.config)
    if not config.get("param_scheduler"):
        raise ConfigError(f"config file {args.config!r} defines no param_scheduler to plot")
    model = build_model(args.model) if args.model else nn.Linear(1, 1, bias=False)
    wrapper = build_optim_wrapper(model, config["optim_wrapper"])
    wrappers: Any = getattr(wrapper, "optim_wrappers", None)
    if wrappers is not None:
        raise ConfigError("plot-schedule supports a single optim_wrapper, not an OptimWrapperDict")
    schedulers = build_param_schedulers(wrapper, config["param_scheduler"], args.epoch_length)
    plot_param_groups(wrapper, schedulers, args.steps, path=args.out)
    print(f"wrote {Path(args.out)} ({len(wrapper.param_groups)} param group(s), {args.steps} steps)")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m optimtx`` and the ``optimtx`` console script; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if os.getcwd() not in sys.path:  # as python -m does: --model factories in the current directory import
        sys.path.insert(0, os.getcwd())
    try:
        {"explain": run_explain, "plot-schedule": run_plot_schedule}[args.command](args)
    except (ConfigError, ValueError, TypeError, KeyError, ImportError, OSError) as err:
        message = str(err).splitlines()[0] if str(err) else type(err).__name__
        print(f"optimtx: error: {message}", file=sys.stderr)
        return EXIT_USAGE
    return 0
