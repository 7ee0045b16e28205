"""GradSign (Zhang & Jia, ICLR 2022): agreement of per-sample gradient signs.

Definition, as in the authors' code (cmu-catalyst/GradSign,
``zero-cost-nas-code/foresight/pruners/measures/grad_conflict.py``, the measure
behind the paper's Spearman tables): every sample of the batch is its own batch
of one; for every weight w of every Conv2d/Linear layer (weights only, no
biases) take sign(dL_i/dw) per sample i, sum over samples, take the absolute
value, and sum over all weights (``np.nansum``). No normalisation: the
Spearman experiments read the ``sum`` results (an alternative script in the
same repository divides by the number of weights; that rescales each network
by its weight count and is not what the paper's tables use).

Per-sample gradients come from the shared Probe pass (torch.func, BatchNorm in
train mode on each single sample, as the original loop of batch-one backwards
with the network in train mode). sign(0) = 0, so weights whose gradient is
exactly zero (dead paths) add nothing.
"""
from __future__ import annotations

import torch

from ..errors import ProxyFailure
from .base import Needs
from .probe import Probe
from .reduce import total
from .registry import proxy


def gradsign_from_stats(stats) -> float:
    """Sum over layers and weights of |sum over samples of sign(g_i)| (NaN-safe, as nansum)."""
    return total(torch.nansum(s.sign_total.abs()) for s in stats.values())


@proxy("gradsign", needs=Needs(passes=frozenset({"per_sample_gradients"}), labels=True),
       orientation="per-sample gradients that agree in sign = samples share a local optimum "
                   "region = smaller training error bound (GradSign's argument) = predicted better")
def gradsign(probe: Probe) -> float:
    """GradSign: sum over Conv2d/Linear weights of |sum over samples of sign(dL_i/dw)|."""
    stats = probe.per_sample_gradients()
    if not stats:
        raise ProxyFailure("network has no Conv2d/Linear weights to read")
    return gradsign_from_stats(stats)
