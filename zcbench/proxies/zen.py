"""Zen-score (Lin et al., ICCV 2021, "Zen-NAS"), as NASLib computes it.

The network is re-initialised with standard Gaussian weights; two Gaussian
inputs x and x + gamma * eps are pushed through it (BatchNorm in train mode)
and the score is

    log( mean over samples of sum over feature elements |f(x) - f(x + gamma eps)| )
    + sum over BatchNorm layers of log sqrt( mean over channels of the variance )

with f the feature map before global pooling. The BN term undoes the
rescaling that BatchNorm applies, so the score measures the expressivity of
the un-normalised network.

Generic networks. "Before global pooling" is the input of the last
AdaptiveAvgPool module the forward pass calls (NASLib's hook on the
AdaptiveAvgPool2d of NB201); a network without one (a ViT that reads the class
token) uses the input of the last Linear module called, i.e. the features the
head classifies; a network with neither (TNB's dense decoders) uses the input of
the last convolution called, as NASLib's TNB code does for those tasks (its
forward_before_last_conv; its full-space zen of every TNB arch was made so). On LayerNorm networks (no BatchNorm layer) the variance term
is empty: zen is then the log of the mean feature difference alone. LayerNorm
removes the per-token scale as BN removes the per-channel one, but Zen-NAS
defines no correction for it, and none is invented here; LayerNorm affine
parameters keep their values (NASLib re-initialises only Conv, BN/GroupNorm
and Linear layers).

A network whose features do not depend on the input (every path cut by a
'none' op) has no feature difference: the score is -inf, which the harness
records as a failure (NASLib stores -1e8 for those).
"""
from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.modules.conv import _ConvNd

from ..errors import BadOptionError, ProxyFailure
from .base import Needs
from .probe import Probe
from .init import reinitialise_
from .registry import proxy

_POOLS = (nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d)


def gaussian_init_(net: nn.Module, generator: torch.Generator | None = None) -> nn.Module:
    """Zen-NAS's re-initialisation, in place: conv/linear weights N(0, 1), biases 0, norm affine 1/0."""
    return reinitialise_(net, lambda w, g: nn.init.normal_(w, generator=g), generator)


class _PreHeadFeatures:
    """Records the input of the last global-average-pool (else Linear, else convolution) module called."""

    def __init__(self, net: nn.Module):
        self.pool: torch.Tensor | None = None
        self.linear: torch.Tensor | None = None
        self.conv: torch.Tensor | None = None
        self.handles = [m.register_forward_hook(self._hook) for m in net.modules()
                        if isinstance(m, _POOLS + (nn.Linear, _ConvNd))]

    def _hook(self, module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
        if isinstance(module, _POOLS):
            self.pool = inputs[0]
        elif isinstance(module, nn.Linear):
            self.linear = inputs[0]
        else:
            self.conv = inputs[0]

    def take(self) -> torch.Tensor:
        found = next((f for f in (self.pool, self.linear, self.conv) if f is not None), None)
        self.pool = self.linear = self.conv = None
        if found is None:
            raise ProxyFailure("zen needs a global average pool, a Linear head or a convolution to read features from")
        return found

    def remove(self) -> None:
        for h in self.handles:
            h.remove()


class _BatchVariance:
    """Mean over channels of each BN layer's batch variance, from the first forward only.

    Only the layers in `wanted` are measured (the score reads the batch variance of
    a layer only when it has no running statistics or bn_variance="batch"): the
    float64 copy of every BN input is the costly part of the pass.
    """

    def __init__(self, wanted: list[nn.Module]):
        self.values: dict[int, torch.Tensor] = {}  # 0-d, on the network's device until read
        self.handles = [m.register_forward_hook(self._hook) for m in wanted]

    def _hook(self, module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
        if id(module) not in self.values:
            x = inputs[0].detach().double().transpose(0, 1).reshape(inputs[0].shape[1], -1)
            self.values[id(module)] = x.var(dim=1, unbiased=False).mean()

    def remove(self) -> None:
        for h in self.handles:
            h.remove()


@proxy("zen", needs=Needs(inputs="gaussian"), version="2",  # 2: weights drawn from the seeded generator
       orientation="larger response to input perturbations (BN rescaling undone) = more expressive = predicted better")
def zen(probe: Probe, mixup_gamma: float = 0.01, bn_variance: str = "running",
        gaussian_init: bool = True, seed: int = 0) -> float:
    """Zen-score of a Gaussian-initialised copy on Gaussian inputs shaped like the batch.

    bn_variance: "running" (NASLib's and Zen-NAS's code: each BN's running_var
    after the two train-mode forward passes, i.e. 0.81 + 0.09 v1 + 0.1 v2 at
    the default momentum; layers without running statistics use the batch
    variance) or "batch" (the paper's sigma: the batch variance of the first pass).
    The new weights, then the inputs, are drawn from a torch.Generator seeded
    with `seed`, so the score is a function of the architecture and `seed`.
    """
    if bn_variance not in ("running", "batch"):
        raise BadOptionError(f"bn_variance must be 'running' or 'batch', got {bn_variance!r}")
    net = probe.fresh_copy().float().train()
    shape, device = probe.inputs.shape, probe.inputs.device
    gen = torch.Generator(device=device).manual_seed(int(seed))
    if gaussian_init:
        gaussian_init_(net, gen)
    x = torch.randn(shape, generator=gen, device=device)
    x_mix = x + mixup_gamma * torch.randn(shape, generator=gen, device=device)
    norms = [m for m in net.modules() if isinstance(m, _BatchNorm)]
    measured = [m for m in norms if bn_variance == "batch" or m.running_var is None]
    features, batch_var = _PreHeadFeatures(net), _BatchVariance(measured)
    try:
        with torch.no_grad():
            net(x)
            f1 = features.take()
            net(x_mix)
            f2 = features.take()
    finally:
        features.remove()
        batch_var.remove()
    diff = (f1.double() - f2.double()).abs().reshape(f1.shape[0], -1).sum(dim=1).mean().item()
    variances = []  # 0-d tensors on the device, read back together
    for m in net.modules():
        if not isinstance(m, _BatchNorm):
            continue
        if bn_variance == "running" and m.running_var is not None:
            variances.append(m.running_var.double().mean())
        elif id(m) in batch_var.values:
            variances.append(batch_var.values[id(m)])
        # else: a BN layer the forward pass never called (no statistics to read)
    log_bn = 0.0
    for var in (torch.stack(variances).tolist() if variances else []):
        log_bn += 0.5 * math.log(var) if var > 0 else -math.inf
    if diff <= 0:
        return -math.inf
    return math.log(diff) + log_bn
