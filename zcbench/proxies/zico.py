"""ZiCo (Li et al., ICLR 2023): inverse coefficient of variation of gradients."""
from __future__ import annotations

import math

import torch

from .base import Needs
from .probe import Probe
from .registry import proxy


def zico_from_gradients(per_batch: list[dict[str, torch.Tensor]]) -> float:
    """Sum over layers of log(sum over weights of mean|g| / std(g)), statistics across mini-batches.

    Weights whose gradient does not vary across mini-batches (std 0) are skipped,
    and so is a layer whose sum is 0, as in the paper's code.
    """
    sums = []
    for name in per_batch[0]:
        grads = torch.stack([g[name].reshape(-1) for g in per_batch]).double()
        std = grads.std(dim=0, unbiased=False)
        mean_abs = grads.abs().mean(dim=0)
        keep = std > 0
        sums.append((mean_abs[keep] / std[keep]).sum())
    total = 0.0
    for ratio in (torch.stack(sums).tolist() if sums else []):  # one read-back per network
        if ratio > 0:
            total += math.log(ratio)
    return total


@proxy("zico", needs=Needs(passes=frozenset({"split_gradients"}), labels=True),
       orientation="high mean / low spread of gradients across mini-batches = trains faster and generalises = predicted better")
def zico(probe: Probe, mini_batches: int = 2) -> float:
    """ZiCo with gradient statistics over `mini_batches` equal parts of the batch.

    The paper's code takes them from successive loader batches; cutting the one
    scoring batch keeps every proxy on the same images (default 2 parts of 32).
    """
    return zico_from_gradients(probe.split_gradients(mini_batches))
