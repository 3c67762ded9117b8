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
from optimtx.config.explain import explain, param_group_names
from optimtx.viz import plot_param_groups

__all__ = ["build_parser", "main"]

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
    explain.add_argument(
        "--model",
        required=True,
        help="model factory, package.module:factory or path/file.py:factory (called without arguments)",
    )
    plot = sub.add_parser("plot-schedule", help="plot the config's param_scheduler for every param group")
    plot.add_argument("config", help="Python config file with optim_wrapper = dict(...) and param_scheduler = [...]")
    plot.add_argument("--steps", type=_positive_int, required=True, help="number of scheduler steps to plot")
    plot.add_argument("--out", default="lr.png", help="output image (default: %(default)s)")
    plot.add_argument(
        "--model",
        default=None,
        help="model factory as for explain; without it paramwise_cfg is not applied and one group is drawn",
    )
    plot.add_argument(
        "--epoch-length",
        type=_positive_int,
        default=None,
        help="scheduler steps per epoch, required by convert_to_iter_based entries (or set epoch_length in the entry)",
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
    out = Path(args.out)
    if not out.parent.is_dir():
        raise ConfigError(f"--out {str(out)!r}: folder {str(out.parent)!r} does not exist")
    config = load_config(args.config)
    if not config.get("param_scheduler"):
        raise ConfigError(f"config file {args.config!r} defines no param_scheduler to plot")
    _check_epoch_length(config["param_scheduler"], args.epoch_length)
    wrapper_cfg = dict(config["optim_wrapper"])
    # Without --model a stand-in cannot match the config's rules: draw the base settings, say so, warn about nothing.
    dropped = not args.model and bool(wrapper_cfg.pop("paramwise_cfg", None))
    model = build_model(args.model) if args.model else nn.Linear(1, 1, bias=False)
    wrapper = build_optim_wrapper(model, wrapper_cfg)
    if getattr(wrapper, "optim_wrappers", None) is not None:
        raise ConfigError("plot-schedule supports a single optim_wrapper, not an OptimWrapperDict")
    schedulers: Any = build_param_schedulers(wrapper, config["param_scheduler"], args.epoch_length)
    names = param_group_names(model, wrapper) if args.model else ["all parameters"]
    plot_param_groups(wrapper, schedulers, args.steps, path=out, names=names)
    if dropped:
        print("note: no --model given, so paramwise_cfg is not applied: one line for all parameters")
    print(f"wrote {out} ({len(names)} param group(s): {', '.join(names)}; {args.steps} steps)")


def _check_epoch_length(entries: Sequence[Any], epoch_length: int | None) -> None:
    """A converted entry stepped once per epoch would draw a wrong curve silently: refuse it first."""
    for i, entry in enumerate(entries):
        if entry.get("convert_to_iter_based") is True and entry.get("epoch_length") is None and epoch_length is None:
            raise ConfigError(
                f"param_scheduler[{i}] ({entry.get('type')!r}) has convert_to_iter_based=True: pass --epoch-length N "
                "(scheduler steps per epoch, e.g. optimizer steps per epoch under gradient accumulation)"
            )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m optimtx`` and the ``optimtx`` console script; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if os.getcwd() not in sys.path:  # as python -m does: --model factories in the current directory import
        sys.path.insert(0, os.getcwd())
    try:
        {"explain": run_explain, "plot-schedule": run_plot_schedule}[args.command](args)
    except KeyboardInterrupt:
        _error("interrupted")
        return 130
    except SystemExit as err:  # from the model or the config at build time: never a silent exit 0
        _error(f"the config or model called sys.exit({err.code!r})")
        return EXIT_USAGE
    except Exception as err:
        _error(_one_line(err))
        return EXIT_USAGE
    return 0


def _one_line(err: BaseException) -> str:
    """The message alone (a KeyError's ``str`` is its repr in quotes), first line; unexpected types named."""
    text = str(err.args[0]) if isinstance(err, KeyError) and err.args else str(err)
    first = text.strip().splitlines()[0] if text.strip() else ""
    if isinstance(err, OSError) and err.strerror:
        first = f"{err.strerror}: {err.filename!r}" if err.filename else err.strerror
    expected = (ConfigError, ValueError, TypeError, KeyError, ImportError, OSError)
    if not isinstance(err, expected) or not first:
        first = f"{type(err).__name__}: {first}" if first else type(err).__name__
    return first


def _error(message: str) -> None:
    print(f"optimtx: error: {message}", file=sys.stderr)
