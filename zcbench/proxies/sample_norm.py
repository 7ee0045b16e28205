"""BatchNorm as one sample sees it: per-sample statistics, or the batch's held fixed.

Per-sample proxies (GradSign, L-SWAG's Lambda, MeCo) run each image as its own
batch of one, BatchNorm in train mode, as their authors' code does: BN then
normalises each channel over that image's positions. Two kinds of network
break that:

- A map with one value per channel per sample (1x1 maps, or a BatchNorm1d on
  vectors: the 6-stage TransNAS-Bench-101 macro nets at 64 px reach them): the
  statistic does not exist (PyTorch: "Expected more than 1 value per
  channel") and the authors' loop stops.
- BatchNorm-ended networks (every tensor reaching the global pooling is a sum
  of BN outputs: NASLib's NB301 with BN after pooling, all of TransNAS-Bench-
  101 micro and macro): normalised over its own positions, every channel of a
  sample has mean exactly 0 (BN's shift is 0 at init), so the pooled features
  are 0 and the logits equal the classifier's bias for every input. The loss
  then does not depend on any weight: the "per-sample gradients" are
  round-off (|g| ~ 1e-9 where batch statistics give ~1e-3; the logits differ
  across samples by 1e-6 of their size) and GradSign counts the signs of that
  noise, L-SWAG's Lambda its variance.

`use_sample_norm(net)` swaps every BatchNorm module of `net` (in place, so use a
copy) for a SampleBatchNorm that keeps the module's own weight and bias
parameters (same names, so functional_call and the scored layers see no
change). Its `state.mode`:

- "sample": each sample normalised by its own statistics (instance
  normalisation = BN on a batch of one; bit for bit what the authors' batch-one
  loop computes). A one-value-per-channel layer uses recorded batch statistics
  if there are any (MeCo's 1x1 layers), else raises NeedBatchStatistics.
- "record_1x1": as "sample", and a one-value-per-channel layer records and uses
  the statistics of the batch at that layer.
- "record": BN over the whole batch (train mode), recording each layer's mean
  and biased variance.
- "batch": every layer normalises with the recorded batch statistics, held
  fixed (constants, not differentiated through): the per-sample gradient of the
  batch-trained network, and every sample's forward independent of the others.

`choose_per_sample_statistics` picks "batch" for BatchNorm-ended networks, told
by the mean output over a batch not depending on the inputs under batch
statistics (two halves of the batch give the same mean: it is fixed by BN's
shifts and the classifier's bias), which holds whatever the map sizes, so a
TNB macro net with 1x1 maps is treated like its siblings; "sample" elsewhere
(NB201, NB101: values unchanged, bit for bit), with batch statistics at the
one-value-per-channel layers only where such a network has them (decoders
through a 1x1 bottleneck; the layer's own statistic does not exist).
"""
from __future__ import annotations

import math
from collections import Counter

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from ..errors import ProxyFailure

MODES = ("sample", "record_1x1", "record", "batch")
#: mean outputs of two half-batches that differ by less than this fraction of the outputs' size are the
#: same (BN-ended nets: round-off, ~1e-7; NB201 / NB101 nets: 1e-2 and more)
CONSTANT_RTOL = 1e-4


class NeedBatchStatistics(RuntimeError):
    """A BatchNorm with one value per channel per sample was reached with no batch statistics recorded."""


class SampleNormState:
    """Mode and recorded batch statistics, keyed by (module name, call index within one forward)."""

    def __init__(self) -> None:
        self.stats: dict[tuple[str, int], tuple[torch.Tensor, torch.Tensor]] = {}
        self.calls: Counter = Counter()
        self.mode = "sample"

    def reset_calls(self, *_: object) -> None:
        self.calls.clear()


