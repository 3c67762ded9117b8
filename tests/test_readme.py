"""The README's python blocks run (given a model, a loader, a loss and gradients they leave to the reader)."""

from __future__ import annotations

import pathlib
import re

import torch

README = pathlib.Path(__file__).resolve().parent.parent / "README.md"


def test_readme_python_blocks_run(capsys):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    assert len(blocks) >= 3
    model = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.LayerNorm(4), torch.nn.Linear(4, 1))
    namespace = {
        "torch": torch,
        "model": model,
        "loader": [(torch.randn(8, 4), torch.randn(8, 1)) for _ in range(4)],
        "criterion": torch.nn.functional.mse_loss,
        "grads": {k: torch.randn_like(v) for k, v in model.named_parameters()},
    }
    before = [p.detach().clone() for p in model.parameters()]
    for block in blocks:
        exec(compile(block, "<README block>", "exec"), namespace)
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))  # training ran
    assert "weight_decay" in capsys.readouterr().out  # explain() printed its table
    assert set(namespace["params"]) == {name for name, _ in model.named_parameters()}
