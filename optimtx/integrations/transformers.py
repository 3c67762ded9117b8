"""Use optimtx in the Hugging Face ``Trainer``: ``OptimtxTrainer`` builds its optimizer from an optimtx config.

``Trainer(optimizers=(TransformOptimizer(...), scheduler))`` already trains, accumulates and resumes:
a [`TransformOptimizer`][optimtx.TransformOptimizer] is a ``torch.optim.Optimizer`` whose
``state_dict`` loads with ``torch.load(weights_only=True)``, as the Trainer loads checkpoints.
[`OptimtxTrainer`][optimtx.integrations.transformers.OptimtxTrainer] adds:

* ``optimtx_config=dict(type="adamw", betas=(0.9, 0.95))`` (any ``TransformOptimizer`` config, chains
  included): ``create_optimizer`` builds it over the Trainer's own decay / no-decay groups, with
  ``args.learning_rate`` and ``args.weight_decay`` (the Trainer's schedulers then drive ``lr``);
* one clipping: when the optimizer's chain clips, ``args.max_grad_norm`` is not applied again (one
  ``OptimtxWarning`` says so; the logged ``grad_norm`` is still the unclipped norm);
* one accumulation: a chain with ``accumulate`` is refused with ``gradient_accumulation_steps > 1``;
* skipped steps seen: a step the chain skipped (``apply_if_finite``, ``scale_by_amp``, ``skip_if_spike``)
  does not advance the learning-rate scheduler, as a GradScaler overflow does not (see
  [`report_chain_skips`][optimtx.integrations.accelerate.report_chain_skips]).

Example:
    >>> from optimtx.integrations.transformers import OptimtxTrainer  # doctest: +SKIP
    >>> trainer = OptimtxTrainer(model=model, args=args, train_dataset=data,  # doctest: +SKIP
    ...                          optimtx_config=dict(type="adamw", betas=(0.9, 0.95)))
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

try:
    import transformers
except ImportError as error:  # pragma: no cover - exercised only without transformers
    raise ImportError(
        "optimtx.integrations.transformers needs transformers: pip install 'optimtx[transformers]'."
    ) from error

import copy
import weakref

from optimtx.core.warnings import OptimtxWarning, warn_user
from optimtx.integrations.accelerate import report_chain_skips
from optimtx.integrations.overlap import accumulation_in, clipping_in
from optimtx.wrapper.torch_optimizer import TransformOptimizer

__all__ = ["OptimtxTrainer", "trainer_param_groups"]


def trainer_param_groups(trainer: Any, model: Any, config: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The Trainer's decay / no-decay groups, each with ``args.learning_rate`` and its weight decay.

    Refuses a config whose own ``lr`` differs from ``args.learning_rate`` (one of the two would be
    silently ignored). Empty groups are left out.
    """
    lr = trainer.args.learning_rate
    if "lr" in config and config["lr"] != lr:
        raise ValueError(
            f"optimtx_config sets lr={config['lr']!r} but TrainingArguments.learning_rate={lr!r}; the Trainer's "
            "schedulers start from learning_rate. Set it there and drop lr from the config."
        )
    decay = set(trainer.get_decay_parameter_names(model))
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    groups = []
    for name, weight_decay, wanted in (("decay", trainer.args.weight_decay, True), ("no_decay", 0.0, False)):
        members = [(n, p) for n, p in named if (n in decay) is wanted]
        if members:
            groups.append(
                {
                    "params": [p for _, p in members],
                    "param_names": [n for n, _ in members],
                    "name": name,
                    "lr": lr,
                    "weight_decay": weight_decay,
                }
            )
    return groups


class _ReportChainSkips(transformers.TrainerCallback):
    """Before each optimizer step, make the Trainer's prepared optimizer report the chain's skips.

    The Trainer prepares its optimizer inside ``train()`` (and hands callbacks the one it had at
    construction), so the callback looks at the trainer itself.
    """

    def __init__(self, trainer: Any) -> None:
        self._trainer = weakref.ref(trainer)

    def on_pre_optimizer_step(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        trainer = self._trainer()
        if trainer is not None:
            report_chain_skips(trainer.optimizer)


class OptimtxTrainer(transformers.Trainer):
    """A ``transformers.Trainer`` that builds an optimtx optimizer and keeps clipping and accumulation single.

    Args:
        *args: as for ``transformers.Trainer``.
        optimtx_config: a `TransformOptimizer` transform config (``dict(type="adamw", ...)``); when
            None, the Trainer's own optimizer (or the one passed in ``optimizers=``) is used.
        **kwargs: as for ``transformers.Trainer``.
    """

    optimizer: Any

    def __init__(self, *args: Any, optimtx_config: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        if optimtx_config is not None and not isinstance(optimtx_config, Mapping):
            raise TypeError(f"optimtx_config must be a transform config dict, got {optimtx_config!r}.")
        self.optimtx_config = copy.deepcopy(dict(optimtx_config)) if optimtx_config is not None else None
        self._optimtx_warned_clipping = False
        super().__init__(*args, **kwargs)
        self.add_callback(_ReportChainSkips(self))

    def create_optimizer(self, model: Any = None) -> Any:
        """The `TransformOptimizer` of ``optimtx_config`` over the Trainer's groups (or the Trainer's own)."""
        if self.optimizer is None and self.optimtx_config is not None:
            opt_model = self.model if model is None else model
            groups = trainer_param_groups(self, opt_model, self.optimtx_config)
            config = {k: v for k, v in self.optimtx_config.items() if k != "lr"}
            self.optimizer = TransformOptimizer(groups, config)
        trainer: Any = super()
        optimizer = trainer.create_optimizer(model)
        if accumulation_in(optimizer) and self.args.gradient_accumulation_steps > 1:
            raise ValueError(
                f"The optimizer's chain accumulates gradients ({', '.join(accumulation_in(optimizer))}) and "
                f"TrainingArguments.gradient_accumulation_steps={self.args.gradient_accumulation_steps} accumulates "
                "them again; keep one of the two (gradient_accumulation_steps=1, or no accumulate in the chain)."
            )
        return optimizer

    def _clip_grad_norm(self, model: Any) -> Any:
        clips = clipping_in(self.optimizer)
        if not clips:
            trainer: Any = super()
            return trainer._clip_grad_norm(model)
        if not self._optimtx_warned_clipping:
            self._optimtx_warned_clipping = True
            warn_user(
                f"TrainingArguments.max_grad_norm={self.args.max_grad_norm} is not applied: the optimizer's chain "
                f"clips already ({', '.join(clips)}), and the chain's clipping wins. Set max_grad_norm=0 or remove "
                "the clipping from the chain to silence this warning.",
                OptimtxWarning,
            )
        return None
