"""Model-size baselines: params and flops (no data, no gradients)."""
from __future__ import annotations

from .base import Needs
from .flop_count import count_flops  # noqa: F401  (re-exported: spaces' tests count FLOPs with it)
from .probe import Probe
from .registry import proxy


@proxy("params", needs=Needs(inputs="none"), orientation="more parameters = larger model = predicted better (the baseline every proxy must beat)")
def params(probe: Probe) -> float:
    """Number of parameters (all tensors of the module, as NASLib counts them)."""
    return float(sum(p.numel() for p in probe.net.parameters()))


@proxy("flops", needs=Needs(passes=frozenset({"forward_flops"}), inputs="shape"),
       orientation="more compute = larger model = predicted better")
def flops(probe: Probe) -> float:
    """Forward FLOPs of one input (batch 1), eval mode, from torch.utils.flop_counter.

    Convolutions and matrix products count 2 FLOPs per multiply-add (the
    flop_counter convention); pooling counts one per window element, so that
    pooling ops are not free (NAS-Bench-Suite-Zero counts them too). The count
    is the probe's forward_flops pass, shared with az_complexity.
    """
    return probe.forward_flops()
