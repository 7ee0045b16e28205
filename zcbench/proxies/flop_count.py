"""Forward FLOP counting with torch.utils.flop_counter, pooling ops counted too.

Its own module so that the Probe (which memoises the count for the proxies
that read it: flops, az_complexity) and size.py can both use it.
"""
from __future__ import annotations

import math

import torch
from torch.utils.flop_counter import FlopCounterMode


def _pool_flops(input_shape, kernel_size, *args, out_shape=None, **kwargs) -> int:
    """One operation per window element per output value (avg or max pooling)."""
    k = list(kernel_size) if isinstance(kernel_size, (list, tuple)) else [kernel_size]
    k = k * 2 if len(k) == 1 else k
    if isinstance(out_shape, tuple) and out_shape and isinstance(out_shape[0], (tuple, torch.Size)):
        out_shape = out_shape[0]  # max_pool2d_with_indices returns (values, indices)
    return math.prod(out_shape) * k[0] * k[1]


# keyed by overload packet, as FlopCounterMode looks them up
EXTRA_FLOPS = {
    torch.ops.aten.avg_pool2d: _pool_flops,
    torch.ops.aten.max_pool2d_with_indices: _pool_flops,
}


def count_flops(net: torch.nn.Module, x: torch.Tensor) -> float:
    """Forward FLOPs of `net` on `x` in eval mode (flop_counter convention, pooling counted).

    Every module's train/eval mode is restored afterwards; an eval-mode forward
    without autograd changes no parameter or buffer.
    """
    modes = [(m, m.training) for m in net.modules()]
    net.eval()
    counter = FlopCounterMode(display=False, custom_mapping=EXTRA_FLOPS)
    try:
        with counter, torch.no_grad():
            net(x)
    finally:
        for m, mode in modes:
            m.training = mode
    return float(counter.get_total_flops())
