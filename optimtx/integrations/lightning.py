"""Use optimtx in PyTorch Lightning: a ``LightningModule`` base and the ``configure_optimizers`` dict.

A [`TransformOptimizer`][optimtx.TransformOptimizer] is a ``torch.optim.Optimizer``, so Lightning
steps it, accumulates for it, autocasts around it (``precision="bf16-mixed"``) and checkpoints it
like any other. Two things need this module:

* **Schedulers.** optimtx's MMEngine-style schedulers (``otx.CosineAnnealingLR(..., by_epoch=False)``)
  say themselves whether they step per epoch or per iteration;
  [`scheduler_config`][optimtx.integrations.lightning.scheduler_config] turns that into Lightning's
  ``interval`` (and refuses a contradicting one), and
  [`OptimtxModule`][optimtx.integrations.lightning.OptimtxModule] steps them (Lightning only steps
  torch's own scheduler classes by itself).
* **Clipping in two places.** ``Trainer(gradient_clip_val=...)`` clips before the optimizer step; a
  chain starting with ``clip_by_global_norm`` clips again inside it. In an ``OptimtxModule`` the
  optimizer's own chain wins: when it clips, Lightning's clipping is skipped for that optimizer (one
  ``OptimtxWarning`` says so), so gradients are never clipped twice.

Example:
    >>> import optimtx as otx
    >>> from optimtx.integrations.lightning import scheduler_config  # doctest: +SKIP
    >>> opt = otx.create_optimizer(torch.nn.Linear(2, 1), "adamw", lr=1e-3)  # doctest: +SKIP
    >>> scheduler_config(otx.LinearLR(opt, start_factor=0.1, by_epoch=False, end=10))["interval"]  # doctest: +SKIP
    'step'
"""

from __future__ import annotations

from typing import Any

import torch

try:
    import lightning.pytorch as pl
except ImportError as error:  # pragma: no cover - exercised only without lightning
    raise ImportError("optimtx.integrations.lightning needs Lightning: pip install 'optimtx[lightning]'.") from error

from optimtx.core.warnings import OptimtxWarning, warn_user
from optimtx.integrations.overlap import clipping_in
from optimtx.param_scheduler.base import _ParamScheduler

__all__ = ["OptimtxModule", "configure_optimizers", "scheduler_config"]


def scheduler_config(
    scheduler: Any, interval: str | None = None, frequency: int = 1, monitor: str | None = None
) -> dict[str, Any]:
    """Lightning's ``lr_scheduler`` dict for a torch or optimtx scheduler, with the right ``interval``.

    An optimtx scheduler knows its interval (``by_epoch``): ``interval`` may be left out, and one
    that contradicts it is refused. A torch scheduler does not, so ``interval`` (``"step"`` or
    ``"epoch"``) must be given: Lightning's silent default, ``"epoch"``, turns a per-iteration
    warmup into a per-epoch one.

    Example:
        >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
        >>> scheduler_config(torch.optim.lr_scheduler.StepLR(opt, 10), interval="step")["interval"]
        'step'
    """
    if isinstance(scheduler, _ParamScheduler):
        own = "epoch" if scheduler.by_epoch else "step"
        if interval not in (None, own):
            raise ValueError(
                f"interval={interval!r} contradicts {type(scheduler).__name__}(by_epoch={scheduler.by_epoch}), which "
                f"steps per {own}; leave interval out or pass interval={own!r}."
            )
        interval = own
    elif interval not in ("step", "epoch"):
        raise ValueError(
            f"interval={interval!r}: a torch scheduler ({type(scheduler).__name__}) needs interval='step' (stepped "
            "after every optimizer step) or interval='epoch' (after every epoch)."
        )
    config: dict[str, Any] = {"scheduler": scheduler, "interval": interval, "frequency": frequency}
    if monitor is not None:
        config["monitor"] = monitor
    return config


def configure_optimizers(optimizer: torch.optim.Optimizer, scheduler: Any = None, **kwargs: Any) -> dict[str, Any]:
    """The value for ``LightningModule.configure_optimizers`` to return: the optimizer and its scheduler config.

    Args:
        optimizer: a `TransformOptimizer` (or any torch optimizer).
        scheduler: None, or a scheduler (see [`scheduler_config`][optimtx.integrations.lightning.scheduler_config]).
        **kwargs: ``interval``, ``frequency``, ``monitor`` for the scheduler.

    Example:
        >>> import optimtx as otx
        >>> opt = otx.create_optimizer(torch.nn.Linear(2, 1), "sgd", lr=0.1)
        >>> sorted(configure_optimizers(opt, otx.StepLR(opt, step_size=5, by_epoch=False)))
        ['lr_scheduler', 'optimizer']
    """
    if scheduler is None:
        if kwargs:
            raise ValueError(f"{sorted(kwargs)} configure a scheduler, but scheduler is None.")
        return {"optimizer": optimizer}
    return {"optimizer": optimizer, "lr_scheduler": scheduler_config(scheduler, **kwargs)}


class OptimtxModule(pl.LightningModule):
    """A ``LightningModule`` that steps optimtx schedulers and lets an optimtx chain's clipping win.

    Subclass it instead of ``LightningModule``; nothing else changes.

    Example:
        >>> import optimtx as otx
        >>> class Model(OptimtxModule):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.layer = torch.nn.Linear(2, 1)
        ...     def training_step(self, batch, batch_idx):
        ...         return self.layer(batch).square().mean()
        ...     def configure_optimizers(self):
        ...         opt = otx.TransformOptimizer(self.parameters(), dict(type="adamw", lr=1e-3))
        ...         return configure_optimizers(opt, otx.LinearLR(opt, start_factor=0.1, end=10, by_epoch=False))
        >>> isinstance(Model(), pl.LightningModule)
        True
    """

    _optimtx_warned_clipping = False

    def lr_scheduler_step(self, scheduler: Any, metric: Any) -> None:
        """Step torch and optimtx schedulers alike (a plateau scheduler gets Lightning's monitored metric)."""
        if metric is None:
            scheduler.step()
        elif isinstance(scheduler, _ParamScheduler):
            monitor = getattr(scheduler, "monitor", None)
            stepper: Any = scheduler.step  # a plateau scheduler's step takes the metrics dict
            stepper({monitor: metric}) if isinstance(monitor, str) else stepper()
        else:
            scheduler.step(metric)

    def configure_gradient_clipping(
        self,
        optimizer: torch.optim.Optimizer,
        gradient_clip_val: float | None = None,
        gradient_clip_algorithm: str | None = None,
    ) -> None:
        """Lightning's clipping, unless the optimizer's chain clips (then the chain's clipping is the only one)."""
        clips = clipping_in(optimizer) if gradient_clip_val else []
        if clips:
            if not self._optimtx_warned_clipping:
                self._optimtx_warned_clipping = True
                warn_user(
                    f"Trainer(gradient_clip_val={gradient_clip_val}) is not applied to {type(optimizer).__name__}: its "
                    f"chain clips already ({', '.join(clips)}), and the chain's clipping wins. Remove one of the two "
                    "to silence this warning.",
                    OptimtxWarning,
                )
            return
        self.clip_gradients(optimizer, gradient_clip_val, gradient_clip_algorithm)
