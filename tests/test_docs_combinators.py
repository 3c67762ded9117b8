"""The code in docs/combinators.md runs and does what the text says."""

from __future__ import annotations

import pathlib
import re
import warnings

DOC = pathlib.Path(__file__).resolve().parent.parent / "docs" / "combinators.md"


def test_pipeline_snippet_runs():
    snippet = re.search(r"```python\n(.*?)```", DOC.read_text(), re.S).group(1)
    namespace: dict = {}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        exec(compile(snippet, str(DOC), "exec"), namespace)
    amp_state = namespace["amp_state"]
    assert amp_state.skipped_steps.item() == 1
    assert namespace["otx"].current_loss_scale(namespace["state"]).item() == 2.0**11
    restored, state = namespace["restored"], namespace["state"]
    otx = namespace["otx"]
    assert repr(otx.state_dict(restored)) == repr(otx.state_dict(state))
