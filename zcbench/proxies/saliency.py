"""Weight-saliency proxies of NAS-Bench-Suite-Zero (Abdelfattah et al., 2021, "foresight"):
l2_norm, plain, grasp and fisher, as NASLib's zero-cost code defines them.

All four sum over the Conv2d/Linear layers (with weights) of the network, like
NASLib's ``get_layer_metric_array``. BatchNorm is in train mode (batch
statistics) wherever data goes through the network, as in NASLib (``bn=True``
copies, ``net.train()``).
"""
from __future__ import annotations

import math

import torch

from .base import Needs
from .probe import Probe, scored_layers
from .registry import proxy

_GRADS = Needs(passes=frozenset({"gradients"}), labels=True)


@proxy("l2_norm", orientation="larger weight norms = more and wider layers = predicted better "
                              "(a model-size baseline; no sign flip)")
def l2_norm(probe: Probe) -> float:
    """Sum over Conv2d/Linear layers of the L2 (Frobenius) norm of the weight tensor.

    No data and no gradients: at initialisation it depends only on the layer
    shapes and the initialiser's draw (NASLib's ``l2_norm``, mode "param").
    """
    return float(sum(w.double().norm(2).item() for w in probe.weights().values()))


@proxy("plain", needs=_GRADS,
       orientation="NASLib's raw signed sum of g * w, higher = predicted better (no sign flip, no abs)")
def plain(probe: Probe) -> float:
    """Sum over Conv2d/Linear weights of dL/dw * w, signed (NASLib's ``plain``).

    The same first-order saliency as snip without the absolute value, so
    positive and negative contributions cancel; L is the task loss on the whole
    batch, BatchNorm in train mode.
    """
    weights = probe.weights()
    return float(sum((g.double() * weights[n].double()).sum().item()
                     for n, g in probe.gradients().items()))


@proxy("grasp", needs=_GRADS,
       orientation="-sum of w * (H g): NASLib negates GraSP's saliency because accuracy correlates "
                   "negatively with sum w * Hg; so higher = predicted better")
def grasp(probe: Probe) -> float:
    """GraSP (Wang et al., 2020) as a network score: -sum over Conv2d/Linear weights of w * (H g).

    g = dL/dW of the scored weights, H the Hessian of L with respect to them,
    L the task loss on the whole batch (BatchNorm in train mode, temperature 1,
    one iteration, no data split: NASLib's defaults).

    Choices, following NASLib's two-pass computation:
    - pass 1 (g, treated as a constant) is the probe's shared gradient pass:
      same network state, same batch and loss, so it equals NASLib's first
      ``autograd.grad`` and is not recomputed;
    - pass 2 runs on a fresh copy of the network (train mode, pristine
      buffers): dL/dW with ``create_graph=True``, then z = sum(g * dL/dW) and
      H g = dz/dW (a Hessian-vector product; the Hessian is never formed).
      Only the scored weights are differentiated, as in NASLib (the Hessian is
      the block over Conv2d/Linear weights; BN and biases are held fixed).
    - weights that L does not reach contribute 0 (NASLib's ``allow_unused``).
    """
    if probe.labels is None:
        raise ValueError("grasp needs labels but the batch has none")
    g_const = probe.gradients()
    net = probe.fresh_copy().train()
    layers = scored_layers(net)
    weights = [m.weight for _, m in layers]
    for w in weights:
        w.requires_grad_(True)
    net.zero_grad(set_to_none=True)
    loss = probe.loss_fn(net(probe.inputs), probe.labels)
    grad_f = torch.autograd.grad(loss, weights, create_graph=True, allow_unused=True)
    z = None
    for (name, _), gf in zip(layers, grad_f):
        if gf is not None:
            term = (g_const[name] * gf).sum()
            z = term if z is None else z + term
    if z is None or not z.requires_grad:
        return 0.0  # no scored weight reaches the loss: H g = 0
    hg = torch.autograd.grad(z, weights, allow_unused=True)
    total = 0.0
    for w, h in zip(weights, hg):
        if h is not None:
            total -= (w.detach().double() * h.detach().double()).sum().item()
    return total


@proxy("fisher", needs=Needs(passes=frozenset({"channel_saliency"}), labels=True),
       orientation="larger Fisher information of the channels = loss more sensitive to them = "
                   "predicted better (no sign flip)",
       weight_by_fan_in=True)
def fisher(probe: Probe, weight_by_fan_in: bool = True) -> float:
    """Fisher channel saliency (Theis et al., 2018; Turner et al., 2020), summed over the network.

    For each Conv2d/Linear layer and output channel k: 0.5 * mean over the batch
    of (sum over positions of a * dL/da)^2, a = the layer's output (before any
    BatchNorm or ReLU that follows it; NASLib hooks an identity placed right
    after the conv/linear, and so does the probe's channel_saliency). Transformer
    linears on (batch, tokens, C) sum over tokens, channels being the last axis.

    weight_by_fan_in (default True, matching NASLib): NASLib computes a value
    per channel, then broadcasts it to every weight of that channel
    (weight.shape[1:], i.e. C_in/groups * kh * kw for a conv, in_features for a
    linear) before summing all per-weight values; so each channel counts
    fan-in times. False gives the plain sum over channels of METHOD.md section 3.
    A layer called several times in one forward adds one term per call.
    """
    shapes = {n: w.shape for n, w in probe.weights().items()}
    total = 0.0
    for name, per_channel in probe.channel_saliency():
        fisher_k = per_channel.double().pow(2).mean(0).mul(0.5)
        scale = math.prod(shapes[name][1:]) if weight_by_fan_in else 1
        total += scale * fisher_k.sum().item()
    return total
