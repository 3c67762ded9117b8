"""build_optim_wrapper: defaults, config immutability, error paths."""

from __future__ import annotations

import copy
import warnings

import pytest
import torch

import optimtx as otx
from optimtx.optim import build_optim_wrapper
from tests.paramwise_cases import SIX_MULTS, ExampleModel, TransformerBlock

SGD_CFG = dict(type="SGD", lr=0.01, momentum=0.9, weight_decay=1e-4)


def test_plain_config_gives_one_group_in_parameter_order():
    model = ExampleModel()
    wrapper = build_optim_wrapper(model, dict(type="OptimWrapper", optimizer=SGD_CFG))
    assert isinstance(wrapper.optimizer, torch.optim.SGD)
    assert wrapper.optimizer.defaults["momentum"] == 0.9
    assert wrapper.optimizer.param_groups[0]["params"] == list(model.parameters())
    assert type(build_optim_wrapper(model, dict(optimizer=SGD_CFG))) is otx.OptimWrapper


def test_config_is_never_mutated():
    cfg = dict(
        type="AmpOptimWrapper",
        optimizer=dict(SGD_CFG),
        paramwise_cfg=dict(SIX_MULTS, custom_keys={"sub": dict(lr_mult=0.1)}),
        constructor="DefaultOptimWrapperConstructor",
        clip_grad=dict(type="norm", max_norm=1.0),
        accumulative_counts=2,
    )
    snapshot = copy.deepcopy(cfg)
    build_optim_wrapper(ExampleModel(), cfg)
    assert cfg == snapshot


def test_wrapper_kwargs_reach_the_wrapper():
    wrapper = build_optim_wrapper(
        ExampleModel(), dict(optimizer=SGD_CFG, accumulative_counts=3, clip_grad=dict(max_norm=2.0))
    )
    assert wrapper._accumulative_counts == 3 and wrapper.clip_grad_kwargs["max_norm"] == 2.0


def test_class_types_are_accepted():
    wrapper = build_optim_wrapper(
        ExampleModel(), dict(type=otx.OptimWrapper, optimizer=dict(type=torch.optim.AdamW, lr=0.01))
    )
    assert isinstance(wrapper.optimizer, torch.optim.AdamW)


def test_error_paths():
    model = ExampleModel()
    with pytest.raises(KeyError, match="INVALID_CONSTRUCTOR is not in the optimizer wrapper constructor registry"):
        build_optim_wrapper(
            model, dict(optimizer=SGD_CFG, constructor="INVALID_CONSTRUCTOR", paramwise_cfg=dict(invalid_mult=1))
        )
    with pytest.raises(KeyError, match="Did you mean 'DefaultOptimWrapperConstructor'"):
        build_optim_wrapper(model, dict(optimizer=SGD_CFG, constructor="DefaultOptimWrapperConstrutor"))
    with pytest.raises(ValueError, match='`optim_wrapper_cfg` must contain "optimizer" config'):
        build_optim_wrapper(model, dict(type="OptimWrapper"))
    with pytest.raises(TypeError, match="cfg must be a dict"):
        build_optim_wrapper(model, ["optimizer"])
    with pytest.raises(KeyError, match="Did you mean 'OptimWrapper'"):
        build_optim_wrapper(model, dict(type="OptimWraper", optimizer=SGD_CFG))


def test_unknown_paramwise_keys_are_refused_unlike_mmengine():
    # MMEngine ignores them, so a typo (bias_decay_mul) trains silently without the rule; optimtx refuses it
    # (issue 20). A constructor subclass that reads keys of its own is not checked (tests/test_config_check.py).
    with pytest.raises(ValueError, match="Unknown paramwise_cfg key 'unknown_mult'"):
        build_optim_wrapper(ExampleModel(), dict(optimizer=SGD_CFG, paramwise_cfg=dict(unknown_mult=3)))


CLIP = dict(type="clip_by_global_norm", max_norm=1.0)
ADAMW = dict(type="adamw", lr=1e-2, weight_decay=0.05)
PARAMWISE = dict(norm_decay_mult=0.0, flat_decay_mult=0.1, custom_keys={"decode_head": dict(lr_mult=0.5)})


def _chain_optimizer(*transforms):
    return dict(type="TransformOptimizer", transform=dict(type="chain", transforms=list(transforms)))


