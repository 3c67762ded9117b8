"""optimtx in a real Hugging Face Trainer: optimizers=, an optimtx config, clipping, accumulation, resume."""

from __future__ import annotations

import warnings

import pytest
import torch

transformers = pytest.importorskip("transformers")
pytest.importorskip("accelerate")

import optimtx as otx  # noqa: E402
from optimtx.integrations.transformers import OptimtxTrainer  # noqa: E402
from tests.integrations_real.common import dataset, full_loss, net, state_equal  # noqa: E402

LR = 0.05


class Regression(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.net = net()

    def forward(self, x, labels=None):
        out = self.net(x)
        return {"loss": torch.nn.functional.mse_loss(out, labels), "logits": out}


class Rows(torch.utils.data.Dataset):
    def __init__(self):
        self.x, self.y = dataset().tensors

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return {"x": self.x[i], "labels": self.y[i]}


def _args(tmp_path, **overrides):
    options = dict(
        output_dir=str(tmp_path / "out"),
        per_device_train_batch_size=8,
        num_train_epochs=2,
        learning_rate=LR,
        weight_decay=0.01,
        lr_scheduler_type="linear",
        max_grad_norm=0.0,
        save_strategy="no",
        report_to=[],
        use_cpu=True,
        seed=0,
        disable_tqdm=True,
        logging_strategy="no",
    )
    return transformers.TrainingArguments(**{**options, **overrides})


def _train(tmp_path, trainer_cls=OptimtxTrainer, resume=None, **kwargs):
    args = kwargs.pop("args", None) or _args(tmp_path, **kwargs.pop("arguments", {}))
    model = Regression()
    trainer = trainer_cls(model=model, args=args, train_dataset=Rows(), **kwargs)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=FutureWarning)
        trainer.train(resume_from_checkpoint=resume)
    return trainer, model


def test_trainer_takes_a_transform_optimizer_and_scheduler(tmp_path):
    model = Regression()
    before = full_loss(model.net)
    opt = otx.TransformOptimizer(model.parameters(), dict(type="adamw", lr=LR))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: 1 / (1 + step))
    trainer = transformers.Trainer(model=model, args=_args(tmp_path), train_dataset=Rows(), optimizers=(opt, sched))
    trainer.train()
    assert full_loss(model.net) < before
    assert opt.param_groups[0]["lr"] == pytest.approx(LR / (1 + 16))  # 2 epochs x 8 steps, one scheduler step each


def test_optimtx_config_equals_the_trainers_own_adamw(tmp_path):
    ours, ours_model = _train(tmp_path, optimtx_config=dict(type="adamw", betas=(0.9, 0.95)))
    assert isinstance(ours.optimizer.optimizer, otx.TransformOptimizer)
    names = [(g["name"], g["weight_decay"]) for g in ours.optimizer.param_groups]
    assert names == [("decay", 0.01), ("no_decay", 0.0)]
    _, theirs = _train(tmp_path, trainer_cls=transformers.Trainer, arguments=dict(optim="adamw_torch", adam_beta2=0.95))
    for a, b in zip(ours_model.parameters(), theirs.parameters(), strict=True):
        torch.testing.assert_close(a, b)


def test_max_grad_norm_equals_clipping_in_the_chain(tmp_path):
    _, by_trainer = _train(tmp_path, optimtx_config=dict(type="adamw"), arguments=dict(max_grad_norm=0.05))
    chain = dict(type="chain", transforms=[dict(type="clip_by_global_norm", max_norm=0.05), dict(type="adamw")])
    _, by_chain = _train(tmp_path, optimtx_config=chain)
    for a, b in zip(by_trainer.parameters(), by_chain.parameters(), strict=True):
        torch.testing.assert_close(a, b)


def test_chain_clipping_wins_over_max_grad_norm(tmp_path):
    chain = dict(type="chain", transforms=[dict(type="clip_by_global_norm", max_norm=0.05), dict(type="adamw")])
    _, only_chain = _train(tmp_path, optimtx_config=chain)
    with pytest.warns(otx.OptimtxWarning, match=r"max_grad_norm=0.01 is not applied.*clip_by_global_norm"):
        _, both = _train(tmp_path, optimtx_config=chain, arguments=dict(max_grad_norm=0.01))
    assert state_equal(both, only_chain)


def test_gradient_accumulation_steps_match_a_full_batch(tmp_path):
    _, accumulated = _train(
        tmp_path,
        optimtx_config=dict(type="adamw"),
        arguments=dict(per_device_train_batch_size=4, gradient_accumulation_steps=2),
    )
    _, full = _train(tmp_path, optimtx_config=dict(type="adamw"))
    for a, b in zip(accumulated.parameters(), full.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


def test_accumulation_in_both_places_is_refused(tmp_path):
    config = dict(type="accumulate", inner=dict(type="adamw"), every_k=2)
    with pytest.raises(ValueError, match=r"accumulates gradients \(accumulate\) and .*gradient_accumulation_steps=2"):
        _train(tmp_path, optimtx_config=config, arguments=dict(gradient_accumulation_steps=2))


def test_a_config_lr_that_disagrees_with_learning_rate_is_refused(tmp_path):
    with pytest.raises(ValueError, match=r"optimtx_config sets lr=0\.1 but TrainingArguments\.learning_rate=0\.05"):
        _train(tmp_path, optimtx_config=dict(type="adamw", lr=0.1))


def test_resume_from_a_trainer_checkpoint_is_bitwise(tmp_path):
    chain = dict(type="chain", transforms=[dict(type="clip_by_global_norm", max_norm=1.0), dict(type="adamw")])
    saving = dict(save_strategy="steps", save_steps=8, output_dir=str(tmp_path / "ckpt"))
    _, straight = _train(tmp_path, optimtx_config=chain, arguments=saving)  # writes checkpoint-8 on the way
    halfway = str(tmp_path / "ckpt" / "checkpoint-8")
    trainer, resumed = _train(tmp_path, optimtx_config=chain, arguments=saving, resume=halfway)
    assert trainer.state.global_step == 16
    assert state_equal(resumed, straight)


class PoisonedRows(Rows):
    """Rows whose second batch (of 8) has an infinite label: its loss and gradients are not finite."""

    def __getitem__(self, i):
        row = super().__getitem__(i)
        return {**row, "labels": row["labels"] * float("inf")} if i == 8 else row


def test_a_step_the_chain_skips_does_not_advance_the_scheduler(tmp_path):
    config = dict(type="apply_if_finite", inner=dict(type="adamw"))
    model = Regression()
    trainer = OptimtxTrainer(
        model=model,
        args=_args(tmp_path, num_train_epochs=1),
        train_dataset=PoisonedRows(),
        optimtx_config=config,
    )
    # in order, so that row 8 lands in the second batch
    trainer._get_train_sampler = lambda *a, **k: torch.utils.data.SequentialSampler(trainer.train_dataset)
    # the Trainer's two groups (decay, no_decay) each skip on their own non-finite gradients: here both do
    with pytest.warns(otx.PerGroupTransformWarning, match="apply_if_finite skips each group"):
        trainer.train()
    assert all(torch.isfinite(p).all() for p in model.parameters())  # the poisoned step was skipped
    assert trainer.state.global_step == 8
    assert trainer.lr_scheduler.last_epoch == 7  # seven real steps moved the linear schedule
