"""SynFlow (Tanaka et al., 2020), as a zero-cost proxy (Abdelfattah et al., 2021)."""
from __future__ import annotations

import math

import torch
from torch import nn

from ..errors import BadOptionError
from .base import Needs
from .probe import Probe, scored_layers
from .reduce import total
from .registry import proxy


NORMALISATION = (nn.modules.batchnorm._BatchNorm, nn.LayerNorm, nn.GroupNorm)
LAYER_NORM_CHOICES = ("bypass", "keep")
SATURATING = (nn.Tanh, nn.Sigmoid, nn.Hardtanh)  # bounded activations: flat at synflow's huge positive signal
SATURATING_CHOICES = ("keep", "bypass")


def bypass_normalisation(net: nn.Module, keep: tuple[type, ...] = ()) -> nn.Module:
    """Replace every BatchNorm, LayerNorm and GroupNorm (except the types in `keep`) by identity, in place.

    For BatchNorm this is NASLib's bn=False copy. LayerNorm gets the same
    treatment by default: normalising by data statistics would make the flow depend on the
    (all-ones) input rather than on the weights, which synflow is meant to measure.
    """
    for name, child in list(net.named_children()):
        if isinstance(child, NORMALISATION) and not isinstance(child, keep):
            setattr(net, name, nn.Identity())
        else:
            bypass_normalisation(child, keep)
    return net


def bypass_saturating(net: nn.Module) -> nn.Module:
    """Replace every Tanh, Sigmoid and Hardtanh by identity, in place."""
    for name, child in list(net.named_children()):
        if isinstance(child, SATURATING):
            setattr(net, name, nn.Identity())
        else:
            bypass_saturating(child)
    return net


@proxy("synflow", version="2", needs=Needs(inputs="shape"), orientation="larger synaptic flow = more signal propagated = predicted better",
       task_only=("saturating",))
def synflow(probe: Probe, log: bool = True, layer_norm: str | None = None, saturating: str | None = None) -> float:
    """Sum over Conv2d/Linear weights of |w * dR/dw|, R = sum of outputs.

    Computed on a copy: normalisation layers (BatchNorm, LayerNorm) bypassed, every parameter and buffer made
    positive, float64, input all ones at batch 1. `log=True` (default) returns
    log(1 + sum): monotone, so rankings are those of the sum; equal to NASLib's
    log(sum) at the sizes real networks reach; and 0, not -inf, for a network
    with no path from input to output, whose synaptic flow is exactly zero.

    `layer_norm`: "bypass" (None means the same, unless the task sets it) or
    "keep". Deep transformers need "keep": with LayerNorm bypassed the all-ones
    signal grows by about 10^3 per block and the float64 backward through the
    saturated attention softmax overflows to NaN (AutoFormer-S/B at 224 px);
    kept, LayerNorm (with |gamma|, |beta|) bounds each block. The AutoFormer
    task configs set "keep"; CNNs have no LayerNorm, so it changes nothing there.

    `saturating` (a task-only option, see Proxy): "keep" (None means the same) or "bypass".
    Synflow assumes the positive network is linear (ReLU is the identity on positive
    signals); a bounded output activation is not: TNB's generative decoders end in
    Tanh, which the positive signal drives to 1 with zero slope, so every such
    network scored exactly 0. "bypass" replaces Tanh/Sigmoid/Hardtanh by identity,
    which is what the linearised network means there; the TNB autoencoder and
    normal task configs set it (the setting is part of their cache key).
    """
    if layer_norm not in (None, *LAYER_NORM_CHOICES):
        raise BadOptionError(f"layer_norm={layer_norm!r}; valid values: {', '.join(LAYER_NORM_CHOICES)}")
    if saturating not in (None, *SATURATING_CHOICES):
        raise BadOptionError(f"saturating={saturating!r}; valid values: {', '.join(SATURATING_CHOICES)}")
    keep = (nn.LayerNorm,) if layer_norm == "keep" else ()
    net = bypass_normalisation(probe.fresh_copy(), keep)
    if saturating == "bypass":
        bypass_saturating(net)
    net = net.double().train()
    with torch.no_grad():
        for tensor in list(net.parameters()) + list(net.buffers()):
            if tensor.is_floating_point():
                tensor.abs_()
    ones = torch.ones((1, *probe.inputs.shape[1:]), dtype=torch.float64, device=probe.inputs.device)
    net.zero_grad(set_to_none=True)
    net(ones).sum().backward()
    value = total((layer.weight * layer.weight.grad).abs().sum()
                  for _, layer in scored_layers(net) if layer.weight.grad is not None)
    return math.log1p(value) if log else value