def _pair(ours_cfg, wrapper_type="OptimWrapper", **extra):
    """Our config and torch AdamW + clip_grad with the same extra keys, built on twin models."""
    torch.manual_seed(0)
    model, reference = TransformerBlock(), TransformerBlock()
    reference.load_state_dict(model.state_dict())
    ours = build_optim_wrapper(model, dict(type=wrapper_type, **ours_cfg, **extra))
    theirs = build_optim_wrapper(
        reference,
        dict(
            type=wrapper_type,
            optimizer=dict(type="AdamW", lr=1e-2, weight_decay=0.05),
            clip_grad=dict(max_norm=1.0),
            **extra,
        ),
    )
    return model, ours, reference, theirs


def _train(model, wrapper, scheduler, steps):
    x = torch.randn(8, 4, generator=torch.Generator().manual_seed(1))
    for _ in range(steps):
        with wrapper.optim_context(model):
            loss = model(x).float().square().mean()
        wrapper.update_params(loss)
        if scheduler is not None:
            scheduler.step()


def _assert_same_parameters(model, reference):
    for (name, got), want in zip(model.named_parameters(), reference.parameters(), strict=True):
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6, msg=name)


@pytest.mark.parametrize(
    "ours_cfg,extra",
    [
        (dict(optimizer=_chain_optimizer(CLIP, ADAMW)), {}),
        # Several groups: the model-wide clip sits on the wrapper, the chain holds the optimizer.
        (dict(optimizer=_chain_optimizer(ADAMW), clip_grad=dict(max_norm=1.0)), dict(paramwise_cfg=PARAMWISE)),
    ],
    ids=["chain-with-clip", "paramwise-wrapper-clip"],
)
def test_transform_optimizer_chain_config_behaves_like_torch_adamw_with_clipping(ours_cfg, extra):
    model, ours, reference, theirs = _pair(ours_cfg, **extra)
    assert isinstance(ours.optimizer, otx.TransformOptimizer)
    assert len(ours.optimizer.param_groups) == len(theirs.optimizer.param_groups)
    assert ours.get_lr() == theirs.get_lr()
    # A defaulted betas is a group key as in torch's AdamW, so get_momentum reads betas[0].
    assert ours.get_momentum() == theirs.get_momentum() == {"momentum": [0.9] * len(ours.optimizer.param_groups)}
    assert [g["weight_decay"] for g in ours.optimizer.param_groups] == pytest.approx(
        [g["weight_decay"] for g in theirs.optimizer.param_groups]
    )
    ours_sched = torch.optim.lr_scheduler.StepLR(ours.optimizer, step_size=2, gamma=0.5)
    theirs_sched = torch.optim.lr_scheduler.StepLR(theirs.optimizer, step_size=2, gamma=0.5)
    _train(model, ours, ours_sched, 3)
    _train(reference, theirs, theirs_sched, 3)
    ours_lr, theirs_lr = ours.get_lr(), theirs.get_lr()
    assert ours_lr.keys() == theirs_lr.keys()
    assert all(ours_lr[k] == pytest.approx(theirs_lr[k]) for k in ours_lr)
    _assert_same_parameters(model, reference)


def test_leading_clip_over_param_groups_clips_model_wide_like_clip_grad_norm():
    model, ours, reference, theirs = _pair(dict(optimizer=_chain_optimizer(CLIP, ADAMW)), paramwise_cfg=PARAMWISE)
    assert len(ours.optimizer.param_groups) > 1
    _train(model, ours, None, 3)
    _train(reference, theirs, None, 3)
    _assert_same_parameters(model, reference)


def test_whole_tree_transform_inside_the_per_group_part_warns():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a leading clip runs once over all groups
        build_optim_wrapper(TransformerBlock(), dict(optimizer=_chain_optimizer(CLIP, ADAMW), paramwise_cfg=PARAMWISE))
    amp = _chain_optimizer(dict(type="scale_by_amp", inner=ADAMW))
    with pytest.warns(otx.PerGroupTransformWarning, match="scale_by_amp"):
        build_optim_wrapper(TransformerBlock(), dict(optimizer=amp, paramwise_cfg=PARAMWISE))


