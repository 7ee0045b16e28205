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

Version 2: BatchNorm-ended networks (NB301, TransNAS-Bench-101) and networks
with a map of one value per channel take their per-sample gradients with the
batch's BN statistics held fixed (sample_norm.py). Per-sample statistics made
their logits the classifier's bias for every input, so version 1 summed the
signs of round-off (|g| ~ 1e-9; 20% of TNB macro archs at 64 px failed). NB201
and NB101 values are unchanged (same computation, bit for bit).

Size. The score is a sum over weights, so it is the weight count times the
mean |sum of signs| per weight. At initialisation that mean stays near the
value of independent random signs, sqrt(2N/pi) (6.4 for N = 64): 6.36-6.82 on
100 NB101 archs, whose weight counts span 58x. So gradsign ranks like the
parameter count there (Spearman 0.9998; the per-weight agreement alone
correlates -0.75 with accuracy). That is the definition, not a bug: the
authors' batch-one loop gives the same values (relative difference 1e-4 on
NB101 archs, 0 on NB201).
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


@proxy("gradsign", needs=Needs(passes=frozenset({"per_sample_gradients"}), labels=True), version="2",
       orientation="per-sample gradients that agree in sign = samples share a local optimum "
                   "region = smaller training error bound (GradSign's argument) = predicted better")
def gradsign(probe: Probe) -> float:
    """GradSign: sum over Conv2d/Linear weights of |sum over samples of sign(dL_i/dw)|."""
    stats = probe.per_sample_gradients()
    if not stats:
        raise ProxyFailure("network has no Conv2d/Linear weights to read")
    return gradsign_from_stats(stats)
