"""BatchNorm as one sample sees it, usable at any map size.

Per-sample proxies (GradSign, L-SWAG's Lambda, MeCo) run each image as its own
batch of one, BatchNorm in train mode, as their authors' code does: BN then
normalises each channel over that image's positions. Where a sample's map has
a single position per channel (1x1 maps, or a BatchNorm1d on vectors: the
6-stage TransNAS-Bench-101 macro nets at 64 px end there), that statistic does
not exist (PyTorch: "Expected more than 1 value per channel") and the authors'
loop stops.

`use_sample_norm(net)` swaps every BatchNorm module of `net` (in place, so use
a copy) for a SampleBatchNorm that keeps the module's own weight and bias
parameters (same names) and:

- with more than one value per channel per sample: normalises each sample by
  its own statistics (instance normalisation = BN on a batch of one; bit for
  bit what the authors' batch-one loop computes, so NB201 scores do not move);
- with one value per channel per sample: normalises with the statistics of the
  whole batch at that layer (mean and biased variance over the samples, as BN
  in train mode over the batch would), recorded by one no-grad forward of the
  whole batch and then held fixed (constants, not differentiated through).
  That is BN's own train-mode statistic at the only place where a per-sample
  one is undefined, and it leaves every sample's forward independent of the
  others, which per-sample gradients need.

A forward of a single sample that reaches a 1x1 layer before the batch
statistics are recorded raises NeedBatchStatistics; the caller then runs
`record_batch_statistics` on the whole batch and tries again.
"""
from __future__ import annotations

import math
from collections import Counter

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from ..errors import ProxyFailure


class NeedBatchStatistics(RuntimeError):
    """A 1x1 BatchNorm was reached by a single sample before its batch statistics were recorded."""


class SampleNormState:
    """Batch statistics of the 1x1 layers, keyed by (module name, call index within one forward)."""

    def __init__(self) -> None:
        self.stats: dict[tuple[str, int], tuple[torch.Tensor, torch.Tensor]] = {}
        self.calls: Counter = Counter()
        self.recording = False

    def reset_calls(self, *_: object) -> None:
        self.calls.clear()


class SampleBatchNorm(nn.Module):
    """BatchNorm normalising per sample, or with recorded batch statistics where a sample has one value per channel."""

    def __init__(self, bn: _BatchNorm, name: str, state: SampleNormState):
        super().__init__()
        self.weight = bn.weight  # the same Parameter objects: names and values unchanged
        self.bias = bn.bias
        self.eps = bn.eps
        self.name = name
        self.state = state

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if math.prod(x.shape[2:]) > 1:  # each sample has its own statistics
            return F.instance_norm(x, None, None, self.weight, self.bias, True, 0.0, self.eps)
        key = (self.name, self.state.calls[self.name])
        self.state.calls[self.name] += 1
        if self.state.recording:
            if x.shape[0] < 2:
                raise ProxyFailure(f"BatchNorm {self.name!r} sees one value per channel: its batch statistics "
                                 f"need at least 2 samples, got {x.shape[0]}")
            dims = [0] + list(range(2, x.dim()))
            flat = x.detach()
            self.state.stats[key] = (flat.mean(dims), flat.var(dims, unbiased=False))
        if key not in self.state.stats:
            raise NeedBatchStatistics(f"BatchNorm {self.name!r} call {key[1]} has no recorded batch statistics")
        mean, var = self.state.stats[key]
        return F.batch_norm(x, mean, var, self.weight, self.bias, False, 0.0, self.eps)


def use_sample_norm(net: nn.Module) -> SampleNormState:
    """Replace every BatchNorm module of `net` (in place) by a SampleBatchNorm; returns their shared state."""
    state = SampleNormState()
    targets = [(name, m) for name, m in net.named_modules() if isinstance(m, _BatchNorm)]
    if isinstance(net, _BatchNorm):
        raise ValueError("the network itself is a BatchNorm module; wrap it in a container")
    for name, bn in targets:
        parent_name, _, child = name.rpartition(".")
        parent = net.get_submodule(parent_name) if parent_name else net
        setattr(parent, child, SampleBatchNorm(bn, name, state))
    net.register_forward_pre_hook(state.reset_calls)
    return state


def record_batch_statistics(net: nn.Module, state: SampleNormState, inputs: torch.Tensor) -> None:
    """One no-grad forward of the whole batch that records the batch statistics of the 1x1 layers."""
    state.recording = True
    try:
        with torch.no_grad():
            net(inputs)
    finally:
        state.recording = False
