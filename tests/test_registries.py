"""The prefilled registries: optimizers, wrappers, constructors and transforms built from configs."""

from __future__ import annotations

import pytest
import torch

import optimtx as otx
from optimtx.config.registries import (
    OPTIM_WRAPPER_CONSTRUCTORS,
    OPTIM_WRAPPERS,
    OPTIMIZERS,
    TRANSFORMS,
)
from optimtx.transform_configs import build_nested, public_functions, register_transforms


def test_every_torch_optimizer_is_registered_like_mmengine():
    expected = {
        "ASGD",
        "Adadelta",
        "Adagrad",
        "Adam",
        "AdamW",
        "Adamax",
        "LBFGS",
        "Optimizer",
        "RMSprop",
        "Rprop",
        "SGD",
        "SparseAdam",
        "ZeroRedundancyOptimizer",
        "TorchAdafactor",
    }
    assert expected <= set(OPTIMIZERS.module_dict)
    assert "Adafactor" not in OPTIMIZERS.module_dict
    assert OPTIMIZERS.get("TorchAdafactor") is torch.optim.Adafactor


def test_wrappers_and_constructor_are_registered():
    assert OPTIM_WRAPPERS.get("OptimWrapper") is otx.OptimWrapper
    assert OPTIM_WRAPPERS.get("AmpOptimWrapper") is otx.AmpOptimWrapper
    assert OPTIM_WRAPPER_CONSTRUCTORS.get("DefaultOptimWrapperConstructor") is otx.DefaultOptimWrapperConstructor


def test_unknown_optimizer_suggests_the_right_spelling():
    with pytest.raises(KeyError, match="Did you mean 'AdamW'"):
        OPTIMIZERS.build(dict(type="Adamw", params=[torch.zeros(1, requires_grad=True)]))


def test_transforms_hold_every_public_factory_of_the_transforms_package():
    assert {"chain", "identity", "clip_by_global_norm", "clip_by_value", "scale", "sgd", "adamw"} <= set(TRANSFORMS)
    assert "clip_coefficient" not in TRANSFORMS  # a helper returning a tensor, not a transform
    assert set(register_transforms(otx.Registry("fresh"))) == set(TRANSFORMS.module_dict)


def test_public_functions_filters_by_return_annotation():
    import optimtx.transforms.clipping as clipping

    assert set(public_functions(clipping)) >= {"clip_coefficient", "clip_by_value"}
    assert "clip_coefficient" not in public_functions(clipping, returns="GradientTransformation")


def test_chain_config_builds_nested_transforms_like_the_python_chain():
    cfg = dict(type="chain", transforms=[dict(type="clip_by_global_norm", max_norm=1.0), dict(type="adamw", lr=1e-2)])
    snapshot = repr(cfg)
    built = TRANSFORMS.build(cfg)
    assert repr(cfg) == snapshot
    reference = otx.chain(otx.clip_by_global_norm(1.0), otx.adamw(lr=1e-2))
    params, grads = {"w": torch.tensor([1.0, 2.0])}, {"w": torch.tensor([3.0, 4.0])}
    got, _ = built.update(grads, built.init(params), params)
    want, _ = reference.update(grads, reference.init(params), params)
    torch.testing.assert_close(got, want)


def test_build_nested_walks_lists_and_plain_dicts():
    built = build_nested({"a": [dict(type="identity")], "b": 3})
    assert isinstance(built["a"][0], otx.GradientTransformation) and built["b"] == 3


def test_var_positional_must_be_a_list():
    with pytest.raises(TypeError, match="'transforms' of chain must be a list"):
        TRANSFORMS.build(dict(type="chain", transforms=dict(type="identity")))


def test_optimizer_config_builds_with_default_args():
    p = torch.zeros(2, requires_grad=True)
    opt = OPTIMIZERS.build(dict(type="AdamW", lr=0.1), default_args=dict(params=[p]))
    assert isinstance(opt, torch.optim.AdamW) and opt.param_groups[0]["params"] == [p]


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_zero_optimizer_needs_a_local_optimizer_name():
    from optimtx.optim import ZeroRedundancyOptimizer

    with pytest.raises(TypeError, match="optimizer_type"):
        OPTIMIZERS.build(dict(type="ZeroRedundancyOptimizer", params=[torch.zeros(1, requires_grad=True)], lr=0.1))
    with pytest.raises(ValueError, match=r"optimizer_type must name a torch\.optim optimizer class, got 'Nope'"):
        ZeroRedundancyOptimizer([torch.zeros(1, requires_grad=True)], optimizer_type="Nope", lr=0.1)


