"""Real-style OpenMMLab ``optim_wrapper`` / ``param_scheduler`` configs over small models with the same names.

Each entry mirrors a shape of config found in OpenMMLab projects (classification, detection,
segmentation, pose, action, generation, 3-D): optimizer and wrapper types, clipping, AMP,
accumulation, paramwise rules keyed on real parameter names, and schedulers written with
``convert_to_iter_based``. The models are tiny but carry the parameter names the rules match.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import torch
from torch import nn


class Block(nn.Module):
    def __init__(self, dim: int = 8) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = nn.Linear(dim, dim)
        self.relative_position_bias_table = nn.Parameter(torch.zeros(3, 2))
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, dim), nn.GELU(), nn.Linear(dim, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x)) * (1 + self.relative_position_bias_table.mean())
        return x + self.mlp(self.norm2(x))


class VisionTransformer(nn.Module):
    """ViT / Swin names: cls_token, pos_embed, absolute_pos_embed, blocks, norm, head."""

    def __init__(self) -> None:
        super().__init__()
        self.patch_embed = nn.Conv2d(3, 8, 4, stride=4)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, 8))
        self.pos_embed = nn.Parameter(torch.zeros(1, 5, 8))
        self.absolute_pos_embed = nn.Parameter(torch.zeros(1, 4, 8))
        self.blocks = nn.Sequential(Block(), Block())
        self.norm = nn.LayerNorm(8)
        self.head = nn.Linear(8, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t = self.patch_embed(x).flatten(2).transpose(1, 2) + self.absolute_pos_embed
        t = torch.cat([self.cls_token.expand(t.shape[0], -1, -1), t], 1) + self.pos_embed
        return self.head(self.norm(self.blocks(t))[:, 0])


class ConvNet(nn.Module):
    """ResNet / detector / segmentor names: backbone (conv+bn, depthwise), neck, head (decode_head), pos_block."""

    def __init__(self) -> None:
        super().__init__()
        self.backbone = nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU(), nn.Conv2d(8, 8, 3, groups=8)
        )
        self.neck = nn.Sequential(nn.Conv2d(8, 8, 1), nn.GroupNorm(2, 8))
        self.pos_block = nn.Conv2d(8, 8, 1, groups=8)
        self.decode_head = nn.Conv2d(8, 3, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode_head(self.pos_block(self.neck(self.backbone(x)))).mean((2, 3))


class SharedNet(ConvNet):
    """A detector whose two heads share one conv (bypass_duplicate)."""

    def __init__(self) -> None:
        super().__init__()
        self.aux_head = nn.Sequential(self.decode_head, nn.Identity())


@dataclasses.dataclass(frozen=True)
class RealConfig:
    name: str
    model: Callable[[], nn.Module]
    optim_wrapper: dict[str, Any]
    param_scheduler: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    epoch_length: int = 5
    mmengine_runs_it: bool = True  # MMEngine's AmpOptimWrapper needs a GPU


def _warmup(end: int = 3, start_factor: float = 0.001) -> dict[str, Any]:
    return dict(type="LinearLR", start_factor=start_factor, by_epoch=False, begin=0, end=end)


CONFIGS: list[RealConfig] = [
    RealConfig(
        "resnet_sgd_multistep",
        ConvNet,
        dict(optimizer=dict(type="SGD", lr=0.1, momentum=0.9, weight_decay=1e-4)),
        [dict(type="MultiStepLR", by_epoch=True, milestones=[1, 2], gamma=0.1)],
    ),
    RealConfig(
        "vit_adamw_warmup_cosine",
        VisionTransformer,
        dict(
            optimizer=dict(type="AdamW", lr=5e-4, weight_decay=0.05, eps=1e-8, betas=(0.9, 0.999)),
            paramwise_cfg=dict(
                norm_decay_mult=0.0,
                bias_decay_mult=0.0,
                custom_keys={".cls_token": dict(decay_mult=0.0), ".pos_embed": dict(decay_mult=0.0)},
            ),
            clip_grad=dict(max_norm=5.0),
        ),
        [
            dict(type="LinearLR", start_factor=1e-3, by_epoch=True, end=1, convert_to_iter_based=True),
            dict(type="CosineAnnealingLR", eta_min=1e-5, by_epoch=True, begin=1, convert_to_iter_based=True),
        ],
    ),
    RealConfig(
        "swin_adamw_custom_keys",
        VisionTransformer,
        dict(
            optimizer=dict(type="AdamW", lr=1e-3, weight_decay=0.05),
            paramwise_cfg=dict(
                norm_decay_mult=0.0,
                bias_decay_mult=0.0,
                custom_keys={
                    ".absolute_pos_embed": dict(decay_mult=0.0),
                    ".relative_position_bias_table": dict(decay_mult=0.0),
                },
            ),
            clip_grad=dict(max_norm=5.0),
        ),
        [
            dict(type="LinearLR", start_factor=1e-3, by_epoch=True, end=1, convert_to_iter_based=True),
            dict(type="CosineAnnealingLR", T_max=2, eta_min=1e-5, by_epoch=True, begin=1, end=3),
        ],
    ),
    RealConfig(
        "faster_rcnn_sgd_amp_static",
        ConvNet,
        dict(
            type="AmpOptimWrapper",
            loss_scale=512.0,
            optimizer=dict(type="SGD", lr=0.02, momentum=0.9, weight_decay=1e-4),
        ),
        [_warmup(), dict(type="MultiStepLR", begin=0, end=3, by_epoch=True, milestones=[1, 2], gamma=0.1)],
        mmengine_runs_it=False,
    ),
    RealConfig(
        "retinanet_sgd_clip",
        ConvNet,
        dict(
            optimizer=dict(type="SGD", lr=0.01, momentum=0.9, weight_decay=1e-4),
            clip_grad=dict(max_norm=35, norm_type=2),
        ),
        [_warmup(), dict(type="MultiStepLR", begin=0, end=3, by_epoch=True, milestones=[2], gamma=0.1)],
    ),
    RealConfig(
        "detr_adamw_backbone_lr_mult",
        ConvNet,
        dict(
            optimizer=dict(type="AdamW", lr=1e-4, weight_decay=1e-4),
            clip_grad=dict(max_norm=0.1, norm_type=2),
            paramwise_cfg=dict(custom_keys={"backbone": dict(lr_mult=0.1, decay_mult=1.0)}),
        ),
        [dict(type="MultiStepLR", begin=0, end=3, by_epoch=True, milestones=[2], gamma=0.1)],
    ),
    RealConfig(
        "deeplab_sgd_poly",
        ConvNet,
        dict(optimizer=dict(type="SGD", lr=0.01, momentum=0.9, weight_decay=5e-4), clip_grad=None),
        [dict(type="PolyLR", eta_min=1e-4, power=0.9, begin=0, end=12, by_epoch=False)],
    ),
    RealConfig(
        "segformer_adamw_head_lr_mult",
        ConvNet,
        dict(
            optimizer=dict(type="AdamW", lr=6e-5, betas=(0.9, 0.999), weight_decay=0.01),
            paramwise_cfg=dict(
                custom_keys={
                    "pos_block": dict(decay_mult=0.0),
                    "norm": dict(decay_mult=0.0),
                    "head": dict(lr_mult=10.0),
                }
            ),
        ),
        [
            _warmup(end=4, start_factor=1e-6),
            dict(type="PolyLR", power=1.0, begin=4, end=12, eta_min=0.0, by_epoch=False),
        ],
    ),
    RealConfig(
        "pose_adam_warmup_multistep",
        ConvNet,
        dict(optimizer=dict(type="Adam", lr=5e-4)),
        [_warmup(), dict(type="MultiStepLR", begin=0, end=3, milestones=[1, 2], gamma=0.1, by_epoch=True)],
    ),
    RealConfig(
        "action_sgd_bypass_duplicate",
        SharedNet,
        dict(
            optimizer=dict(type="SGD", lr=0.01, momentum=0.9, weight_decay=1e-4),
            paramwise_cfg=dict(bypass_duplicate=True, norm_decay_mult=0.0),
            clip_grad=dict(max_norm=40, norm_type=2),
        ),
        [dict(type="CosineAnnealingLR", T_max=3, eta_min=0, by_epoch=True, begin=0, end=3)],
    ),
    RealConfig(
        "mobilenet_dwconv_flat_decay",
        ConvNet,
        dict(
            optimizer=dict(type="SGD", lr=0.045, momentum=0.9, weight_decay=4e-5),
            paramwise_cfg=dict(dwconv_decay_mult=0.0, norm_decay_mult=0.0, flat_decay_mult=0.0),
        ),
        [dict(type="StepLR", by_epoch=True, step_size=1, gamma=0.98)],
    ),
    RealConfig(
        "pointpillars_adamw_cyclic",
        ConvNet,
        dict(optimizer=dict(type="AdamW", lr=1e-3, betas=(0.95, 0.99), weight_decay=0.01), clip_grad=dict(max_norm=35)),
        [
            dict(
                type="CosineAnnealingLR",
                T_max=2,
                eta_min=1e-2,
                begin=0,
                end=2,
                by_epoch=True,
                convert_to_iter_based=True,
            ),
            dict(
                type="CosineAnnealingLR",
                T_max=1,
                eta_min=1e-7,
                begin=2,
                end=3,
                by_epoch=True,
                convert_to_iter_based=True,
            ),
            dict(
                type="CosineAnnealingMomentum",
                T_max=2,
                eta_min=0.85 / 0.95,
                begin=0,
                end=2,
                by_epoch=True,
                convert_to_iter_based=True,
            ),
            dict(
                type="CosineAnnealingMomentum",
                T_max=1,
                eta_min=1,
                begin=2,
                end=3,
                by_epoch=True,
                convert_to_iter_based=True,
            ),
        ],
    ),
    RealConfig(
        "accumulate_sgd_onecycle",
        ConvNet,
        dict(optimizer=dict(type="SGD", lr=0.1, momentum=0.9, nesterov=True), accumulative_counts=2),
        [dict(type="OneCycleLR", eta_max=0.1, total_steps=12, by_epoch=False)],
    ),
    RealConfig(
        "restart_cosine_sgd",
        ConvNet,
        dict(optimizer=dict(type="SGD", lr=0.05, momentum=0.9, weight_decay=5e-4)),
        [dict(type="CosineRestartLR", periods=[4, 8], restart_weights=[1, 0.5], eta_min=1e-4, by_epoch=False)],
    ),
    RealConfig(
        "bf16_amp_adamw",
        VisionTransformer,
        dict(
            type="AmpOptimWrapper",
            dtype="bfloat16",
            optimizer=dict(type="AdamW", lr=1e-3, weight_decay=0.05),
            paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0),
        ),
        [_warmup(), dict(type="CosineAnnealingLR", by_epoch=True, begin=0, end=3, convert_to_iter_based=True)],
        mmengine_runs_it=False,
    ),
    RealConfig(
        "fp16_dynamic_amp_sgd",
        ConvNet,
        dict(type="AmpOptimWrapper", loss_scale="dynamic", optimizer=dict(type="SGD", lr=0.01, momentum=0.9)),
        [dict(type="ConstantLR", factor=0.5, by_epoch=False, begin=0, end=3)],
        mmengine_runs_it=False,
    ),
]


def inputs(model: nn.Module, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(2, 3, 8, 8, generator=g)
