"""Re-initialisation that some proxies prescribe (Zen-NAS, AZ-NAS), applied to their own copy."""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.modules.conv import _ConvNd


def reinitialise_(net: nn.Module, weight_init: Callable[[torch.Tensor, torch.Generator | None], object],
                  generator: torch.Generator | None = None) -> nn.Module:
    """In place: conv/linear weights by `weight_init(weight, generator)`, their biases 0,
    BatchNorm/GroupNorm affine weight 1 and bias 0. Other parameters keep their values."""
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, (_ConvNd, nn.Linear)):
                weight_init(m.weight, generator)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, (_BatchNorm, nn.GroupNorm)) and m.weight is not None:
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
    return net
