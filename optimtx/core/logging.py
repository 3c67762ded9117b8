"""Logging helpers with MMEngine's names, on top of the standard ``logging`` module.

optimtx logs to ``logging.getLogger("optimtx")``, which only has a ``NullHandler``:
configure handlers in your application (e.g. ``logging.basicConfig(level=logging.INFO)``)
to see its messages.
"""

from __future__ import annotations

import logging

__all__ = ["LOGGER_NAME", "get_logger", "print_log"]

LOGGER_NAME = "optimtx"


def get_logger() -> logging.Logger:
    """The library's logger, ``logging.getLogger("optimtx")``.

    Example:
        >>> get_logger().name
        'optimtx'
    """
    return logging.getLogger(LOGGER_NAME)


def print_log(msg: str, logger: logging.Logger | str | None = "current", level: int = logging.INFO) -> None:
    """Log ``msg`` like MMEngine's ``print_log``.

    Args:
        msg: the message.
        logger: ``'current'`` logs to optimtx's logger; ``None`` prints to stdout;
            ``'silent'`` drops the message; a ``logging.Logger`` logs to it; any other
            string names a standard logger.
        level: the logging level.

    Example:
        >>> print_log("hello", logger=None)
        hello
    """
    if logger is None:
        print(msg)
    elif logger == "silent":
        return
    elif isinstance(logger, logging.Logger):
        logger.log(level, msg)
    elif logger == "current":
        get_logger().log(level, msg)
    elif isinstance(logger, str):
        logging.getLogger(logger).log(level, msg)
    else:
        raise TypeError(f"logger must be a logging.Logger, None, 'silent', 'current' or a logger name, got {logger!r}.")
