"""Explicit structure (a chain carries its parts) and docstring references (issue 14)."""

from __future__ import annotations

import copy
import inspect

import pytest
import torch

import optimtx as otx
from optimtx.core.base import Chain, chain_parts
from optimtx.transforms.hyperparams import InjectHyperparamsState


def test_chain_carries_its_parts_and_still_unpacks_into_two():
    a, b = otx.clip_by_global_norm(1.0), otx.sgd(0.1)
    tx = otx.chain(a, b)
    assert isinstance(tx, otx.GradientTransformation) and isinstance(tx, Chain)
    assert tx.parts == (a, b) and chain_parts(tx) == (a, b)
    init, update = tx
    assert init is tx.init and update is tx.update
    assert otx.GradientTransformation(init, update) == tuple(tx)  # the 2-field constructor still works
    assert chain_parts(otx.identity()) is None


def test_parts_survive_copies():
    tx = otx.chain(otx.scale(2.0), otx.identity())
    for copied in (copy.copy(tx), copy.deepcopy(tx)):
        assert isinstance(copied, Chain) and len(copied.parts) == 2


def test_parts_do_not_depend_on_compiling():
    """A chain built inside a compiled function still knows its parts (no registry skipped while compiling)."""
    seen = []

    def build_and_run(g):
        tx = otx.chain(otx.scale(2.0), otx.scale(3.0))
        seen.append(len(tx.parts))
        return tx.update({"w": g}, tx.init({"w": g}))[0]["w"]

    out = torch.compile(build_and_run, fullgraph=True, backend="eager")(torch.ones(2))
    assert torch.equal(out, torch.full((2,), 6.0)) and seen == [2]


def test_transform_optimizer_splits_on_the_chain_value():
    """TransformOptimizer finds the hyperparameter-free head of a chain from its parts."""
    from optimtx.wrapper.torch_optimizer_parts import split_shared_prefix

    clip = otx.clip_by_global_norm(1.0)
    opt = otx.inject_hyperparams(otx.sgd)(lr=0.1)
    shared, rest = split_shared_prefix(otx.chain(clip, opt))
    assert shared is clip and rest is opt
    probe = rest.init({"w": torch.zeros(1)})
    assert isinstance(probe, InjectHyperparamsState)


OPTIMIZERS_AND_COMBINATORS = [
    otx.sgd,
    otx.adam,
    otx.adamw,
    otx.adamax,
    otx.rmsprop,
    otx.adagrad,
    otx.lion,
    otx.scale_by_adam,
    otx.scale_by_adamax,
    otx.scale_by_rms,
    otx.scale_by_adagrad,
    otx.scale_by_lion,
    otx.trace,
    otx.clip_by_global_norm,
    otx.clip_by_value,
    otx.add_decayed_weights,
    otx.chain,
    otx.accumulate,
    otx.apply_if_finite,
    otx.scale_by_amp,
    otx.masked,
    otx.multi_transform,
    otx.inject_hyperparams,
]


@pytest.mark.parametrize("fn", OPTIMIZERS_AND_COMBINATORS, ids=lambda f: f.__name__)
def test_docstring_names_its_source(fn):
    doc = inspect.getdoc(fn) or ""
    assert "References:" in doc
    section = doc.split("References:", 1)[1].split("Example:", 1)[0]
    assert any(word in section for word in ("torch", "optax", "et al", "MMEngine")), section
