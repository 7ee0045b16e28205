"""The NAS-Bench-101 network, as the benchmark trained it (nasbench model_builder.py).

Stem conv3x3-bn-relu (128 channels), 3 stacks of 3 cells, a 2x2 max-pool with
channel doubling before stacks 2 and 3, global average pooling, one linear
layer. Inside a cell, the output channels are split among the vertices that
feed the output (concatenated there); other vertices take the largest channel
count of the vertices they feed; the cell input reaches a vertex through a 1x1
conv-bn-relu projection, and interior inputs are truncated to the receiving
vertex's channels. BatchNorm uses NB101's TF settings: momentum 0.997 (torch
momentum 0.003) and epsilon 1e-5.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from .nb101_spec import CONV1X1, CONV3X3, MAXPOOL3X3, Cell101

STEM_CHANNELS = 128
NUM_STACKS = 3
CELLS_PER_STACK = 3
BN_MOMENTUM = 1.0 - 0.997  # TF's decay 0.997 is torch momentum 0.003
BN_EPS = 1e-5
#: Weight initialisations: "nb101" = the TF initialisers NB101 trained from;
#: "naslib" = NASLib's PyTorch port (the one NAS-Bench-Suite-Zero scored).
INITS = ("nb101", "naslib")


class ConvBnRelu(nn.Sequential):
    """Conv2d ('same' padding, no bias) -> BatchNorm2d -> ReLU."""

    def __init__(self, c_in: int, c_out: int, kernel: int):
        super().__init__(
            nn.Conv2d(c_in, c_out, kernel, padding=kernel // 2, bias=False),
            nn.BatchNorm2d(c_out, momentum=BN_MOMENTUM, eps=BN_EPS),
            nn.ReLU(inplace=False),
        )


def vertex_channels(c_in: int, c_out: int, matrix: tuple[tuple[int, ...], ...]) -> list[int]:
    """Output channels of every vertex (NB101's compute_vertex_channels rule)."""
    n = len(matrix)
    channels = [0] * n
    channels[0], channels[-1] = c_in, c_out
    if n == 2:
        return channels
    feeders = [v for v in range(1, n - 1) if matrix[v][n - 1]]
    base, extra = divmod(c_out, len(feeders))
    for k, v in enumerate(feeders):  # the first `extra` feeders get one channel more
        channels[v] = base + (1 if k < extra else 0)
    for v in range(n - 3, 0, -1):
        if not matrix[v][n - 1]:
            channels[v] = max(channels[w] for w in range(v + 1, n - 1) if matrix[v][w])
    return channels


def _op(name: str, channels: int) -> nn.Module:
    if name == CONV3X3:
        return ConvBnRelu(channels, channels, 3)
    if name == CONV1X1:
        return ConvBnRelu(channels, channels, 1)
    if name == MAXPOOL3X3:
        return nn.MaxPool2d(3, stride=1, padding=1)
    raise ValueError(f"unknown nb101 op {name!r}")


class NB101Cell(nn.Module):
    """One NB101 module: vertices summed, output concatenated (+ projected input)."""

    def __init__(self, cell: Cell101, c_in: int, c_out: int):
        super().__init__()
        self.matrix, n = cell.matrix, cell.num_vertices
        self.channels = vertex_channels(c_in, c_out, cell.matrix)
        # one dict in forward order: vertex t's input projection "in<t>", then its op "op<t>"
        self.nodes = nn.ModuleDict()
        for t in range(1, n):
            if cell.matrix[0][t]:
                self.nodes[f"in{t}"] = ConvBnRelu(c_in, self.channels[t], 1)
            if t < n - 1:
                self.nodes[f"op{t}"] = _op(cell.ops[t], self.channels[t])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, m = len(self.matrix), self.matrix
        values = [x]
        for t in range(1, n - 1):
            fan_in = [values[s][:, : self.channels[t]] for s in range(1, t) if m[s][t]]
            if m[0][t]:
                fan_in.append(self.nodes[f"in{t}"](x))
            values.append(self.nodes[f"op{t}"](sum(fan_in[1:], fan_in[0])))
        concat = [values[t] for t in range(1, n - 1) if m[t][n - 1]]
        if not concat:  # input -> output only
            return self.nodes[f"in{n - 1}"](x)
        out = concat[0] if len(concat) == 1 else torch.cat(concat, dim=1)
        if m[0][n - 1]:
            out = out + self.nodes[f"in{n - 1}"](x)
        return out


class NB101Network(nn.Module):
    """Stem, 3 stacks of 3 cells with max-pool downsampling, global pool, linear head."""

    def __init__(self, cell: Cell101, num_classes: int, init: str = "nb101"):
        super().__init__()
        if init not in INITS:
            raise ValueError(f"init={init!r}; valid inits: {', '.join(INITS)}")
        c = STEM_CHANNELS
        self.stem = ConvBnRelu(3, c, 3)
        layers: list[nn.Module] = []
        c_in = c
        for stack in range(NUM_STACKS):
            if stack:
                layers.append(nn.MaxPool2d(2, stride=2))
                c *= 2
            for _ in range(CELLS_PER_STACK):
                layers.append(NB101Cell(cell, c_in, c))
                c_in = c
        self.layers = nn.Sequential(*layers)
        self.classifier = nn.Linear(c, num_classes)
        (_init_nb101 if init == "nb101" else _init_naslib)(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.layers(self.stem(x))
        return self.classifier(x.mean(dim=(2, 3)))


def _init_nb101(net: nn.Module) -> None:
    """TF initialisers of NB101: convs variance-scaling (fan_in, truncated normal),
    dense Glorot-uniform with zero bias, BN gamma 1 / beta 0."""
    for m in net.modules():
        if isinstance(m, nn.Conv2d):
            fan_in = m.in_channels * m.kernel_size[0] * m.kernel_size[1]
            std = math.sqrt(1.0 / fan_in) / 0.87962566103423978  # TF's truncation correction
            nn.init.trunc_normal_(m.weight, 0.0, std, -2 * std, 2 * std)
        elif isinstance(m, nn.Linear):
            nn.init.xavier_uniform_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


def _init_naslib(net: nn.Module) -> None:
    """NASLib's NB101 port: convs N(0, 2/(k*k*c_out)), linear N(0, 0.01^2), zero biases."""
    for m in net.modules():
        if isinstance(m, nn.Conv2d):
            n = m.kernel_size[0] * m.kernel_size[1] * m.out_channels
            nn.init.normal_(m.weight, 0.0, math.sqrt(2.0 / n))
        elif isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0.0, 0.01)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


def parameter_count(cell: Cell101, num_classes: int = 10) -> int:
    """Trainable parameters of the NB101 network of `cell`, from the channel rules alone.

    Counts what NB101Network builds without building it (conv k*k*c_in*c_out,
    BN 2*c, dense (c+1)*classes), so a whole benchmark file can be checked in
    milliseconds; the tests check it against built networks.
    """
    def conv_bn(c_in: int, c_out: int, k: int) -> int:
        return k * k * c_in * c_out + 2 * c_out

    n, m = cell.num_vertices, cell.matrix
    total, c_in, c = conv_bn(3, STEM_CHANNELS, 3), STEM_CHANNELS, STEM_CHANNELS
    for stack in range(NUM_STACKS):
        c = c * 2 if stack else c
        for _ in range(CELLS_PER_STACK):
            ch = vertex_channels(c_in, c, m)
            total += sum(conv_bn(c_in, ch[t], 1) for t in range(1, n) if m[0][t])
            total += sum(conv_bn(ch[t], ch[t], 3 if op == CONV3X3 else 1)
                         for t, op in enumerate(cell.ops) if op in (CONV3X3, CONV1X1))
            c_in = c
    return total + (c + 1) * num_classes
