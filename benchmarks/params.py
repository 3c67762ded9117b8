"""The parameter sets the benchmarks run on, with gradients to match."""

from __future__ import annotations

import torch
from shapes import resnet50_shapes

PARAM_SETS = {
    "resnet50": resnet50_shapes,
    "small1000": lambda: [(4096,)] * 1000,
    "large4": lambda: [(1 << 22,)] * 4,
    "mid20": lambda: [(384, 240)] * 20,  # 20 mid-size tensors, 1.84M values
}


def shapes_of(name: str) -> list[tuple[int, ...]]:
    """The shapes of parameter set ``name`` (one of :data:`PARAM_SETS`)."""
    return [tuple(s) for s in PARAM_SETS[name]()]


def numel_of(name: str) -> int:
    """How many values parameter set ``name`` holds."""
    return sum(torch.Size(s).numel() for s in shapes_of(name))


def make_params(name: str, device: torch.device, seed: int = 0) -> list[torch.nn.Parameter]:
    """Fresh random parameters of set ``name`` (float32) on ``device``."""
    gen = torch.Generator().manual_seed(seed)
    return [torch.nn.Parameter((torch.randn(s, generator=gen) * 0.02).to(device)) for s in shapes_of(name)]


def make_grads(params: list[torch.nn.Parameter], scale: float = 1.0, seed: int = 1) -> list[torch.Tensor]:
    """Random gradients shaped like ``params``, multiplied by ``scale`` (a loss scale)."""
    gen = torch.Generator().manual_seed(seed)
    return [(torch.randn(p.shape, generator=gen) * (0.01 * scale)).to(p.device) for p in params]


class ParamModule(torch.nn.Module):
    """A module whose parameters are exactly ``params`` (names ``params.0``, ``params.1``, ...)."""

    def __init__(self, params: list[torch.nn.Parameter]):
        super().__init__()
        self.params = torch.nn.ParameterList(params)


def set_grads(params: list[torch.nn.Parameter], grads: list[torch.Tensor], copy: bool) -> None:
    """Point each ``p.grad`` at its gradient, or copy into the existing ``.grad`` when ``copy``."""
    if copy and all(p.grad is not None for p in params):
        torch._foreach_copy_([p.grad for p in params], grads)
        return
    for p, g in zip(params, grads, strict=True):
        p.grad = g.clone() if copy else g
