"""Weight-saliency proxies of NAS-Bench-Suite-Zero (Abdelfattah et al., 2021, "foresight"):
l2_norm, plain, grasp and fisher, as NASLib's zero-cost code defines them.

All four sum over the Conv2d/Linear layers (with weights) of the network, like
NASLib's ``get_layer_metric_array``. BatchNorm is in train mode (batch
statistics) wherever data goes through the network, as in NASLib (``bn=True``
copies, ``net.train()``).
"""
from __future__ import annotations

import math

from .base import Needs
from .probe import Probe
from .reduce import total
from .registry import proxy

_GRADS = Needs(passes=frozenset({"gradients"}), labels=True)


@proxy("l2_norm", needs=Needs(inputs="none"), orientation="larger weight norms = more and wider layers = predicted better "
                              "(a model-size baseline; no sign flip)")
def l2_norm(probe: Probe) -> float:
    """Sum over Conv2d/Linear layers of the L2 (Frobenius) norm of the weight tensor.

    No data and no gradients: at initialisation it depends only on the layer
    shapes and the initialiser's draw (NASLib's ``l2_norm``, mode "param").
    """
    return total(w.double().norm(2) for w in probe.weights().values())


@proxy("plain", needs=_GRADS,
       orientation="NASLib's raw signed sum of g * w, higher = predicted better (no sign flip, no abs)")
def plain(probe: Probe) -> float:
    """Sum over Conv2d/Linear weights of dL/dw * w, signed (NASLib's ``plain``).

    The same first-order saliency as snip without the absolute value, so
    positive and negative contributions cancel; L is the task loss on the whole
    batch, BatchNorm in train mode.
    """
    weights = probe.weights()
    return total((g.double() * weights[n].double()).sum() for n, g in probe.gradients().items())


@proxy("grasp", needs=Needs(passes=frozenset({"gradients", "hessian_gradient"}), labels=True),
       orientation="-sum of w * (H g): NASLib negates GraSP's saliency because accuracy correlates "
                   "negatively with sum w * Hg; so higher = predicted better")
def grasp(probe: Probe) -> float:
    """GraSP (Wang et al., 2020) as a network score: -sum over Conv2d/Linear weights of w * (H g).

    g = dL/dW of the scored weights, H the Hessian of L with respect to them,
    L the task loss on the whole batch (BatchNorm in train mode, temperature 1,
    one iteration, no data split: NASLib's defaults).

    Choices, following NASLib's two-pass computation:
    - g (treated as a constant) is the probe's shared gradient pass: same
      network state, same batch and loss as NASLib's first ``autograd.grad``;
    - H g = d/dW of sum(g * dL/dW), a Hessian-vector product (the Hessian is
      never formed), is the probe's ``hessian_gradient`` pass: one more
      backward through the shared pass's graph, which is kept for it
      (create_graph) instead of running NASLib's second forward and backward.
      Only the scored weights are differentiated, as in NASLib (the Hessian is
      the block over Conv2d/Linear weights; BN and biases are held fixed).
    - weights that L does not reach contribute 0 (NASLib's ``allow_unused``).
    """
    if probe.labels is None:
        raise ValueError("grasp needs labels but the batch has none")
    weights = probe.weights()
    return -total((weights[name].double() * hg.double()).sum()
                  for name, hg in probe.hessian_gradient().items())


@proxy("fisher", needs=Needs(passes=frozenset({"channel_saliency"}), labels=True),
       orientation="larger Fisher information of the channels = loss more sensitive to them = "
                   "predicted better (no sign flip)")
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
    fan-in times. False gives the plain sum over channels (docs/method.md#fisher).
    A layer called several times in one forward adds one term per call.
    """
    shapes = {n: w.shape for n, w in probe.weights().items()}
    terms = []
    for name, per_channel in probe.channel_saliency():
        fisher_k = per_channel.double().pow(2).mean(0).mul(0.5)
        scale = math.prod(shapes[name][1:]) if weight_by_fan_in else 1
        terms.append(fisher_k.sum() * scale)
    return total(terms)