class SampleBatchNorm(nn.Module):
    """BatchNorm with per-sample or recorded batch statistics (see the module notes)."""

    def __init__(self, bn: _BatchNorm, name: str, state: SampleNormState):
        super().__init__()
        self.weight = bn.weight  # the same Parameter objects: names and values unchanged
        self.bias = bn.bias
        self.eps = bn.eps
        self.name = name
        self.state = state

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        key = (self.name, self.state.calls[self.name])
        self.state.calls[self.name] += 1
        mode = self.state.mode
        one_value = math.prod(x.shape[2:]) == 1
        if mode in ("sample", "record_1x1") and not one_value:  # each sample has its own statistics
            return F.instance_norm(x, None, None, self.weight, self.bias, True, 0.0, self.eps)
        if mode == "record" or (mode == "record_1x1" and one_value):
            if x.shape[0] < 2:
                raise ProxyFailure(f"BatchNorm {self.name!r}: batch statistics need at least 2 samples, "
                                   f"got {x.shape[0]}")
            dims = [0] + list(range(2, x.dim()))
            flat = x.detach()
            self.state.stats[key] = (flat.mean(dims), flat.var(dims, unbiased=False))
        if key not in self.state.stats:
            raise NeedBatchStatistics(f"BatchNorm {self.name!r} call {key[1]} has no recorded batch statistics")
        mean, var = self.state.stats[key]
        return F.batch_norm(x, mean, var, self.weight, self.bias, False, 0.0, self.eps)


def use_sample_norm(net: nn.Module) -> SampleNormState:
    """Replace every BatchNorm module of `net` (in place) by a SampleBatchNorm; returns their shared state."""
    if isinstance(net, _BatchNorm):
        raise TypeError("the network itself is a BatchNorm module; wrap it in a container")
    state = SampleNormState()
    for name, bn in [(n, m) for n, m in net.named_modules() if isinstance(m, _BatchNorm)]:
        parent_name, _, child = name.rpartition(".")
        parent = net.get_submodule(parent_name) if parent_name else net
        setattr(parent, child, SampleBatchNorm(bn, name, state))
    net.register_forward_pre_hook(state.reset_calls)
    return state


def forward_in_mode(net: nn.Module, state: SampleNormState, inputs: torch.Tensor, mode: str):
    """One no-grad forward of `net` on `inputs` with the SampleBatchNorm layers in `mode`; its output."""
    if mode not in MODES:
        raise ValueError(f"mode={mode!r}; valid modes: {', '.join(MODES)}")
    previous, state.mode = state.mode, mode
    try:
        with torch.no_grad():
            return net(inputs)
    finally:
        state.mode = previous


def _first_tensor(out: object) -> torch.Tensor:
    return out if isinstance(out, torch.Tensor) else next(t for t in out if isinstance(t, torch.Tensor))


def batch_mean_fixed(net: nn.Module, state: SampleNormState, inputs: torch.Tensor,
                     rtol: float = CONSTANT_RTOL) -> bool:
    """Whether, under batch statistics, the mean output over a batch does not depend on the inputs
    (the two halves of `inputs` give the same mean): the BatchNorm-ended networks."""
    half = inputs.shape[0] // 2
    first = _first_tensor(forward_in_mode(net, state, inputs[:half], "record")).detach().double()
    second = _first_tensor(forward_in_mode(net, state, inputs[half:2 * half], "record")).detach().double()
    state.stats.clear()
    size = torch.maximum(first.abs().max(), second.abs().max())
    return bool((first.mean(0) - second.mean(0)).abs().max() <= rtol * size)


def choose_per_sample_statistics(net: nn.Module, state: SampleNormState, inputs: torch.Tensor) -> str:
    """Set up and return the BN statistics of per-sample gradients (see the module notes):

    "batch" for BatchNorm-ended networks (their per-sample output under per-sample statistics is a
    constant): every layer's batch statistics are recorded now and held fixed;
    "sample" elsewhere: each sample's own statistics, the authors' batch-one loop;
    "sample+1x1" where such a network has maps of one value per channel per sample (a decoder
    through a 1x1 bottleneck): its own statistics elsewhere, the batch's recorded at those layers.
    """
    state.mode = "sample"
    state.stats.clear()
    if inputs.shape[0] < 4 or not state_has_layers(net):
        return "sample"
    if batch_mean_fixed(net, state, inputs):
        forward_in_mode(net, state, inputs, "record")
        state.mode = "batch"
        return "batch"
    try:
        forward_in_mode(net, state, inputs, "sample")
        return "sample"
    except NeedBatchStatistics:
        forward_in_mode(net, state, inputs, "record_1x1")
        return "sample+1x1"


def state_has_layers(net: nn.Module) -> bool:
    """Whether `net` holds any SampleBatchNorm layer."""
    return any(isinstance(m, SampleBatchNorm) for m in net.modules())
