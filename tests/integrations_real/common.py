"""A tiny regression problem shared by the framework tests (deterministic data, no shuffling)."""

from __future__ import annotations

import torch
from torch.utils.data import DataLoader, TensorDataset

N, FEATURES, BATCH = 64, 4, 8


def dataset() -> TensorDataset:
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(N, FEATURES, generator=gen)
    y = x @ torch.tensor([[1.0], [-2.0], [0.5], [3.0]]) + 0.1 * torch.randn(N, 1, generator=gen)
    return TensorDataset(x, y)


def loader() -> DataLoader:
    return DataLoader(dataset(), batch_size=BATCH, shuffle=False)


def net() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(FEATURES, 8), torch.nn.LayerNorm(8), torch.nn.Linear(8, 1))


def full_loss(model: torch.nn.Module) -> float:
    x, y = dataset().tensors
    with torch.no_grad():
        return float(torch.nn.functional.mse_loss(model(x), y))


def state_equal(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    return all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values(), strict=True))