@pytest.mark.distributed
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_zero_optimizer_single_process_group(tmp_path, monkeypatch):
    import datetime

    import torch.distributed as dist

    monkeypatch.setenv("GLOO_SOCKET_IFNAME", "lo")
    dist.init_process_group(
        "gloo",
        init_method=f"file://{tmp_path / 'rendezvous'}",
        rank=0,
        world_size=1,
        timeout=datetime.timedelta(seconds=60),
    )
    try:
        model = torch.nn.Linear(2, 1)
        wrapper = otx.build_optim_wrapper(
            model, dict(optimizer=dict(type="ZeroRedundancyOptimizer", optimizer_type="SGD", lr=0.1, momentum=0.9))
        )
        assert isinstance(wrapper.optimizer.optim, torch.optim.SGD)
        assert wrapper.optimizer.optim.defaults["momentum"] == 0.9
        model(torch.ones(1, 2)).sum().backward()
        wrapper.step()
        assert set(wrapper.optimizer.state_dict()["state"]) == {0, 1}
    finally:
        dist.destroy_process_group()


class RecordingOptimizer(torch.optim.SGD):
    """Stands in for TransformOptimizer: an optimizer class taking a ``transform``."""

    def __init__(self, params, transform, lr=0.1):
        super().__init__(params, lr=lr)
        self.transform = transform


def test_optimizer_transform_config_is_built_from_transforms():
    OPTIMIZERS.register_module(module=RecordingOptimizer, force=True)
    cfg = dict(
        type="RecordingOptimizer", transform=dict(type="chain", transforms=[dict(type="clip_by_value", clip_value=1.0)])
    )
    opt = OPTIMIZERS.build(cfg, default_args=dict(params=[torch.zeros(1, requires_grad=True)]))
    assert isinstance(opt.transform, otx.GradientTransformation)
    updates, _ = opt.transform.update({"w": torch.tensor([5.0])}, opt.transform.init({"w": torch.zeros(1)}))
    assert updates["w"].item() == 1.0
    assert cfg["transform"]["type"] == "chain"  # the config still holds the description, not the object


def test_combinator_config_builds_its_inner_transform():
    cfg = dict(type="apply_if_finite", inner=dict(type="chain", transforms=[dict(type="sgd", lr=0.5)]))
    tx = TRANSFORMS.build(cfg)
    params = {"w": torch.ones(2)}
    finite, _ = tx.update({"w": torch.ones(2)}, tx.init(params), params)
    skipped, _ = tx.update({"w": torch.tensor([1.0, float("nan")])}, tx.init(params), params)
    assert torch.equal(finite["w"], torch.full((2,), -0.5)) and torch.equal(skipped["w"], torch.zeros(2))


def test_schedule_configs_nest_inside_transform_configs():
    cfg = dict(type="scale_by_learning_rate", lr=dict(type="linear", init_value=1.0, end_value=0.0, transition_steps=2))
    tx = TRANSFORMS.build(cfg)
    state = tx.init({"w": torch.zeros(1)})
    first, state = tx.update({"w": torch.ones(1)}, state)
    second, state = tx.update({"w": torch.ones(1)}, state)
    assert first["w"].item() == -1.0 and second["w"].item() == -0.5
    assert "inject_hyperparams" not in TRANSFORMS  # returns a factory, not a transform


def test_accumulate_config_wraps_its_inner_transform():
    tx = TRANSFORMS.build(dict(type="accumulate", inner=dict(type="sgd", lr=1.0), every_k=2))
    params = {"w": torch.zeros(1)}
    state = tx.init(params)
    first, state = tx.update({"w": torch.ones(1)}, state, params)
    second, state = tx.update({"w": torch.full((1,), 3.0)}, state, params)
    assert first["w"].item() == 0.0 and second["w"].item() == -2.0


def test_param_schedulers_build_from_configs_on_a_built_wrapper():
    from optimtx.registry import PARAM_SCHEDULERS

    model = torch.nn.Linear(2, 1)
    wrapper = otx.build_optim_wrapper(model, dict(optimizer=dict(type="SGD", lr=1.0)))
    scheduler = PARAM_SCHEDULERS.build(
        dict(type="LinearLR", start_factor=0.5, end_factor=1.0, end=2, by_epoch=False),
        default_args=dict(optimizer=wrapper),
    )
    assert isinstance(scheduler, otx.optim.LinearLR)
    assert wrapper.get_lr()["lr"] == [0.5]
    with pytest.raises(KeyError, match="Did you mean 'LinearLR'"):
        PARAM_SCHEDULERS.build(dict(type="LinearLr"), default_args=dict(optimizer=wrapper))
