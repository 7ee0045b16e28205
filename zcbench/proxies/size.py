"""Model-size baselines: params and flops (no data, no gradients)."""
from __future__ import annotations

import math

import torch
from torch.utils.flop_counter import FlopCounterMode

from .probe import Probe
from .registry import proxy


@proxy("params", orientation="more parameters = larger model = predicted better (the baseline every proxy must beat)")
def params(probe: Probe) -> float:
    """Number of parameters (all tensors of the module, as NASLib counts them)."""
    return float(sum(p.numel() for p in probe.net.parameters()))


def _pool_flops(input_shape, kernel_size, *args, out_shape=None, **kwargs) -> int:
    """One operation per window element per output value (avg or max pooling)."""
    k = list(kernel_size) if isinstance(kernel_size, (list, tuple)) else [kernel_size]
    k = k * 2 if len(k) == 1 else k
    if isinstance(out_shape, tuple) and out_shape and isinstance(out_shape[0], (tuple, torch.Size)):
        out_shape = out_shape[0]  # max_pool2d_with_indices returns (values, indices)
    return math.prod(out_shape) * k[0] * k[1]


# keyed by overload packet, as FlopCounterMode looks them up
_EXTRA_FLOPS = {
    torch.ops.aten.avg_pool2d: _pool_flops,
    torch.ops.aten.max_pool2d_with_indices: _pool_flops,
}


@proxy("flops", orientation="more compute = larger model = predicted better")
def flops(probe: Probe) -> float:
    """Forward FLOPs of one input (batch 1), eval mode, from torch.utils.flop_counter.

    Convolutions and matrix products count 2 FLOPs per multiply-add (the
    flop_counter convention); pooling counts one per window element, so that
    pooling ops are not free (NAS-Bench-Suite-Zero counts them too).
    """
    return count_flops(probe.fresh_copy(), probe.inputs[:1])


def count_flops(net: torch.nn.Module, x: torch.Tensor) -> float:
    """Forward FLOPs of `net` on `x` in eval mode (flop_counter convention, pooling counted)."""
    was_training = net.training
    net.eval()
    counter = FlopCounterMode(display=False, custom_mapping=_EXTRA_FLOPS)
    with counter, torch.no_grad():
        net(x)
    net.train(was_training)
    return float(counter.get_total_flops())
