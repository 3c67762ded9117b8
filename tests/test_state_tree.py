"""Generic state-tree helpers: map, select, find, replace over NamedTuple/tuple/dict nests."""

from __future__ import annotations

import pytest
import torch

import optimtx as otx
from optimtx.core.state_tree import find_one, iter_nodes, map_tensors, replace_node, select

STATE = otx.chain(otx.clip_by_global_norm(1.0), otx.scale_by_amp(otx.adam(0.1))).init({"w": torch.ones(2)})


def test_map_keeps_structure_and_types():
    doubled = map_tensors(lambda t: t * 2, STATE)
    assert type(doubled[1]) is type(STATE[1]) and type(doubled[1].inner_state) is type(STATE[1].inner_state)
    assert doubled[1].scale.item() == 2 * STATE[1].scale.item()


def test_select_picks_whole_states():
    other = map_tensors(lambda t: t + 1, STATE)
    picked = select(torch.tensor(True), other, STATE)
    kept = select(torch.tensor(False), other, STATE)
    tensors = lambda s: [n for n in iter_nodes(s) if isinstance(n, torch.Tensor)]  # noqa: E731
    assert all(torch.equal(a, b) for a, b in zip(tensors(picked), tensors(other), strict=True))
    assert all(torch.equal(a, b) for a, b in zip(tensors(kept), tensors(STATE), strict=True))


def test_find_and_replace():
    amp = find_one(STATE, otx.ScaleByAmpState, "scale_by_amp")
    new = replace_node(STATE, amp, amp._replace(scale=torch.tensor(3.0)))
    assert otx.current_loss_scale(new).item() == 3.0 and otx.current_loss_scale(STATE).item() == 2.0**16
    with pytest.raises(ValueError, match="No MaskedState"):
        find_one(STATE, otx.MaskedState, "masked(...)")
