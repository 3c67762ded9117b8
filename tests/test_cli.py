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

def exits():
    import sys
    sys.exit(0)

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
    # Named as explain names them; the base-settings entry of wrapper.param_groups is not a group.
    assert "3 param group(s): default, bias, custom:head; 30 steps" in capsys.readouterr().out


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
    "unknown scheduler": (["plot-schedule", "@badscheduler", "--steps", "5"], "Nope is not in the parameter scheduler"),
    "scheduler bad args": (["plot-schedule", "@badargs", "--steps", "5"], "end should be larger than begin"),
    "converted without epoch length": (["plot-schedule", "@converted", "--steps", "5"], "pass --epoch-length N"),
    "convert flag as a string": (["plot-schedule", "@convertstr", "--steps", "5"], "must be True or False"),
    "epoch_length without conversion": (["plot-schedule", "@lengthonly", "--steps", "5"], "epoch_length"),
    "out folder missing": (
        ["plot-schedule", "cfg.py", "--steps", "5", "--out", "no/such/dir/lr.png"],
        "does not exist",
    ),
    "config exits 0": (["explain", "@exits", "--model", "cli_factories:net"], "called sys.exit(0)"),
    "factory exits 0": (["explain", "cfg.py", "--model", "cli_factories:exits"], "called sys.exit(0)"),
    "unknown wrapper type": (
        ["explain", "@badwrapper", "--model", "cli_factories:net"],
        "Did you mean 'AmpOptimWrapper'",
    ),
    "paramwise typo": (["explain", "@typo", "--model", "cli_factories:net"], "Did you mean 'bias_decay_mult'"),
    "paramwise typo (plot)": (["plot-schedule", "@typo", "--steps", "5", "--model", "cli_factories:net"], "Did you"),
    "model file missing": (["explain", "cfg.py", "--model", "nope/model.py:net"], "does not exist"),
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
    "@converted": "optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.1))\n"
    "param_scheduler = [dict(type='LinearLR', end=2, convert_to_iter_based=True)]\n",
    "@convertstr": "optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.1))\n"
    "param_scheduler = [dict(type='LinearLR', end=2, convert_to_iter_based='False')]\n",
    "@lengthonly": "optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.1))\n"
    "param_scheduler = [dict(type='LinearLR', end=2, epoch_length=3)]\n",
    "@exits": "import sys\nsys.exit(0)\n",
    "@badwrapper": "optim_wrapper = dict(type='AmpOptimWraper', optimizer=dict(type='SGD', lr=0.1))\n",
    "@typo": "optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.1, weight_decay=1e-4), "
    "paramwise_cfg=dict(bias_decay_mul=0.0))\nparam_scheduler = [dict(type='LinearLR', end=2)]\n",
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


def _png(path):
    return path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_converted_schedules_use_the_epoch_length_and_an_entry_may_carry_its_own(files, capsys):
    pytest.importorskip("matplotlib")
    from optimtx import viz

    (files / "conv.py").write_text(
        "optim_wrapper = dict(optimizer=dict(type='SGD', lr=1.0))\n"
        "param_scheduler = [dict(type='LinearLR', start_factor=0.1, end=1, convert_to_iter_based=True),\n"
        "                   dict(type='CosineAnnealingLR', begin=1, end=3, T_max=2, convert_to_iter_based=True,\n"
        "                        epoch_length=5)]\n"
    )
    assert main(["plot-schedule", "conv.py", "--steps", "20", "--epoch-length", "10", "--out", "c.png"]) == 0
    assert _png(files / "c.png")
    # The same curve as the library's own builder gives: the warmup peaks at step 10, not after 1 step.
    import torch

    import optimtx as otx

    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    from optimtx.cli import load_config

    scheds = otx.build_param_schedulers(opt, load_config("conv.py")["param_scheduler"], epoch_length=10)
    lrs = viz.param_group_values(opt, scheds, 20)["lr"][0]
    assert lrs[0] == pytest.approx(0.1) and lrs[1] < 0.3  # the warmup spans 10 steps, not the 1 of an epoch step
    assert (scheds[0].end, scheds[1].begin, scheds[1].T_max) == (10, 5, 10)  # the entry's epoch_length (5) wins


def test_plot_schedule_without_model_is_silent_and_says_what_it_drew(files, capsys, recwarn):
    pytest.importorskip("matplotlib")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the stand-in model must not trigger UnmatchedCustomKeyWarning
        assert main(["plot-schedule", "cfg.py", "--steps", "10", "--out", "one.png"]) == 0
    out = capsys.readouterr().out
    assert "1 param group(s): all parameters" in out and "paramwise_cfg is not applied" in out


def test_model_given_as_a_file_path_works_from_any_directory(files, capsys, monkeypatch, tmp_path_factory):
    other = tmp_path_factory.mktemp("elsewhere")
    monkeypatch.chdir(other)
    monkeypatch.syspath_prepend(str(other))
    cfg = str(files / "cfg.py")
    assert main(["explain", cfg, "--model", f"{files / 'cli_factories.py'}:Two"]) == 0
    assert "custom_keys['head']" in capsys.readouterr().out


def test_unexpected_errors_are_one_line_too(files, capsys):
    (files / "boom.py").write_text(
        "import torch\n"
        "class Bad(torch.nn.Module):\n"
        "    def named_parameters(self, *a, **k):\n"
        "        raise RuntimeError('deep failure')\n"
        "def bad():\n"
        "    return Bad()\n"
    )
    assert main(["explain", "cfg.py", "--model", "boom:bad"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("optimtx: error: ") and "deep failure" in err
