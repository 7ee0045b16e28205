"""DARTS' CIFAR evaluation network (NetworkCIFAR) built from a Genotype.

Stem conv3x3 (stem_multiplier x C channels) + BN, then `layers` cells with
reduction cells at layers//3 and 2*layers//3 (channels double there), global
average pooling and a linear classifier. Each cell preprocesses its two
inputs to C channels (ReLU-conv1x1-BN, or FactorizedReduce when the previous
cell halved the resolution), computes its four nodes and concatenates them.
No drop path and no auxiliary head: networks are scored at initialisation, and
NAS-Bench-Suite-Zero's stored parameter counts leave the auxiliary head out.
"""
from __future__ import annotations

import torch
from torch import nn

from .darts_genotype import CONCAT, N_NODES, Cell, Genotype
from .darts_ops import FactorizedReduce, ReLUConvBN, make_op


class DartsCell(nn.Module):
    """One DARTS cell: node k = op(state[i]) + op(state[j]); output = concat of the 4 nodes."""

    def __init__(self, cell: Cell, c_prev_prev: int, c_prev: int, c: int, reduction: bool,
                 reduction_prev: bool, affine: bool = True, pool_bn: bool = False):
        super().__init__()
        self.preprocess0 = (FactorizedReduce(c_prev_prev, c) if reduction_prev
                            else ReLUConvBN(c_prev_prev, c))
        self.preprocess1 = ReLUConvBN(c_prev, c)
        self.reduction = reduction
        self.indices = tuple(index for _, index in cell)
        self.ops = nn.ModuleList(make_op(op, c, 2 if reduction and index < 2 else 1, affine, pool_bn)
                                 for op, index in cell)
        self.multiplier = len(CONCAT)

    def forward(self, s0: torch.Tensor, s1: torch.Tensor) -> torch.Tensor:
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        for k in range(N_NODES):
            a, b = 2 * k, 2 * k + 1
            states.append(self.ops[a](states[self.indices[a]]) + self.ops[b](states[self.indices[b]]))
        return torch.cat([states[i] for i in CONCAT], dim=1)


class NetworkCIFAR(nn.Module):
    """DARTS evaluation network. stem=False feeds the image to the first cell (as SWAP does).

    affine / pool_bn: BatchNorm flags of the cell ops (see darts_ops); DARTS' own
    network is affine=True, pool_bn=False, NASLib's NB301 model the opposite.
    """

    def __init__(self, genotype: Genotype, num_classes: int, channels: int = 32, layers: int = 8,
                 stem: bool = True, stem_multiplier: int = 3, affine: bool = True,
                 pool_bn: bool = False, in_channels: int = 3):
        super().__init__()
        if stem:
            c_stem = stem_multiplier * channels
            self.stem: nn.Module = nn.Sequential(nn.Conv2d(in_channels, c_stem, 3, padding=1, bias=False),
                                                 nn.BatchNorm2d(c_stem))
        else:
            c_stem = in_channels
            self.stem = nn.Identity()
        c_prev_prev, c_prev, c = c_stem, c_stem, channels
        reductions = {layers // 3, 2 * layers // 3}
        self.cells = nn.ModuleList()
        reduction_prev = False
        for i in range(layers):
            reduction = i in reductions
            if reduction:
                c *= 2
            cell = DartsCell(genotype.reduce if reduction else genotype.normal, c_prev_prev, c_prev, c,
                             reduction, reduction_prev, affine, pool_bn)
            self.cells.append(cell)
            reduction_prev = reduction
            c_prev_prev, c_prev = c_prev, cell.multiplier * c
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_prev, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s0 = s1 = self.stem(x)
        for cell in self.cells:
            s0, s1 = s1, cell(s0, s1)
        return self.classifier(torch.flatten(self.global_pooling(s1), 1))
