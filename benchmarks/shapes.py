"""Parameter shapes the benchmarks run on, written out without torchvision."""

from __future__ import annotations

import math

Shape = tuple[int, ...]


def _conv_bn(out_ch: int, in_ch: int, kernel: int) -> list[Shape]:
    """A bias-free convolution followed by a batch norm (weight and bias)."""
    return [(out_ch, in_ch, kernel, kernel), (out_ch,), (out_ch,)]


def _bottleneck(in_ch: int, width: int, downsample: bool) -> list[Shape]:
    out_ch = width * 4
    shapes = _conv_bn(width, in_ch, 1) + _conv_bn(width, width, 3) + _conv_bn(out_ch, width, 1)
    return shapes + (_conv_bn(out_ch, in_ch, 1) if downsample else [])


def resnet50_shapes() -> list[Shape]:
    """The 161 trainable parameter shapes of torchvision's ``resnet50()``, in its order (25,557,032 values).

    Example:
        >>> shapes = resnet50_shapes()
        >>> len(shapes), sum(math.prod(s) for s in shapes)
        (161, 25557032)
    """
    shapes = _conv_bn(64, 3, 7)
    in_ch = 64
    for width, blocks in ((64, 3), (128, 4), (256, 6), (512, 3)):
        for block in range(blocks):
            shapes += _bottleneck(in_ch, width, downsample=block == 0)
            in_ch = width * 4
    return [*shapes, (1000, 2048), (1000,)]


def many_small_shapes(count: int = 1000, size: int = 4096) -> list[Shape]:
    """``count`` vectors of ``size`` values: where per-tensor overhead dominates."""
    return [(size,)] * count


def few_large_shapes(count: int = 4, size: int = 4 * 1024 * 1024) -> list[Shape]:
    """``count`` vectors of ``size`` values: where memory bandwidth dominates."""
    return [(size,)] * count


PARAM_SETS = {
    "resnet50": resnet50_shapes,
    "1000x4096": many_small_shapes,
    "4x4M": few_large_shapes,
}


def numel(shapes: list[Shape]) -> int:
    """How many values ``shapes`` hold together.

    Example:
        >>> numel(few_large_shapes())
        16777216
    """
    return sum(math.prod(s) for s in shapes)
