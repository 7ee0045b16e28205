"""Gradient-saliency proxies over Conv2d/Linear weights: grad_norm, snip."""
from __future__ import annotations

from .base import Needs
from .probe import Probe
from .reduce import total
from .registry import proxy

_GRADS = Needs(passes=frozenset({"gradients"}), labels=True)


@proxy("grad_norm", needs=_GRADS,
       orientation="larger gradients at init = faster initial learning = predicted better")
def grad_norm(probe: Probe) -> float:
    """Sum over layers of ||dL/dW||_2 (Abdelfattah et al., 2021)."""
    return total(g.norm(2) for g in probe.gradients().values())


@proxy("snip", needs=_GRADS,
       orientation="higher connection sensitivity = more trainable weights = predicted better")
def snip(probe: Probe) -> float:
    """Sum over weights of |dL/dw * w| (Lee et al., 2019, summed per network)."""
    weights = probe.weights()
    return total((g * weights[n]).abs().sum() for n, g in probe.gradients().items())
