"""The DARTS candidate operations (Liu et al., 2019), as the evaluation network builds them.

Every op maps C channels to C channels; stride 2 halves the resolution (the
reduction cell's ops on the cell inputs). `affine` is the BatchNorm affine flag
of the ops inside a cell (DARTS' evaluation network: True). `pool_bn` puts a
BatchNorm without affine parameters after the pooling ops, as NASLib's NB301
model does (DARTS' evaluation network has none).
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn


class ReLUConvBN(nn.Sequential):
    """ReLU -> Conv2d (no bias) -> BatchNorm2d; the cells' 1x1 preprocessing."""

    def __init__(self, c_in: int, c_out: int, kernel: int = 1, stride: int = 1, padding: int = 0,
                 affine: bool = True):
        super().__init__(nn.ReLU(inplace=False),
                         nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=padding, bias=False),
                         nn.BatchNorm2d(c_out, affine=affine))


class DilConv(nn.Sequential):
    """ReLU -> dilated depthwise conv -> pointwise conv -> BN (dil_conv_3x3 / 5x5)."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, padding: int, dilation: int,
                 affine: bool = True):
        super().__init__(nn.ReLU(inplace=False),
                         nn.Conv2d(c_in, c_in, kernel, stride=stride, padding=padding, dilation=dilation,
                                   groups=c_in, bias=False),
                         nn.Conv2d(c_in, c_out, 1, bias=False),
                         nn.BatchNorm2d(c_out, affine=affine))


class SepConv(nn.Sequential):
    """Two stacked depthwise-separable blocks; only the first carries the stride (sep_conv_*)."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, padding: int, affine: bool = True):
        super().__init__(DilConv(c_in, c_in, kernel, stride, padding, 1, affine),
                         DilConv(c_in, c_out, kernel, 1, padding, 1, affine))


class FactorizedReduce(nn.Module):
    """Stride-2 1x1 reduction: ReLU, two 1x1 convs on pixel grids offset by one, concat, BN."""

    def __init__(self, c_in: int, c_out: int, affine: bool = True):
        super().__init__()
        self.relu = nn.ReLU(inplace=False)
        self.conv_1 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, bias=False)
        self.conv_2 = nn.Conv2d(c_in, c_out - c_out // 2, 1, stride=2, bias=False)  # odd c_out: one more
        self.bn = nn.BatchNorm2d(c_out, affine=affine)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(x)
        return self.bn(torch.cat([self.conv_1(x), self.conv_2(x[:, :, 1:, 1:])], dim=1))


class Zero(nn.Module):
    """The 'none' op: zeros at the output resolution, kept in the graph (x * 0)."""

    def __init__(self, stride: int):
        super().__init__()
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, :, ::self.stride, ::self.stride].mul(0.0)


#: op name -> builder(C, stride, affine)
OP_BUILDERS: dict[str, Callable[[int, int, bool], nn.Module]] = {
    "none": lambda c, stride, affine: Zero(stride),
    "max_pool_3x3": lambda c, stride, affine: nn.MaxPool2d(3, stride=stride, padding=1),
    "avg_pool_3x3": lambda c, stride, affine: nn.AvgPool2d(3, stride=stride, padding=1,
                                                           count_include_pad=False),
    "skip_connect": lambda c, stride, affine: (nn.Identity() if stride == 1
                                               else FactorizedReduce(c, c, affine)),
    "sep_conv_3x3": lambda c, stride, affine: SepConv(c, c, 3, stride, 1, affine),
    "sep_conv_5x5": lambda c, stride, affine: SepConv(c, c, 5, stride, 2, affine),
    "dil_conv_3x3": lambda c, stride, affine: DilConv(c, c, 3, stride, 2, 2, affine),
    "dil_conv_5x5": lambda c, stride, affine: DilConv(c, c, 5, stride, 4, 2, affine),
}


POOL_OPS = frozenset({"max_pool_3x3", "avg_pool_3x3"})


def make_op(name: str, c: int, stride: int, affine: bool = True, pool_bn: bool = False) -> nn.Module:
    """The named DARTS op on C channels (names are validated by the genotype parser)."""
    op = OP_BUILDERS[name](c, stride, affine)
    if pool_bn and name in POOL_OPS:
        return nn.Sequential(op, nn.BatchNorm2d(c, affine=False))
    return op
