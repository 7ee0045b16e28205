"""Sums of per-layer terms kept on the network's device, read back once per network.

A `.item()` per layer is a device-to-host copy and a synchronisation per layer on a GPU.
`total` stacks the 0-d terms where they live and adds them in float64, in order (a
cumulative sum, so on a CPU the result is bit-identical to Python's sum of the `.item()`s).
"""
from __future__ import annotations

from typing import Iterable

import torch


def total(terms: Iterable[torch.Tensor]) -> float:
    """Sum of 0-d tensors (any float dtype, one device), as one Python float."""
    values = [t.detach().double().reshape(()) for t in terms]
    if not values:
        return 0.0
    return float(torch.stack(values).cumsum(0)[-1].item())
