"""Models and paramwise configs shared by the paramwise and MMEngine parity tests."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn


class SubModel(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(2, 2, kernel_size=1, groups=2)
        self.gn = nn.GroupNorm(2, 2)
        self.param1 = nn.Parameter(torch.ones(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.gn(self.conv1(x)) * self.param1


class ExampleModel(nn.Module):
    """MMEngine's test model: 1-D params, convs, BN, a depthwise conv and a GroupNorm."""

    def __init__(self) -> None:
        super().__init__()
        self.param1 = nn.Parameter(torch.ones(1))
        self.conv1 = nn.Conv2d(3, 4, kernel_size=1, bias=False)
        self.conv2 = nn.Conv2d(4, 2, kernel_size=1)
        self.bn = nn.BatchNorm2d(2)
        self.sub = SubModel()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.sub(self.bn(self.conv2(self.conv1(x)))) * self.param1


class TransformerBlock(nn.Module):
    """LayerNorm, linear layers and a top-level 1-D parameter (``scale``)."""

    def __init__(self) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.ones(4))
        self.norm = nn.LayerNorm(4)
        self.head = nn.Linear(4, 3)
        self.decode_head = nn.Linear(4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.norm(x) * self.scale
        return self.head(y) + self.decode_head(y)


class SharedModel(nn.Module):
    """A conv reachable from two parents (``conv3[0] is conv1[0]``)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Sequential(nn.Conv2d(3, 3, 1), nn.BatchNorm2d(3))
        self.conv2 = nn.Conv2d(3, 3, 1, groups=3)
        self.conv3 = nn.Sequential(self.conv1[0], nn.Conv2d(3, 2, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv3(self.conv2(self.conv1(x)))


def frozen_example() -> nn.Module:
    model = ExampleModel()
    model.conv1.requires_grad_(False)
    model.sub.gn.weight.requires_grad_(False)
    return model


def depthwise_net() -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, 3, 3, groups=3), nn.Conv1d(3, 3, 1, groups=3), nn.InstanceNorm1d(3, affine=True))


MODELS: dict[str, Callable[[], nn.Module]] = {
    "example": ExampleModel,
    "transformer": TransformerBlock,
    "frozen": frozen_example,
    "depthwise": depthwise_net,
}

SIX_MULTS = dict(
    bias_lr_mult=2,
    bias_decay_mult=0.5,
    norm_decay_mult=0,
    dwconv_decay_mult=0.1,
    dcn_offset_lr_mult=0.1,
    flat_decay_mult=0.3,
)

PARAMWISE_CFGS: dict[str, dict] = {
    "six_mults": SIX_MULTS,
    "norm_only": dict(norm_decay_mult=0.0),
    "bias_only": dict(bias_lr_mult=2.0, bias_decay_mult=0.0),
    "flat_only": dict(flat_decay_mult=0.0),
    "dwconv_bias": dict(bias_lr_mult=3.0, dwconv_decay_mult=0.2),
    "custom_keys": dict(
        custom_keys={
            "param1": dict(lr_mult=10),
            "sub": dict(lr_mult=0.1, decay_mult=0),
            "sub.gn": dict(lr_mult=0.01),
            "non_exist_key": dict(lr_mult=0.0),
        },
        norm_decay_mult=0.5,
    ),
    "custom_literal": dict(custom_keys={"head": dict(lr=0.5, weight_decay=0.0, fix_lr=True)}, bias_lr_mult=2.0),
    "custom_dot": dict(custom_keys={".scale": dict(decay_mult=0.0), "norm": dict(lr_mult=0.5)}, flat_decay_mult=0.1),
}
