"""optimtx.viz: values are right, the caller's wrapper and schedulers are untouched, matplotlib stays optional."""

from __future__ import annotations

import copy
import sys

import pytest
import torch

import optimtx as otx
from optimtx import viz


def _wrapper_and_schedulers():
    model = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.BatchNorm1d(2), torch.nn.Linear(2, 1))
    wrapper = otx.build_optim_wrapper(
        model,
        dict(
            optimizer=dict(type="SGD", lr=0.1, momentum=0.9),
            paramwise_cfg=dict(custom_keys={"2.": dict(lr_mult=0.5)}),
        ),
    )
    schedulers = [
        otx.LinearLR(wrapper, start_factor=0.2, by_epoch=False, end=4),
        otx.CosineAnnealingLR(wrapper, T_max=6, by_epoch=False, begin=4, end=10),
        otx.CosineAnnealingMomentum(wrapper, T_max=10, eta_min=0.5, by_epoch=False),
    ]
    return wrapper, schedulers


def _snapshot(wrapper, schedulers):
    groups = [{k: v for k, v in g.items() if k != "params"} for g in wrapper.param_groups]
    return copy.deepcopy(groups), copy.deepcopy([s.state_dict() for s in schedulers])


def test_param_group_values_match_real_stepping_and_leave_state_exactly_as_it_was():
    wrapper, schedulers = _wrapper_and_schedulers()
    wrapper.step()  # mid-run: one real step already taken
    for s in schedulers:
        s.step()
    before = _snapshot(wrapper, schedulers)
    values = viz.param_group_values(wrapper, schedulers, 12)
    assert _snapshot(wrapper, schedulers) == before
    # The optimizer's own groups only: never the base-settings entry that wrapper.param_groups appends.
    assert len(wrapper.param_groups) == 3 and len(wrapper.optimizer.param_groups) == 2
    assert set(values) == {"lr", "momentum"} and len(values["lr"]) == 2
    real = []
    for _ in range(12):
        real.append([g["lr"] for g in wrapper.optimizer.param_groups])
        wrapper.step()
        for s in schedulers:
            s.step()
    assert [list(step) for step in zip(*values["lr"], strict=True)] == real


def test_schedule_values_and_bad_arguments():
    assert viz.schedule_values(otx.schedules.constant(0.5), 2) == [0.5, 0.5]
    with pytest.raises(ValueError, match="num_steps"):
        viz.schedule_values(otx.schedules.constant(0.5), 0)
    with pytest.raises(TypeError, match="callable"):
        viz.schedule_values(0.5, 3)
    with pytest.raises(TypeError, match="param_groups"):
        viz.param_group_values("wrapper", [], 3)


def test_plots_are_written(tmp_path):
    pytest.importorskip("matplotlib")
    viz.plot_schedule(otx.schedules.cosine_decay(1e-3, 50), 50, path=tmp_path / "s.png")
    wrapper, schedulers = _wrapper_and_schedulers()
    model = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.BatchNorm1d(2), torch.nn.Linear(2, 1))
    names = otx.param_group_names(model, wrapper)
    fig = viz.plot_param_groups(wrapper, schedulers, 20, path=tmp_path / "g.png", names=["a", "b"])
    assert len(fig.axes) == 2
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["a", "b"]
    with pytest.raises(ValueError, match="one name per param group"):
        viz.plot_param_groups(wrapper, schedulers, 20, names=["only one"])
    assert names == ["group0", "group1"]  # a model other than the one built on: no rule names to give
    assert (tmp_path / "s.png").stat().st_size > 0 and (tmp_path / "g.png").stat().st_size > 0


def test_without_matplotlib_the_error_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=r"optimtx\[examples\]"):
        viz.plot_schedule(otx.schedules.constant(1.0), 3)
    wrapper, schedulers = _wrapper_and_schedulers()
    before = _snapshot(wrapper, schedulers)
    with pytest.raises(ImportError, match="pip install"):
        viz.plot_param_groups(wrapper, schedulers, 3)
    assert _snapshot(wrapper, schedulers) == before
