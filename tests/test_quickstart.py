"""The README's main demo runs and every training style lowers the loss."""

from __future__ import annotations

import importlib.util
import math
import pathlib

import torch

EXAMPLE = pathlib.Path(__file__).resolve().parent.parent / "examples" / "quickstart.py"


def test_quickstart_trains_three_ways(capsys):
    spec = importlib.util.spec_from_file_location("quickstart", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    x, y = module.make_data()
    initial = torch.nn.functional.mse_loss(module.make_model()(x), y).item()
    results = module.main(steps=40)
    assert len(results) == 3
    for final in results.values():
        assert math.isfinite(final) and final < initial
    assert "bias_decay_mult" in capsys.readouterr().out
