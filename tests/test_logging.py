"""optimtx.logging: MMEngine's print_log on the standard 'optimtx' logger, which only has a NullHandler."""

from __future__ import annotations

import logging

import pytest
from optimtx.logging import get_logger, print_log


def test_library_logger_has_only_a_null_handler():
    logger = get_logger()
    assert logger is logging.getLogger("optimtx")
    assert [type(h) for h in logger.handlers] == [logging.NullHandler]


def test_print_log_targets(capsys, caplog):
    caplog.set_level(logging.DEBUG)
    print_log("to stdout", logger=None)
    print_log("current", logger="current", level=logging.WARNING)
    print_log("named", logger="someapp")
    print_log("object", logger=logging.getLogger("other"), level=logging.DEBUG)
    print_log("dropped", logger="silent")
    assert capsys.readouterr().out == "to stdout\n"
    got = [(r.name, r.levelno, r.getMessage()) for r in caplog.records]
    assert got == [
        ("optimtx", logging.WARNING, "current"),
        ("someapp", logging.INFO, "named"),
        ("other", logging.DEBUG, "object"),
    ]


def test_print_log_rejects_other_logger_values():
    with pytest.raises(TypeError, match="logger must be"):
        print_log("x", logger=3)


def test_tutorial_import_paths_expose_mmengine_names():
    import optimtx.logging

    import optimtx.optim
    import optimtx.registry

    for module, names in (
        (
            optimtx.optim,
            [
                "OptimWrapper",
                "AmpOptimWrapper",
                "OptimWrapperDict",
                "build_optim_wrapper",
                "DefaultOptimWrapperConstructor",
                "OPTIMIZERS",
                "OPTIM_WRAPPERS",
                "OPTIM_WRAPPER_CONSTRUCTORS",
                "LinearLR",
                "CosineAnnealingLR",
                "MultiStepLR",
            ],
        ),
        (
            optimtx.registry,
            ["Registry", "OPTIMIZERS", "OPTIM_WRAPPERS", "OPTIM_WRAPPER_CONSTRUCTORS", "PARAM_SCHEDULERS"],
        ),
        (optimtx.logging, ["print_log"]),
    ):
        for name in names:
            assert getattr(module, name) is not None, f"{module.__name__}.{name}"
    assert optimtx.optim.OptimWrapper is optimtx.OptimWrapper
    assert optimtx.registry.OPTIM_WRAPPER_CONSTRUCTORS is optimtx.OPTIM_WRAPPER_CONSTRUCTORS
