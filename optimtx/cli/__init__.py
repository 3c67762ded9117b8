"""The ``optimtx`` command line (``python -m optimtx``) and the config helpers it shares with the examples.

Entry-point layer: may import anything in optimtx.
"""

from __future__ import annotations

from optimtx.cli.config import ConfigError as ConfigError
from optimtx.cli.config import build_model as build_model
from optimtx.cli.config import build_param_schedulers as build_param_schedulers
from optimtx.cli.config import load_config as load_config
from optimtx.cli.config import load_factory as load_factory

__all__ = ["ConfigError", "build_model", "build_param_schedulers", "load_config", "load_factory"]
