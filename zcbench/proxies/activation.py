"""Activation-pattern proxies: NASWOT and SWAP.

Both read the binary code of every ReLU/GELU unit over the batch (1 where the
unit's input is > 0), from one shared forward pass.
"""
from __future__ import annotations

import numpy as np
import torch

from ..errors import ProxyFailure
from .base import Needs
from .probe import Probe
from .registry import proxy

_CODES = Needs(passes=frozenset({"activation_codes"}))


def _packed_words(codes: np.ndarray) -> np.ndarray:
    """(batch, units) bool -> (batch, words) uint64, one bit per unit, zero-padded."""
    packed = np.packbits(codes, axis=1)
    pad = (-packed.shape[1]) % 8
    if pad:
        packed = np.pad(packed, ((0, 0), (0, pad)))
    return np.ascontiguousarray(packed).view(np.uint64)


def hamming_kernel(codes: list[tuple[str, torch.Tensor]]) -> np.ndarray:
    """K[i, j] = number of units on which samples i and j agree (both on or both off).

    This is c c^T + (1-c)(1-c)^T summed over layers, computed as
    units - Hamming distance with bit-packed codes and popcounts: exact, and
    far cheaper than float products over millions of units. Layers that read
    the same tensor (several ops on one cell node) share one computation.
    """
    batch = codes[0][1].shape[0]
    unique: dict[int, torch.Tensor] = {}
    times: dict[int, int] = {}
    for _, c in codes:
        unique.setdefault(id(c), c)
        times[id(c)] = times.get(id(c), 0) + 1
    host = torch.cat(list(unique.values()), dim=1).cpu().numpy()  # one device-to-host copy per network
    kernel = np.zeros((batch, batch), dtype=np.int64)
    start = 0
    for key, c in unique.items():
        words = _packed_words(host[:, start:start + c.shape[1]])
        start += c.shape[1]
        distance = np.zeros((batch, batch), dtype=np.int64)
        for i in range(batch):
            distance[i] = np.bitwise_count(words ^ words[i]).sum(axis=1, dtype=np.int64)
        kernel += times[key] * (c.shape[1] - distance)
    return kernel


@proxy("nwot", needs=_CODES,
       orientation="more distinct activation patterns across inputs = more expressive = predicted better")
def nwot(probe: Probe) -> float:
    """NASWOT (Mellor et al., 2021): log |det K| of the Hamming-agreement kernel over the batch."""
    codes = probe.activation_codes()
    if not codes:
        raise ProxyFailure("network has no ReLU/GELU units to read")
    sign, logdet = np.linalg.slogdet(hamming_kernel(codes).astype(np.float64))
    return float(logdet)


def distinct_columns(codes: list[tuple[str, torch.Tensor]], probe: Probe | None = None) -> int:
    """Number of distinct per-unit vectors (each unit's on/off pattern across the batch).

    Each unit's column of B bits is packed into ceil(B / 64) int64 words, so
    that the count is a sort of integers (one word per unit up to 64 samples).
    With a `probe`, the count of a given set of code tensors is memoised on it:
    swap, swap_reg and L-SWAG's Psi over every layer read the same number.
    """
    unique = {id(c): c for _, c in codes}  # layers reading one tensor add no new patterns
    if probe is None:
        return _count_distinct_columns(list(unique.values()))
    return probe.derived(("distinct_columns", frozenset(unique)),
                         lambda: _count_distinct_columns(list(unique.values())))


def _column_words(codes: torch.Tensor) -> torch.Tensor:
    """(batch, units) bool -> (units, ceil(batch / 64)) int64: bit b of word j = sample 64 j + b."""
    words = []
    for first in range(0, codes.shape[0], 64):
        word = torch.zeros(codes.shape[1], dtype=torch.int64, device=codes.device)
        for b, row in enumerate(codes[first:first + 64]):
            word |= row.to(torch.int64) << b  # bit 63 is the sign bit: still one distinct word per pattern
        words.append(word)
    return torch.stack(words, dim=1)


def _count_distinct_columns(tensors: list[torch.Tensor]) -> int:
    words = torch.cat([_column_words(c) for c in tensors], dim=0)
    if words.shape[1] == 1:
        return int(torch.unique(words[:, 0]).numel())
    return int(torch.unique(words, dim=0).shape[0])


@proxy("swap", needs=_CODES,
       orientation="more distinct sample-wise activation patterns = more expressive = predicted better")
def swap(probe: Probe) -> float:
    """SWAP (Peng et al., 2024): number of distinct sample-wise activation patterns.

    Over every ReLU/GELU unit of the network, the unit's binary vector across the
    S samples of the batch; the score is how many distinct vectors there are.
    """
    codes = probe.activation_codes()
    if not codes:
        raise ProxyFailure("network has no ReLU/GELU units to read")
    return float(distinct_columns(codes, probe))
