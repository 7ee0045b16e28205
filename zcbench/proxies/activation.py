"""Activation-pattern proxies: NASWOT and SWAP.

Both read the binary code of every ReLU/GELU unit over the batch (1 where the
unit's input is > 0), from one shared forward pass.
"""
from __future__ import annotations

import numpy as np
import torch

from .base import Needs
from .probe import Probe
from .registry import proxy

_CODES = Needs(passes=frozenset({"activation_codes"}))


def _packed_words(codes: torch.Tensor) -> np.ndarray:
    """(batch, units) bool -> (batch, words) uint64, one bit per unit, zero-padded."""
    packed = np.packbits(codes.cpu().numpy(), axis=1)
    pad = (-packed.shape[1]) % 8
    if pad:
        packed = np.pad(packed, ((0, 0), (0, pad)))
    return packed.view(np.uint64)


def hamming_kernel(codes: list[tuple[str, torch.Tensor]]) -> np.ndarray:
    """K[i, j] = number of units on which samples i and j agree (both on or both off).

    This is c c^T + (1-c)(1-c)^T summed over layers, computed as
    units - Hamming distance with bit-packed codes and popcounts: exact, and
    far cheaper than float products over millions of units. Layers that read
    the same tensor (several ops on one cell node) share one computation.
    """
    batch = codes[0][1].shape[0]
    kernel = np.zeros((batch, batch), dtype=np.int64)
    seen: dict[int, np.ndarray] = {}
    for _, c in codes:
        if id(c) not in seen:
            words = _packed_words(c)
            distance = np.zeros((batch, batch), dtype=np.int64)
            for i in range(batch):
                distance[i] = np.bitwise_count(words ^ words[i]).sum(axis=1, dtype=np.int64)
            seen[id(c)] = c.shape[1] - distance
        kernel += seen[id(c)]
    return kernel


@proxy("nwot", needs=_CODES,
       orientation="more distinct activation patterns across inputs = more expressive = predicted better")
def nwot(probe: Probe) -> float:
    """NASWOT (Mellor et al., 2021): log |det K| of the Hamming-agreement kernel over the batch."""
    codes = probe.activation_codes()
    if not codes:
        raise ValueError("network has no ReLU/GELU units to read")
    sign, logdet = np.linalg.slogdet(hamming_kernel(codes).astype(np.float64))
    return float(logdet)


def distinct_columns(codes: list[tuple[str, torch.Tensor]]) -> int:
    """Number of distinct per-unit vectors (each unit's on/off pattern across the batch)."""
    unique = {id(c): c for _, c in codes}.values()  # layers reading one tensor add no new patterns
    packed = [np.packbits(c.cpu().numpy(), axis=0).T for c in unique]  # (units, ceil(B/8)) uint8
    rows = np.ascontiguousarray(np.concatenate(packed, axis=0))
    as_void = rows.view(np.dtype((np.void, rows.shape[1])))
    return int(np.unique(as_void).shape[0])


@proxy("swap", needs=_CODES,
       orientation="more distinct sample-wise activation patterns = more expressive = predicted better")
def swap(probe: Probe) -> float:
    """SWAP (Peng et al., 2024): number of distinct sample-wise activation patterns.

    Over every ReLU/GELU unit of the network, the unit's binary vector across the
    S samples of the batch; the score is how many distinct vectors there are.
    """
    codes = probe.activation_codes()
    if not codes:
        raise ValueError("network has no ReLU/GELU units to read")
    return float(distinct_columns(codes))
