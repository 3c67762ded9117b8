"""Config-driven training: one dict describes optimizer, wrapper, clipping, accumulation and per-parameter rules.

Shows build_optim_wrapper with paramwise_cfg, explain() to check which parameter got
which learning rate and weight decay, and the same rules on the functional path.

Run: python examples/config_training.py
"""

from __future__ import annotations

import logging

import torch
from torch import nn

import optimtx as otx


class SmallConvNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.backbone = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU())
        self.head = nn.Linear(8, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(x).mean(dim=(2, 3)))


CONFIG = dict(
    type="OptimWrapper",
    optimizer=dict(type="AdamW", lr=3e-3, weight_decay=0.05),
    accumulative_counts=2,
    clip_grad=dict(max_norm=1.0),
    paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0, custom_keys={"head": dict(lr_mult=2.0)}),
)


def main(steps: int = 40) -> tuple[float, float]:
    torch.manual_seed(0)
    model = SmallConvNet()
    print(otx.explain(model, CONFIG))
    wrapper = otx.build_optim_wrapper(model, CONFIG)
    names = otx.param_group_names(model, wrapper)  # the labels explain() printed above
    lrs = ", ".join(f"{n} {g['lr']:g}" for n, g in zip(names, wrapper.optimizer.param_groups, strict=True))
    print(f"{len(names)} torch param groups, lr: {lrs}")

    x = torch.randn(64, 1, 8, 8)
    y = (x.mean(dim=(1, 2, 3)) > 0).long()
    first = last = 0.0
    for step in range(steps):
        batch = slice((step % 4) * 16, (step % 4 + 1) * 16)
        loss = nn.functional.cross_entropy(model(x[batch]), y[batch])
        wrapper.update_params(loss)
        first = loss.item() if step == 0 else first
        last = loss.item()
    print(f"loss {first:.3f} -> {last:.3f}")
    return first, last


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(name)s %(levelname)s %(message)s")
    main()
