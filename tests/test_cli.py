"""``python -m optimtx``: explain and plot-schedule, --help, and one-line errors (exit code 2) on bad input."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from optimtx.cli.main import main

CONFIG = """
optim_wrapper = dict(
    optimizer=dict(type="AdamW", lr=1e-3, weight_decay=0.05),
    paramwise_cfg=dict(bias_decay_mult=0.0, custom_keys={"head": dict(lr_mult=10.0)}),
)
param_scheduler = [
    dict(type="LinearLR", start_factor=0.1, by_epoch=False, begin=0, end=5),
    dict(type="CosineAnnealingLR", by_epoch=False, begin=5, end=20, T_max=15),
]
"""

FACTORIES = """
import torch

def net():
    return torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU(), torch.nn.Linear(3, 1))

class Two(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.body = torch.nn.Linear(2, 2)
        self.head = torch.nn.Linear(2, 1)

def broken():
    raise RuntimeError("factory exploded")

def not_a_model():
    return 42

NOT_CALLABLE = 3
"""


@pytest.fixture
def files(tmp_path, monkeypatch):
    (tmp_path / "cfg.py").write_text(CONFIG)
    (tmp_path / "cli_factories.py").write_text(FACTORIES)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_explain_prints_the_table_with_the_deciding_rule(files, capsys):
    assert main(["explain", "cfg.py", "--model", "cli_factories:Two"]) == 0
    out = capsys.readouterr().out
    header, *rows = out.strip().splitlines()
    assert header.split()[:5] == ["parameter", "label", "lr", "weight_decay", "rule"]
    table = {row.split()[0]: row.split() for row in rows}
    assert table["head.weight"][2:5] == ["0.01", "0.05", "custom_keys['head']"]
    assert table["body.bias"][2:5] == ["0.001", "0", "bias_decay_mult"]
    assert table["body.weight"][2:5] == ["0.001", "0.05", "default"]


def test_plot_schedule_writes_an_image(files, capsys):
    pytest.importorskip("matplotlib")
    out = files / "lr.png"
    assert main(["plot-schedule", "cfg.py", "--steps", "30", "--out", str(out), "--model", "cli_factories:Two"]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "4 param group(s), 30 steps" in capsys.readouterr().out


def _write(files, text):
    (files / "bad.py").write_text(textwrap.dedent(text))
    return "bad.py"


BAD = {
    "missing file": (["explain", "nope.py", "--model", "cli_factories:net"], "does not exist"),
    "not python": (["explain", "cfg.txt", "--model", "cli_factories:net"], "does not exist"),
    "syntax error": (["explain", "@syntax", "--model", "cli_factories:net"], "syntax error on line 1"),
    "config raises": (["explain", "@raises", "--model", "cli_factories:net"], "failed to run: ZeroDivisionError"),
    "no optim_wrapper": (["explain", "@empty", "--model", "cli_factories:net"], "must define optim_wrapper"),
    "optim_wrapper not a dict": (["explain", "@listwrapper", "--model", "cli_factories:net"], "must define"),
    "unknown optimizer": (["explain", "@unknownopt", "--model", "cli_factories:net"], "NoSuchOpt"),
    "model spec without colon": (["explain", "cfg.py", "--model", "cli_factories.net"], "package.module:factory"),
    "model spec empty attr": (["explain", "cfg.py", "--model", "cli_factories:"], "package.module:factory"),
    "module missing": (["explain", "cfg.py", "--model", "no_such_mod_xyz:net"], "cannot import module"),
    "attribute missing": (["explain", "cfg.py", "--model", "cli_factories:nothing"], "has no attribute"),
    "not callable": (["explain", "cfg.py", "--model", "cli_factories:NOT_CALLABLE"], "not a callable"),
    "factory raises": (["explain", "cfg.py", "--model", "cli_factories:broken"], "factory exploded"),
    "factory returns non-module": (["explain", "cfg.py", "--model", "cli_factories:not_a_model"], "not a torch.nn"),
    "missing --model": (["explain", "cfg.py"], "--model"),
    "steps zero": (["plot-schedule", "cfg.py", "--steps", "0"], "--steps"),
    "steps negative": (["plot-schedule", "cfg.py", "--steps", "-3"], "--steps"),
    "steps not a number": (["plot-schedule", "cfg.py", "--steps", "ten"], "--steps"),
    "steps missing": (["plot-schedule", "cfg.py"], "--steps"),
    "no scheduler": (["plot-schedule", "@noscheduler", "--steps", "5"], "no param_scheduler"),
    "unknown scheduler": (["plot-schedule", "@badscheduler", "--steps", "5"], "unknown param_scheduler type"),
    "scheduler bad args": (["plot-schedule", "@badargs", "--steps", "5"], "cannot build param_scheduler"),
    "no command": ([], "COMMAND"),
    "unknown command": (["frobnicate"], "invalid choice"),
}
SOURCES = {
    "@syntax": "optim_wrapper = dict(\n",
    "@raises": "x = 1 / 0\n",
    "@empty": "lr = 0.1\n",
    "@listwrapper": "optim_wrapper = [1]\n",
    "@unknownopt": "optim_wrapper = dict(optimizer=dict(type='NoSuchOpt', lr=0.1))\n",
    "@noscheduler": "optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.1))\n",
    "@badscheduler": "optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.1))\n"
    "param_scheduler = [dict(type='Nope')]\n",
    "@badargs": "optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.1))\n"
    "param_scheduler = [dict(type='LinearLR', begin=5, end=2)]\n",
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_gives_one_line_and_exit_code_2(files, capsys, case):
    argv, needle = BAD[case]
    argv = [_write(files, SOURCES[a]) if a in SOURCES else a for a in argv]
    try:
        code = main(argv)
    except SystemExit as exit_:  # argparse's own errors
        code = exit_.code
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert code == 2
    assert len(lines) == 1 and lines[0].startswith("optimtx") and "error:" in lines[0], captured.err
    assert needle in lines[0]
    assert "Traceback" not in captured.err + captured.out


@pytest.mark.parametrize("argv", [["--help"], ["explain", "--help"], ["plot-schedule", "--help"]])
def test_help_for_each_command(argv, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 0
    assert "usage: optimtx" in capsys.readouterr().out


def test_python_dash_m_runs_and_reports_bad_input_without_traceback(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "optimtx", "explain", str(tmp_path / "missing.py"), "--model", "a:b"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "does not exist" in proc.stderr and "Traceback" not in proc.stderr
