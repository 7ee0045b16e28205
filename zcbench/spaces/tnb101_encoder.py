"""TransNAS-Bench-101's shared encoder: a ResNet-like backbone for micro and macro archs.

Both spaces use the same skeleton (TNB's ``MacroNet`` in ``structure='backbone'``
mode): a stem that divides the resolution by 4 and reaches 64 channels, then one
residual layer of two blocks per macro digit. A layer of type 2/4 doubles the
channels, 3/4 has stride 2 in its first block. Micro archs fix the skeleton to
``41414`` and use their searched 4-node cell as block; macro archs use ResNet basic
blocks. Convs get Kaiming (fan_out, ReLU) initialisation and BatchNorm unit
scale, as in the benchmark.
"""
from __future__ import annotations

import torch
from torch import nn

from .tnb101_encoding import MICRO_EDGES

BLOCKS_PER_LAYER = 2


class ReLUConvBN(nn.Sequential):
    """ReLU -> Conv2d (no bias) -> BatchNorm2d."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int):
        super().__init__(nn.ReLU(inplace=False),
                         nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=kernel // 2, bias=False),
                         nn.BatchNorm2d(c_out))


class Zero(nn.Module):
    """The 'none' op: zeros of the output shape, still attached to the graph when shapes agree."""

    def __init__(self, c_in: int, c_out: int, stride: int):
        super().__init__()
        self.c_in, self.c_out, self.stride = c_in, c_out, stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.c_in == self.c_out:
            return x[:, :, ::self.stride, ::self.stride].mul(0.0)
        b, _, h, w = x.shape
        return x.new_zeros(b, self.c_out, (h + 1) // self.stride, (w + 1) // self.stride)


class FactorizedReduce(nn.Module):
    """Skip connection across a stride/channel change: two offset 1x1 convs, concatenated, BN."""

    def __init__(self, c_in: int, c_out: int, stride: int):
        super().__init__()
        self.relu = nn.ReLU(inplace=False)
        self.conv_a = nn.Conv2d(c_in, c_out // 2, 1, stride=stride, bias=False)
        self.conv_b = nn.Conv2d(c_in, c_out - c_out // 2, 1, stride=stride, bias=False)
        self.bn = nn.BatchNorm2d(c_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(x)
        shifted = nn.functional.pad(x, (0, 1, 0, 1))[:, :, 1:, 1:]
        return self.bn(torch.cat([self.conv_a(x), self.conv_b(shifted)], dim=1))


def micro_op(code: int, c_in: int, c_out: int, stride: int) -> nn.Module:
    """One cell edge: 0 none, 1 skip (factorized reduce when the shape changes), 2 conv1x1, 3 conv3x3."""
    if code == 0:
        return Zero(c_in, c_out, stride)
    if code == 1:
        return nn.Identity() if stride == 1 and c_in == c_out else FactorizedReduce(c_in, c_out, stride)
    if code in (2, 3):
        return ReLUConvBN(c_in, c_out, 1 if code == 2 else 3, stride)
    raise ValueError(f"micro op code {code!r}; valid codes: 0 none, 1 skip_connect, 2 conv1x1, 3 conv3x3")


class MicroCell(nn.Module):
    """Node j = sum over i < j of edge_{i->j}(node i); output = node 3.

    Edges leaving the input node carry the block's stride and channel change.
    """

    def __init__(self, ops: tuple[int, ...], c_in: int, c_out: int, stride: int):
        super().__init__()
        self.edges = nn.ModuleDict({
            f"{a}_{b}": micro_op(o, c_in, c_out, stride) if a == 0 else micro_op(o, c_out, c_out, 1)
            for (a, b), o in zip(MICRO_EDGES, ops)})

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nodes = [x]
        for j in range(1, 4):
            nodes.append(sum(self.edges[f"{i}_{j}"](nodes[i]) for i in range(j)))
        return nodes[-1]


class BasicBlock(nn.Module):
    """ResNet basic block: two ReLU-conv3x3-BN, with a 1x1 conv + BN shortcut when the shape changes."""

    def __init__(self, c_in: int, c_out: int, stride: int):
        super().__init__()
        self.conv_a = ReLUConvBN(c_in, c_out, 3, stride)
        self.conv_b = ReLUConvBN(c_out, c_out, 3, 1)
        self.downsample = None
        if stride != 1 or c_in != c_out:
            self.downsample = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False),
                                            nn.BatchNorm2d(c_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x if self.downsample is None else self.downsample(x)
        return shortcut + self.conv_b(self.conv_a(x))


class Encoder(nn.Module):
    """Stem (stride 4, 64 channels) + one two-block residual layer per layer code.

    ``cell_ops`` = the micro cell's six op digits, or None for ResNet basic blocks.
    ``out_channels`` and ``reduction`` (total stride) describe the feature map.
    """

    def __init__(self, layer_codes: tuple[int, ...], cell_ops: tuple[int, ...] | None, base: int = 64):
        super().__init__()
        self.cell_ops = cell_ops
        self.stem = nn.Sequential(
            nn.Conv2d(3, base // 2, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(base // 2),
            ReLUConvBN(base // 2, base, 3, 2))
        layers, c, self.reduction = [], base, 4
        for code in layer_codes:
            c_out = 2 * c if code in (2, 4) else c
            stride = 2 if code in (3, 4) else 1
            blocks = []
            for k in range(BLOCKS_PER_LAYER):
                c_in, s = (c, stride) if k == 0 else (c_out, 1)
                blocks.append(BasicBlock(c_in, c_out, s) if cell_ops is None else MicroCell(cell_ops, c_in, c_out, s))
            layers.append(nn.Sequential(*blocks))
            c, self.reduction = c_out, self.reduction * stride
        self.layers = nn.Sequential(*layers)
        self.out_channels = c
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(self.stem(x))
