"""TransformOptimizer: a torch.optim.Optimizer running a pure chain, equal to torch's own."""

from __future__ import annotations

import io
import warnings

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import optimtx as otx
from optimtx.wrapper.torch_optimizer import TransformOptimizer


def _model(seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2)).double()


def _train(model, opt, steps: int, seed: int = 1, scheduler=None) -> None:
    gen = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        x = torch.randn(5, 3, generator=gen, dtype=torch.float64)
        opt.zero_grad()
        model(x).pow(2).mean().backward()
        opt.step()
        if scheduler is not None:
            scheduler.step()


def _assert_same_params(a, b) -> None:
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        torch.testing.assert_close(pa, pb, rtol=1e-10, atol=1e-12)


@settings(max_examples=15)
@given(
    lr=st.floats(1e-4, 1e-1),
    wd=st.floats(0.0, 0.2),
    b1=st.floats(0.0, 0.99),
    amsgrad=st.booleans(),
)
def test_adamw_matches_torch(lr, wd, b1, amsgrad):
    ours, ref = _model(), _model()
    tx = otx.inject_hyperparams(otx.adamw)(lr=lr, betas=(b1, 0.999), weight_decay=wd, amsgrad=amsgrad)
    _train(ours, TransformOptimizer(ours.parameters(), tx), steps=6)
    _train(
        ref, torch.optim.AdamW(ref.parameters(), lr=lr, betas=(b1, 0.999), weight_decay=wd, amsgrad=amsgrad), steps=6
    )
    _assert_same_params(ours, ref)


def test_param_group_overrides_and_lr_scheduler_match_torch():
    ours, ref = _model(), _model()

    def groups(m):
        return [{"params": m[0].parameters()}, {"params": m[2].parameters(), "lr": 0.05, "momentum": 0.5}]

    opt = TransformOptimizer(groups(ours), otx.inject_hyperparams(otx.sgd)(lr=0.1, momentum=0.9))
    ref_opt = torch.optim.SGD(groups(ref), lr=0.1, momentum=0.9)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    ref_sched = torch.optim.lr_scheduler.StepLR(ref_opt, step_size=2, gamma=0.5)
    _train(ours, opt, steps=7, scheduler=sched)
    _train(ref, ref_opt, steps=7, scheduler=ref_sched)
    _assert_same_params(ours, ref)
    assert [g["lr"] for g in opt.param_groups] == [g["lr"] for g in ref_opt.param_groups]


def test_changing_group_lr_changes_the_update():
    w = torch.nn.Parameter(torch.zeros(1))
    opt = TransformOptimizer([w], otx.inject_hyperparams(otx.sgd)(lr=0.1))
    opt.param_groups[0]["lr"] = 1.0
    w.grad = torch.ones(1)
    opt.step()
    assert w.item() == -1.0


def test_state_dict_round_trip_resumes_exactly():
    tx = otx.chain(otx.clip_by_global_norm(1.0), otx.inject_hyperparams(otx.adam)(lr=0.01))
    ours, resumed = _model(), _model()
    opt = TransformOptimizer(ours.parameters(), tx)
    _train(ours, opt, steps=3)
    buf = io.BytesIO()
    torch.save(opt.state_dict(), buf)
    buf.seek(0)
    resumed.load_state_dict(ours.state_dict())
    opt2 = TransformOptimizer(resumed.parameters(), tx)
    opt2.load_state_dict(torch.load(buf, weights_only=True))
    _train(ours, opt, steps=3, seed=7)
    _train(resumed, opt2, steps=3, seed=7)
    for pa, pb in zip(ours.parameters(), resumed.parameters(), strict=True):
        assert torch.equal(pa, pb)


def test_mismatched_state_dict_raises_and_changes_nothing():
    tx = otx.inject_hyperparams(otx.adam)(lr=0.01)
    small = TransformOptimizer(_model().parameters(), tx)
    other = TransformOptimizer([torch.nn.Parameter(torch.ones(2, dtype=torch.float64))], tx)
    before = other.state_dict()
    with pytest.raises(ValueError):
        other.load_state_dict(small.state_dict())
    after = other.state_dict()
    assert after["param_groups"] == before["param_groups"]
    with pytest.raises(ValueError, match="transform_state"):
        other.load_state_dict(torch.optim.SGD([torch.nn.Parameter(torch.ones(1))], lr=0.1).state_dict())


