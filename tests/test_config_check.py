"""One check of wrapper types and paramwise_cfg keys, shared by build_optim_wrapper, explain and the CLI."""

from __future__ import annotations

import pytest
import torch

import optimtx as otx
from optimtx.config.config_check import PARAMWISE_KEYS, check_paramwise_keys


def _cfg(**paramwise):
    return dict(optimizer=dict(type="SGD", lr=0.1, weight_decay=1e-4), paramwise_cfg=paramwise)


@pytest.mark.parametrize("use", ["build", "explain"])
def test_a_misspelt_paramwise_key_is_refused_with_the_closest_name(use):
    model = torch.nn.Linear(2, 1)
    call = otx.build_optim_wrapper if use == "build" else otx.explain
    with pytest.raises(
        ValueError, match=r"Unknown paramwise_cfg key 'bias_decay_mul'\. Did you mean 'bias_decay_mult'\?"
    ):
        call(model, _cfg(bias_decay_mul=0.0))
    with pytest.raises(ValueError, match="Accepted keys: custom_keys, bypass_duplicate, group_per_param"):
        call(model, _cfg(something_else=1))


@pytest.mark.parametrize("use", ["build", "explain"])
def test_an_unknown_wrapper_type_is_refused_with_suggestions(use):
    model = torch.nn.Linear(2, 1)
    call = otx.build_optim_wrapper if use == "build" else otx.explain
    with pytest.raises(KeyError, match="Did you mean 'AmpOptimWrapper'"):
        call(model, dict(type="AmpOptimWraper", optimizer=dict(type="SGD", lr=0.1)))


def test_every_key_the_rules_read_is_accepted_and_subclasses_may_add_their_own():
    check_paramwise_keys({key: None for key in PARAMWISE_KEYS if key != "custom_keys"})
    assert {"group_per_param", "bypass_duplicate", "bias_decay_mult"} <= set(PARAMWISE_KEYS)

    @otx.OPTIM_WRAPPER_CONSTRUCTORS.register_module(force=True)
    class LayerDecayConstructor(otx.DefaultOptimWrapperConstructor):
        def __init__(self, optim_wrapper_cfg, paramwise_cfg=None):
            self.decay_rate = (paramwise_cfg or {}).get("decay_rate", 1.0)
            super().__init__(optim_wrapper_cfg, paramwise_cfg)

    cfg = dict(constructor="LayerDecayConstructor", **_cfg(decay_rate=0.9, bias_decay_mult=0.0))
    wrapper = otx.build_optim_wrapper(torch.nn.Linear(2, 1), cfg)
    assert len(wrapper.optimizer.param_groups) == 2
