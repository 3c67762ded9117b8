"""optimtx inside MMEngine's Runner: one config line switches the optimizer wrapper."""

from __future__ import annotations

import pytest
import torch

pytest.importorskip("mmengine")
runner_module = pytest.importorskip("mmengine.runner", exc_type=ImportError)  # needs opencv at import

import mmengine.optim  # noqa: E402
import mmengine.registry  # noqa: E402
from mmengine.model import BaseModel  # noqa: E402

import optimtx as otx  # noqa: E402
import optimtx.integrations.mmengine as integration  # noqa: E402


class ToyModel(BaseModel):
    def __init__(self):
        super().__init__()
        self.backbone = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.LayerNorm(8))
        self.head = torch.nn.Linear(8, 1)

    def forward(self, inputs, targets, mode="tensor"):
        out = self.head(self.backbone(inputs))
        if mode == "loss":
            return {"loss": torch.nn.functional.mse_loss(out.float(), targets)}
        return out


def _loader():
    g = torch.Generator().manual_seed(0)
    x, w = torch.randn(64, 4, generator=g), torch.randn(4, 1, generator=g)
    data = [{"inputs": x[i], "targets": x[i] @ w} for i in range(64)]
    return torch.utils.data.DataLoader(data, batch_size=8, shuffle=False)


def _runner(tmp_path, optim_wrapper, max_iters=6):
    torch.manual_seed(0)
    return runner_module.Runner(
        model=ToyModel(),
        work_dir=str(tmp_path),
        train_dataloader=_loader(),
        train_cfg=dict(by_epoch=False, max_iters=max_iters, val_interval=1000),
        optim_wrapper=optim_wrapper,
        param_scheduler=[dict(type="LinearLR", start_factor=0.5, by_epoch=False, begin=0, end=4)],
        default_hooks=dict(checkpoint=dict(type="CheckpointHook", interval=1000)),
        default_scope="mmengine",
    )


def test_the_registered_names():
    assert set(integration.REGISTERED) == {
        "optimtx.OptimWrapper",
        "optimtx.AmpOptimWrapper",
        "optimtx.OptimWrapperDict",
        "optimtx.DefaultOptimWrapperConstructor",
        "optimtx.MultiOptimWrapperConstructor",
        "optimtx.TransformOptimizer",
    }
    amp = mmengine.registry.OPTIM_WRAPPERS.get("optimtx.AmpOptimWrapper")
    assert issubclass(amp, otx.AmpOptimWrapper) and issubclass(amp, mmengine.optim.OptimWrapper)
    assert integration.register() == integration.REGISTERED  # idempotent


@pytest.mark.slow
def test_runner_trains_with_optimtx_cpu_amp_and_matches_mmengine_fp32_closely(tmp_path):
    cfg = dict(
        type="optimtx.AmpOptimWrapper",
        dtype="bfloat16",
        constructor="optimtx.DefaultOptimWrapperConstructor",
        optimizer=dict(type="AdamW", lr=1e-2, weight_decay=0.01),
        paramwise_cfg=dict(norm_decay_mult=0.0),
        accumulative_counts=2,
        clip_grad=dict(max_norm=1.0),
    )
    runner = _runner(tmp_path / "otx", cfg)
    before = {k: v.detach().clone() for k, v in runner.model.named_parameters()}
    runner.train()
    assert isinstance(runner.optim_wrapper, otx.AmpOptimWrapper)
    assert len(runner.optim_wrapper.optimizer.param_groups) == 2  # one per label, not one per parameter
    after = dict(runner.model.named_parameters())
    assert all(not torch.equal(before[k], after[k]) for k in before)
    assert all(torch.isfinite(p).all() for p in after.values())
    # The scheduler stepped the optimtx wrapper: LinearLR reached its end factor.
    assert runner.optim_wrapper.get_lr()["lr"][0] == pytest.approx(1e-2)


@pytest.mark.slow
def test_runner_with_optimtx_wrapper_equals_mmengine_wrapper_in_fp32(tmp_path):
    results = []
    for prefix in ("", "optimtx."):
        cfg = dict(
            type=prefix + "OptimWrapper",
            optimizer=dict(type="SGD", lr=0.05, momentum=0.9),
            accumulative_counts=2,
            clip_grad=dict(max_norm=1.0),
        )
        runner = _runner(tmp_path / (prefix or "mm"), cfg)
        runner.train()
        results.append({k: v.detach().clone() for k, v in runner.model.named_parameters()})
    for k in results[0]:
        torch.testing.assert_close(results[1][k], results[0][k], rtol=1e-5, atol=1e-6)


def test_transform_optimizer_through_mmengine_registry():
    model = torch.nn.Linear(2, 1)
    opt = mmengine.registry.OPTIMIZERS.build(
        dict(
            type="optimtx.TransformOptimizer",
            params=model.parameters(),
            transform=dict(
                type="chain", transforms=[dict(type="clip_by_global_norm", max_norm=1.0), dict(type="adamw", lr=1e-3)]
            ),
        )
    )
    assert isinstance(opt, otx.TransformOptimizer) and opt.param_groups[0]["lr"] == pytest.approx(1e-3)