def test_group_without_grads_is_skipped_and_missing_grads_count_as_zero():
    a, b = torch.nn.Parameter(torch.ones(1)), torch.nn.Parameter(torch.ones(1))
    c = torch.nn.Parameter(torch.ones(1))
    opt = TransformOptimizer([{"params": [a, b]}, {"params": [c]}], otx.inject_hyperparams(otx.sgd)(lr=0.5))
    a.grad = torch.ones(1)
    opt.step()
    assert (a.item(), b.item(), c.item()) == (0.5, 1.0, 1.0)


def test_works_with_grad_scaler_and_skips_overflow():
    w = torch.nn.Parameter(torch.ones(2))
    opt = TransformOptimizer([w], otx.inject_hyperparams(otx.sgd)(lr=0.1))
    scaler = torch.amp.GradScaler("cpu", init_scale=4.0)
    scaler.scale(w.sum()).backward()
    scaler.step(opt)
    scaler.update()
    torch.testing.assert_close(w.detach(), torch.full((2,), 0.9))
    opt.zero_grad()
    w.grad = torch.full((2,), float("inf"))
    scaler.step(opt)
    scaler.update()
    torch.testing.assert_close(w.detach(), torch.full((2,), 0.9))
    assert scaler.get_scale() == 4.0 * 0.5


def test_plain_transform_has_no_hyperparameter_keys():
    opt = TransformOptimizer([torch.nn.Parameter(torch.ones(1))], otx.sgd(0.1))
    assert opt.defaults == {}
    assert set(opt.param_groups[0]) >= {"params"}


def test_bad_transform_raises_type_error():
    with pytest.raises(TypeError, match="GradientTransformation"):
        TransformOptimizer([torch.nn.Parameter(torch.ones(1))], "adamw")


def test_sparse_parameters_rejected():
    with pytest.raises(ValueError, match="sparse"):
        TransformOptimizer([torch.nn.Parameter(torch.eye(2).to_sparse())], otx.sgd(0.1))


def test_whole_tree_transforms_inside_the_per_group_part_warn_once_and_single_groups_do_not():
    groups = [{"params": [torch.nn.Parameter(torch.ones(2))]}, {"params": [torch.nn.Parameter(torch.ones(2))]}]
    tx = otx.chain(otx.clip_by_value(1.0), otx.apply_if_finite(otx.inject_hyperparams(otx.sgd)(lr=0.1)))
    with pytest.warns(otx.PerGroupTransformWarning) as caught:
        TransformOptimizer(groups, tx)
    assert len(caught) == 1
    assert "apply_if_finite" in str(caught[0].message)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        TransformOptimizer(groups[:1], tx)
        TransformOptimizer(groups, otx.inject_hyperparams(otx.adamw)(lr=0.1))
        # a leading clip has no per-group hyperparameters: it runs once over all groups, no warning
        TransformOptimizer(groups, otx.chain(otx.clip_by_global_norm(1.0), otx.inject_hyperparams(otx.sgd)(lr=0.1)))


def test_leading_global_clip_runs_over_all_groups_like_clip_grad_norm():
    ours, ref = _model(), _model()

    def groups(m):
        return [{"params": m[0].parameters()}, {"params": m[2].parameters(), "lr": 0.05}]

    tx = otx.chain(otx.clip_by_global_norm(0.1), otx.inject_hyperparams(otx.adamw)(lr=0.01, weight_decay=0.1))
    opt = TransformOptimizer(groups(ours), tx)
    ref_opt = torch.optim.AdamW(groups(ref), lr=0.01, weight_decay=0.1)
    gen = torch.Generator().manual_seed(3)
    for _ in range(4):
        x = torch.randn(5, 3, generator=gen, dtype=torch.float64)
        for model, optimizer in ((ours, opt), (ref, ref_opt)):
            optimizer.zero_grad()
            model(x).pow(2).mean().backward()
            if optimizer is ref_opt:
                torch.nn.utils.clip_grad_norm_(model.parameters(), 0.1)
            optimizer.step()
    _assert_same_params(ours, ref)
    restored = TransformOptimizer(groups(_model()), tx)
    restored.load_state_dict(opt.state_dict())
    assert torch.equal(
        restored.state_dict()["shared_transform_state"]["norm"], opt.state_dict()["shared_transform_state"]["norm"]
    )
    with pytest.raises(ValueError, match="shared_transform_state"):
        restored.load_state_dict({k: v for k, v in opt.state_dict().items() if k != "shared_transform_state"})
