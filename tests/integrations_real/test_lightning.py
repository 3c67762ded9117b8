"""optimtx in a real Lightning Trainer: schedulers, bf16-mixed, accumulation, clipping, bitwise resume."""

from __future__ import annotations

import warnings

import pytest
import torch

pl = pytest.importorskip("lightning.pytorch")

import optimtx as otx  # noqa: E402
from optimtx.integrations.lightning import OptimtxModule, configure_optimizers, scheduler_config  # noqa: E402
from tests.integrations_real.common import full_loss, loader, net, state_equal  # noqa: E402

LR = 0.05


class Regression(OptimtxModule):
    def __init__(self, transform=None, scheduler="otx"):
        super().__init__()
        self.net = net()
        self.transform = transform or dict(type="adamw", lr=LR, weight_decay=0.01)
        self.scheduler = scheduler

    def training_step(self, batch, batch_idx):
        x, y = batch
        return torch.nn.functional.mse_loss(self.net(x), y)

    def configure_optimizers(self):
        opt = otx.TransformOptimizer(self.net.parameters(), self.transform)
        if self.scheduler == "otx":
            return configure_optimizers(opt, otx.LinearLR(opt, start_factor=0.1, end=20, by_epoch=False))
        if self.scheduler == "torch":
            sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: 1 / (1 + step))
            return configure_optimizers(opt, sched, interval="step")
        return configure_optimizers(opt)


def _fit(module, ckpt_path=None, **trainer_kwargs):
    options = dict(
        accelerator="cpu",
        devices=1,
        max_epochs=2,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    trainer = pl.Trainer(**{**options, **trainer_kwargs})
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*(does not have many workers|too few batches).*")
        trainer.fit(module, loader(), ckpt_path=ckpt_path)
    return trainer


def _manual(transform, epochs=2, accumulate=1, clip=None):
    """The same training written as a plain loop: what Lightning must reproduce bitwise."""
    model = net()
    opt = otx.TransformOptimizer(model.parameters(), transform)
    sched = otx.LinearLR(opt, start_factor=0.1, end=20, by_epoch=False)
    for _ in range(epochs):
        for i, (x, y) in enumerate(loader()):
            (torch.nn.functional.mse_loss(model(x), y) / accumulate).backward()
            if (i + 1) % accumulate == 0:
                if clip is not None:
                    torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
                opt.step()
                opt.zero_grad()
                sched.step()
    return model, opt


@pytest.mark.parametrize(
    "settings", [{}, {"accumulate_grad_batches": 2}, {"gradient_clip_val": 0.05}], ids=["plain", "accumulate", "clip"]
)
def test_trainer_equals_the_plain_loop_bitwise(settings):
    module = Regression()
    trainer = _fit(module, **settings)
    model, opt = _manual(
        module.transform, accumulate=settings.get("accumulate_grad_batches", 1), clip=settings.get("gradient_clip_val")
    )
    assert state_equal(module.net, model)
    lightning_opt = trainer.optimizers[0]
    assert lightning_opt.param_groups[0]["lr"] == opt.param_groups[0]["lr"]  # the scheduler stepped per optimizer step


def test_bf16_mixed_trains_and_keeps_float32_parameters():
    module = Regression()
    before = full_loss(module.net)
    _fit(module, precision="bf16-mixed", max_epochs=3)
    assert full_loss(module.net) < 0.5 * before
    assert all(p.dtype == torch.float32 for p in module.net.parameters())


def test_torch_scheduler_steps_per_optimizer_step():
    module = Regression(scheduler="torch")
    trainer = _fit(module, accumulate_grad_batches=2)
    steps = 2 * 8 // 2
    assert trainer.optimizers[0].param_groups[0]["lr"] == pytest.approx(LR / (1 + steps))


def test_chain_clipping_wins_and_nothing_is_clipped_twice():
    chain = dict(type="chain", transforms=[dict(type="clip_by_global_norm", max_norm=0.05), dict(type="sgd", lr=LR)])
    only_chain = Regression(chain)
    _fit(only_chain)
    both = Regression(chain)
    with pytest.warns(otx.OptimtxWarning, match=r"gradient_clip_val=0.01\) is not applied.*clip_by_global_norm"):
        _fit(both, gradient_clip_val=0.01)
    assert state_equal(both.net, only_chain.net)


def test_checkpoint_resume_is_bitwise(tmp_path):
    straight = Regression()
    _fit(straight, max_epochs=3)
    first = Regression()
    trainer = _fit(first, max_epochs=1)
    trainer.save_checkpoint(tmp_path / "epoch1.ckpt")
    resumed = Regression()
    trainer = _fit(resumed, max_epochs=3, ckpt_path=str(tmp_path / "epoch1.ckpt"))
    assert state_equal(resumed.net, straight.net)
    assert trainer.optimizers[0].state_dict()["param_groups"][0]["lr"] == pytest.approx(LR * (0.1 + 0.9 * 20 / 20))


def _opt():
    return otx.TransformOptimizer(net().parameters(), dict(type="sgd", lr=0.1))


def test_scheduler_intervals_are_checked():
    with pytest.raises(ValueError, match="interval='epoch' contradicts LinearLR\\(by_epoch=False\\)"):
        scheduler_config(otx.LinearLR(_opt(), by_epoch=False), interval="epoch")
    with pytest.raises(ValueError, match="needs interval='step'"):
        scheduler_config(torch.optim.lr_scheduler.StepLR(_opt(), 3))
    assert scheduler_config(otx.StepLR(_opt(), step_size=2))["interval"] == "epoch"
    with pytest.raises(ValueError, match=r"\['interval'\] configure a scheduler, but scheduler is None"):
        configure_optimizers(_opt(), interval="step")
