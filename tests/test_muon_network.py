"""Muon for a whole network: conv kernels as matrices, routing of the rest to AdamW, routing in explain."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

import optimtx as otx
from optimtx.transforms.muon import as_matrix


class _ConvNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(5, 4)
        self.conv = nn.Conv2d(3, 4, 3)
        self.norm = nn.LayerNorm(4)
        self.mix = nn.Linear(4, 4)
        self.head = nn.Linear(4, 2)
        self.gain = nn.Parameter(torch.tensor(1.0))


@settings(max_examples=15, deadline=None)
@given(
    shape=st.sampled_from([(4, 3, 3, 3), (2, 5, 1, 1), (6, 2, 3), (3, 2, 2, 2, 2)]),
    seed=st.integers(0, 2**16),
    nesterov=st.booleans(),
)
def test_a_kernel_is_updated_as_its_first_dimension_by_rest_matrix(shape, seed, nesterov):
    gen = torch.Generator().manual_seed(seed)
    grads_seq = [torch.randn(shape, generator=gen) for _ in range(3)]
    nd, flat = otx.scale_by_muon(nesterov=nesterov, flatten_nd=True), otx.scale_by_muon(nesterov=nesterov)
    s_nd, s_flat = nd.init({"k": grads_seq[0]}), flat.init({"k": as_matrix(grads_seq[0])})
    for g in grads_seq:
        u_nd, s_nd = nd.update({"k": g}, s_nd)
        u_flat, s_flat = flat.update({"k": as_matrix(g)}, s_flat)
        assert u_nd["k"].shape == g.shape
        assert torch.equal(u_nd["k"], u_flat["k"].reshape(shape))


def test_without_flatten_nd_kernels_are_refused_with_the_way_out():
    with pytest.raises(ValueError, match=r"not 2-D.*\(4, 3, 3, 3\).*flatten_nd=True"):
        otx.scale_by_muon().init({"conv": torch.zeros(4, 3, 3, 3)})
    with pytest.raises(ValueError, match=r"not 2-D or more.*'bias'"):
        otx.scale_by_muon(flatten_nd=True).init({"bias": torch.zeros(4)})
    with pytest.raises(TypeError, match="flatten_nd"):
        otx.scale_by_muon(flatten_nd=1)


def test_routes_send_hidden_matrices_and_kernels_to_muon_and_say_why():
    routes = otx.muon_routes(_ConvNet(), flatten_nd=True)
    assert {k: tuple(r) for k, r in routes.items()} == {
        "embed.weight": ("adamw", "name matches 'embed'"),
        "conv.weight": ("muon", "4-D kernel as matrix 4x27"),
        "conv.bias": ("adamw", "1-D (bias or norm)"),
        "norm.weight": ("adamw", "1-D (bias or norm)"),
        "norm.bias": ("adamw", "1-D (bias or norm)"),
        "mix.weight": ("muon", "hidden matrix 4x4"),
        "mix.bias": ("adamw", "1-D (bias or norm)"),
        "head.weight": ("adamw", "name matches 'head'"),
        "head.bias": ("adamw", "1-D (bias or norm)"),
        "gain": ("adamw", "scalar"),
    }
    assert otx.muon_routes(_ConvNet())["conv.weight"] == ("adamw", "4-D (flatten_nd=False)")
    assert otx.muon_labels(_ConvNet(), flatten_nd=True) == {k: r.label for k, r in routes.items()}


def test_muon_with_adamw_trains_every_layer_of_a_conv_net_by_its_route():
    model = _ConvNet()
    params = {k: v.detach() for k, v in model.named_parameters()}
    grads = {k: torch.ones_like(v) for k, v in params.items()}
    tx = otx.muon_with_adamw(lr=0.02, adamw_lr=1e-3, weight_decay=0.0, flatten_nd=True)
    updates, _ = tx.update(grads, tx.init(params), params)
    muon_only = otx.scale_by_muon(flatten_nd=True)
    want, _ = muon_only.update(
        {"conv.weight": grads["conv.weight"]}, muon_only.init({"conv.weight": params["conv.weight"]})
    )
    torch.testing.assert_close(updates["conv.weight"], -0.02 * want["conv.weight"])
    assert torch.allclose(updates["norm.weight"], torch.full((4,), -1e-3))  # AdamW's first step: -lr * sign(g)


def test_explain_shows_the_routing_of_a_muon_config():
    cfg = dict(
        optimizer=dict(
            type="TransformOptimizer",
            transform=dict(type="quantize_state", inner=dict(type="muon_with_adamw", flatten_nd=True, exclude=())),
        )
    )
    rules = {row.name: row.rule for row in otx.explain(_ConvNet(), cfg)}
    assert rules["conv.weight"] == "default; muon: 4-D kernel as matrix 4x27"
    assert rules["norm.weight"] == "default; adamw: 1-D (bias or norm)"
    # Inside TransformOptimizer the trees are keyed by position: exclude=() routes by shape, so the head is a matrix.
    assert rules["head.weight"] == "default; muon: hidden matrix 2x4"
    plain = otx.explain(_ConvNet(), dict(optimizer=dict(type="AdamW", lr=1e-3)))
    assert {row.rule for row in plain} == {"default"}


def test_name_routing_over_positions_is_refused_by_build_and_explain_alike():
    """TransformOptimizer keys trees by position: default exclude patterns could never match the head."""
    cfg = dict(optimizer=dict(type="TransformOptimizer", transform=dict(type="muon_with_adamw", flatten_nd=True)))
    for run in (lambda: otx.build_optim_wrapper(_ConvNet(), cfg), lambda: otx.explain(_ConvNet(), cfg)):
        with pytest.raises(ValueError, match=r"routes by parameter name.*keyed by\s+position.*labels=.*exclude=\(\)"):
            run()
    model = _ConvNet()
    with pytest.raises(ValueError, match="keyed by position"):
        otx.TransformOptimizer(model.parameters(), otx.muon_with_adamw())
    labels = otx.muon_labels(model, keys="index", flatten_nd=True)
    tx = otx.inject_hyperparams(otx.muon_with_adamw)(labels=labels, flatten_nd=True)
    opt = otx.TransformOptimizer(model.parameters(), tx)
    for p in model.parameters():
        p.grad = torch.ones_like(p)
    before = model.head.weight.detach().clone()
    opt.step()
    # the head went to AdamW by its label: AdamW's first step moves every element by -adamw_lr * sign(g)
    torch.testing.assert_close(model.head.weight.detach() - before, torch.full_like(before, -3e-4))
