"""OptimWrapperDict: dict access, reporting, states, and the refused training methods."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from optimtx.optim import AmpOptimWrapper, OptimWrapper, OptimWrapperDict


def make_wrappers() -> tuple[dict[str, OptimWrapper], nn.Module, nn.Module]:
    m1, m2 = nn.Linear(1, 1), nn.Linear(1, 1)
    wrappers = {
        "optim1": OptimWrapper(torch.optim.SGD(m1.parameters(), lr=0.1, momentum=0.8)),
        "optim2": OptimWrapper(torch.optim.SGD(m2.parameters(), lr=0.2, momentum=0.9)),
    }
    return wrappers, m1, m2


def test_construction_and_dict_access():
    wrappers, _, _ = make_wrappers()
    d = OptimWrapperDict(**wrappers)
    assert d.optim_wrappers == wrappers
    assert list(d.items()) == list(wrappers.items())
    assert list(d.values()) == list(wrappers.values())
    assert list(d.keys()) == ["optim1", "optim2"]
    assert d["optim1"] is wrappers["optim1"]
    assert len(d) == 2 and "optim1" in d and "other" not in d
    assert "name: optim1" in repr(d) and "name: optim2" in repr(d)
    assert len(OptimWrapperDict()) == 0


def test_rejects_raw_optimizers():
    with pytest.raises(TypeError, match=r"only accepts OptimWrapper.*optim1: SGD"):
        OptimWrapperDict(optim1=torch.optim.SGD([nn.Parameter(torch.ones(1))], lr=0.1))


def test_missing_key_is_a_key_error():
    d = OptimWrapperDict(**make_wrappers()[0])
    with pytest.raises(KeyError, match="gen"):
        d["gen"]


@pytest.mark.parametrize("method", ["update_params", "backward"])
def test_training_methods_are_refused(method):
    with pytest.raises(NotImplementedError, match=f"`{method}` should be called by each optimizer"):
        getattr(OptimWrapperDict(**make_wrappers()[0]), method)(1)


def test_step_and_optim_context_are_refused():
    d = OptimWrapperDict(**make_wrappers()[0])
    with pytest.raises(NotImplementedError, match="`step` should be called"):
        d.step()
    with pytest.raises(NotImplementedError, match="`optim_context` should be called"), d.optim_context(nn.Linear(1, 1)):
        pass


def test_zero_grad_clears_every_model():
    wrappers, m1, m2 = make_wrappers()
    for m in (m1, m2):
        m(torch.ones(1, 1)).sum().backward()
    OptimWrapperDict(**wrappers).zero_grad()
    assert all(p.grad is None for m in (m1, m2) for p in m.parameters())


def test_reporting():
    wrappers, _, _ = make_wrappers()
    d = OptimWrapperDict(**wrappers)
    assert d.initialize_count_status(nn.Linear(1, 1), 1, 1) is None
    assert d.param_groups["optim1"] == wrappers["optim1"].param_groups
    assert d.get_lr() == {"optim1.lr": [0.1], "optim2.lr": [0.2]}
    assert d.get_momentum() == {"optim1.momentum": [0.8], "optim2.momentum": [0.9]}


def test_base_lr_is_prefixed():
    model = nn.ModuleDict(dict(a=nn.Linear(1, 1), b=nn.Linear(1, 1)))
    opt = torch.optim.SGD([{"params": model.a.parameters()}, {"params": model.b.parameters(), "lr": 0.01}], lr=0.1)
    d = OptimWrapperDict(gen=OptimWrapper(opt))
    assert d.get_lr() == {"gen.base_lr": [0.1], "gen.lr": [0.1, 0.01]}


def test_state_dict_round_trip_and_subset():
    wrappers, m1, _ = make_wrappers()
    d = OptimWrapperDict(**wrappers)
    m1(torch.ones(1, 1)).sum().backward()
    wrappers["optim1"].step()
    sd = d.state_dict()
    assert str(sd["optim1"]) == str(wrappers["optim1"].state_dict())
    fresh = OptimWrapperDict(**make_wrappers()[0])
    fresh.load_state_dict(sd)
    assert str(fresh.state_dict()) == str(sd)
    partial = OptimWrapperDict(**make_wrappers()[0])
    partial.load_state_dict({"optim2": sd["optim2"]})
    assert partial.get_lr() == {"optim1.lr": [0.1], "optim2.lr": [0.2]}


def test_bad_state_dict_loads_nothing():
    wrappers, _, _ = make_wrappers()
    d = OptimWrapperDict(**wrappers)
    before = str(d.state_dict())
    other = torch.optim.SGD([nn.Parameter(torch.ones(1))], lr=0.5).state_dict()
    with pytest.raises(ValueError, match="'gen'"):
        d.load_state_dict({"optim1": other, "gen": other})
    with pytest.raises(ValueError, match="param groups"):
        d.load_state_dict({"optim1": other, "optim2": {"state": {}, "param_groups": []}})
    with pytest.raises(TypeError, match="list"):
        d.load_state_dict([other])
    assert str(d.state_dict()) == before


def test_amp_members_keep_their_scaler_state():
    model = nn.Linear(1, 1)
    amp = AmpOptimWrapper(dict(init_scale=4.0), optimizer=torch.optim.SGD(model.parameters(), lr=0.1))
    d = OptimWrapperDict(gen=amp)
    assert d.state_dict()["gen"]["loss_scaler"]["scale"] == 4.0
    bad = d.state_dict()
    bad["gen"]["loss_scaler"] = {}
    with pytest.raises(ValueError, match="loss_scaler"):
        d.load_state_dict(bad)
