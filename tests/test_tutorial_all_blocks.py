"""Every python block of the MMEngine OptimWrapper tutorial runs, in order, with optimtx.

The tutorial lives in ``../shared/seed/optim_wrapper_tutorial.md`` beside the repository
(section-by-section copies with output checks are in test_tutorial.py and
test_tutorial_config.py). Here the whole file runs as one script, as a reader would run
it: ``mmengine`` replaced by ``optimtx`` and ``.cuda()`` mapped to the CPU.
"""

from __future__ import annotations

import pathlib
import re
import warnings

import pytest

TUTORIAL = pathlib.Path(__file__).resolve().parents[2] / "shared" / "seed" / "optim_wrapper_tutorial.md"


def _blocks() -> list[str]:
    text = TUTORIAL.read_text()
    return [
        b.replace("mmengine", "optimtx").replace(".cuda()", "") for b in re.findall(r"```python\n(.*?)```", text, re.S)
    ]


@pytest.mark.skipif(not TUTORIAL.exists(), reason="the shared tutorial is not beside this checkout")
def test_every_tutorial_block_runs_in_order(capsys):
    blocks = _blocks()
    assert len(blocks) >= 20
    namespace: dict = {"__name__": "tutorial"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torch.cuda.amp.autocast is deprecated in torch
        warnings.simplefilter("ignore", UserWarning)  # ... and warns that CUDA is absent on the CPU
        for i, block in enumerate(blocks):
            exec(compile(block, f"<tutorial block {i}>", "exec"), namespace)
    out = capsys.readouterr().out
    assert "{'lr': [0.01]}" in out
    assert "{'gen.lr': [0.01], 'disc.lr': [0.01]}" in out
    assert "'loss_scaler': {'scale': 65536.0, 'growth_factor': 2.0, 'backoff_factor': 0.5" in out
    assert "backbone.layer0.weight" in out
    assert "MultipleOptimiWrapperConstructor" in namespace["OPTIM_WRAPPER_CONSTRUCTORS"]
