"""Shared fixtures: the real data folder, tiny networks."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
from torch import nn

REPO = Path(__file__).resolve().parents[1]


def data_root() -> Path | None:
    root = os.environ.get("ZCBENCH_DATA") or str(REPO.parent / "shared" / "data")
    return Path(root) if Path(root).is_dir() else None


@pytest.fixture
def real_data() -> Path:
    root = data_root()
    if root is None:
        pytest.skip("real data folder not found (set ZCBENCH_DATA)")
    return root


def tiny_cnn(num_classes: int = 10) -> nn.Module:
    """A small ReLU CNN with BatchNorm, pooling and a linear head."""
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU(),
        nn.Conv2d(8, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU(),
        nn.AvgPool2d(2), nn.Conv2d(8, 16, 1), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, num_classes))


@pytest.fixture
def tiny_batch():
    g = torch.Generator().manual_seed(0)
    return torch.randn(16, 3, 8, 8, generator=g), torch.randint(0, 10, (16,), generator=g)
