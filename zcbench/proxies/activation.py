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


def hamming_kernel(codes: list[tuple[str, torch.Tensor]]) -> torch.Tensor:
    """K[i, j] = number of units on which samples i and j agree (both on or both off).

    Uses c c^T + (1-c)(1-c)^T = 2 c c^T + U - n_i - n_j (n_i = active units of
    sample i) so that each layer costs a single matrix product.
    """
    batch = codes[0][1].shape[0]
    kernel = torch.zeros(batch, batch, dtype=torch.float64, device=codes[0][1].device)
    for _, c in codes:
        c = c.float()
        active = c.sum(1, dtype=torch.float64)
        kernel += 2 * (c @ c.T).double() + c.shape[1] - active[:, None] - active[None, :]
    return kernel


@proxy("nwot", needs=_CODES,
       orientation="more distinct activation patterns across inputs = more expressive = predicted better")
def nwot(probe: Probe) -> float:
    """NASWOT (Mellor et al., 2021): log |det K| of the Hamming-agreement kernel over the batch."""
    codes = probe.activation_codes()
    if not codes:
        raise ValueError("network has no ReLU/GELU units to read")
    sign, logdet = torch.linalg.slogdet(hamming_kernel(codes).cpu())
    return float(logdet)


def distinct_columns(codes: list[tuple[str, torch.Tensor]]) -> int:
    """Number of distinct per-unit vectors (each unit's on/off pattern across the batch)."""
    packed = [np.packbits(c.cpu().numpy(), axis=0).T for _, c in codes]  # (units, ceil(B/8)) uint8
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