def test_transform_optimizer_chain_config_state_dict_round_trip_resumes_exactly(tmp_path):
    cfg = dict(optimizer=_chain_optimizer(CLIP, ADAMW))
    model, ours, _, _ = _pair(cfg)
    sched = torch.optim.lr_scheduler.StepLR(ours.optimizer, step_size=2, gamma=0.5)
    _train(model, ours, sched, 3)
    torch.save({"optim": ours.state_dict(), "sched": sched.state_dict()}, tmp_path / "ckpt.pt")
    saved = torch.load(tmp_path / "ckpt.pt", weights_only=True)
    twin = copy.deepcopy(model)
    resumed = build_optim_wrapper(twin, cfg)
    resumed.load_state_dict(saved["optim"])
    resumed_sched = torch.optim.lr_scheduler.StepLR(resumed.optimizer, step_size=2, gamma=0.5)
    resumed_sched.load_state_dict(saved["sched"])
    assert resumed.get_lr() == ours.get_lr()
    _train(model, ours, sched, 2)
    _train(twin, resumed, resumed_sched, 2)
    for (name, got), want in zip(model.named_parameters(), twin.parameters(), strict=True):
        assert torch.equal(got, want), name


def test_amp_wrapper_with_transform_optimizer_chain_config_matches_torch_adamw():
    cfg = dict(optimizer=_chain_optimizer(ADAMW), clip_grad=dict(max_norm=1.0))
    model, ours, reference, theirs = _pair(cfg, "AmpOptimWrapper", dtype="bfloat16", paramwise_cfg=PARAMWISE)
    assert isinstance(ours, otx.AmpOptimWrapper) and isinstance(ours.optimizer, otx.TransformOptimizer)
    ours_sched = torch.optim.lr_scheduler.LinearLR(ours.optimizer, start_factor=0.5, total_iters=2)
    theirs_sched = torch.optim.lr_scheduler.LinearLR(theirs.optimizer, start_factor=0.5, total_iters=2)
    _train(model, ours, ours_sched, 3)
    _train(reference, theirs, theirs_sched, 3)
    assert set(ours.state_dict()) >= {"loss_scaler", "transform_state"}
    _assert_same_parameters(model, reference)


def test_float16_amp_wrapper_with_transform_optimizer_skips_and_scales_like_torch_adamw():
    cfg = dict(optimizer=_chain_optimizer(ADAMW), clip_grad=dict(max_norm=1.0))
    scaler = dict(init_scale=2.0**17, growth_interval=1)  # overflows every other step on this model
    model, ours, reference, theirs = _pair(
        cfg, "AmpOptimWrapper", dtype="float16", loss_scale=scaler, paramwise_cfg=PARAMWISE
    )
    x = torch.randn(8, 4, generator=torch.Generator().manual_seed(2))
    skipped = []
    for _ in range(4):
        for net, wrapper in ((model, ours), (reference, theirs)):
            with wrapper.optim_context(net):
                loss = net(x).float().square().mean()
            wrapper.update_params(loss)
        assert ours.step_was_skipped == theirs.step_was_skipped
        assert ours.state_dict()["loss_scaler"] == theirs.state_dict()["loss_scaler"]
        skipped.append(ours.step_was_skipped)
    assert True in skipped and False in skipped
    _assert_same_parameters(model, reference)


def test_momentum_scheduler_drives_the_betas_of_a_config_built_adamw_chain():
    import optimtx.optim

    model = torch.nn.Linear(3, 1)
    wrapper = build_optim_wrapper(model, dict(optimizer=_chain_optimizer(CLIP, ADAMW)))
    scheduler = optimtx.optim.LinearMomentum(wrapper, start_factor=0.5, by_epoch=False, begin=0, end=4)
    assert wrapper.get_momentum() == {"momentum": [pytest.approx(0.45)]}
    wrapper.update_params(model(torch.ones(2, 3)).sum())
    scheduler.step()
    wrapper.update_params(model(torch.ones(2, 3)).sum())  # the step reads the new betas into the transform state
    b1, b2 = otx.get_hyperparams(wrapper.optimizer.transform_states[0])["betas"]
    assert wrapper.optimizer.param_groups[0]["betas"] == (pytest.approx(0.6), 0.999)
    assert b1.item() == pytest.approx(0.6) and b2.item() == pytest.approx(0.999)
