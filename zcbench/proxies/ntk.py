"""TE-NAS's two indicators (Chen et al., ICLR 2021), each as its own proxy.

- ntk: condition number of the empirical neural tangent kernel on the batch.
- linear_regions: number of distinct ReLU activation patterns over sampled inputs.

TE-NAS ranks architectures by the sum of the two ranks; that combination
needs a population and lives with the ensembles ("tenas" is not registered
here).
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from .base import Needs
from .probe import ACTIVATIONS, Probe, forward_with_hooks
from .registry import proxy


def tangent_features(net: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """(batch, weights) matrix: row i = d(sum of logits of sample i)/d(weights).

    One forward of the whole batch (BatchNorm statistics from the batch, as
    TE-NAS's get_ntk_n in train mode), then one backward per sample. Weights
    are all parameters named `weight` (TE-NAS: convolution, linear and
    normalisation scales), skipping those the output does not reach.
    """
    weights = [p for name, p in net.named_parameters() if "weight" in name.rsplit(".", 1)[-1]]
    if not weights:
        raise ValueError("network has no weight parameters")
    logits = net(x)
    if isinstance(logits, tuple):
        logits = logits[-1]
    per_sample = logits.reshape(logits.shape[0], -1).sum(dim=1)
    rows = []
    for i in range(per_sample.shape[0]):
        grads = torch.autograd.grad(per_sample[i], weights, retain_graph=i + 1 < per_sample.shape[0],
                                    allow_unused=True)
        rows.append(torch.cat([g.reshape(-1) for g in grads if g is not None]))
    return torch.stack(rows)


def condition_number(kernel: np.ndarray, rtol: float = 1e-12) -> float:
    """lambda_max / lambda_min of a symmetric PSD matrix; inf if numerically singular.

    Singular means lambda_min <= rtol * lambda_max: round-off leaves a singular
    kernel with a tiny eigenvalue of either sign, and a condition number above
    1e12 is noise for a kernel built from float32 gradients.
    """
    eig = np.linalg.eigvalsh(kernel)
    return float(eig[-1] / eig[0]) if eig[-1] > 0 and eig[0] > rtol * eig[-1] else math.inf


@proxy("ntk", orientation="lower NTK condition number = better-conditioned training dynamics = predicted better; "
                          "the proxy returns -log(condition number)",
       samples=16, log=True)
def ntk(probe: Probe, samples: int = 16, log: bool = True) -> float:
    """-log(lambda_max / lambda_min) of the NTK Theta = J J^T on the batch (TE-NAS).

    J is the Jacobian of each sample's summed logits with respect to every
    weight (see tangent_features), computed on a copy in train mode on the
    task's images; the kernel and its eigenvalues are in float64. `samples`:
    how many images of the batch to use (the first ones; 0 = all). The cost
    is one backward pass through the whole sub-batch per sample (BatchNorm
    couples the samples), i.e. quadratic in `samples`; the default 16 is
    TE-NAS's --batch_size default (its NB201 search used 72, on a GPU).
    `log=False` returns -condition number itself, as TE-NAS's code. A
    singular kernel (e.g. a network whose output does not depend on its
    input) gives -inf, recorded as a failure.
    """
    x = probe.inputs[:samples] if samples else probe.inputs
    if x.shape[0] < 2:
        raise ValueError("the NTK condition number needs at least 2 samples")
    net = probe.working_copy()  # weights are only read; its buffers are restored on every call
    feats = tangent_features(net, x).double()
    cond = condition_number((feats @ feats.T).cpu().numpy())
    if not math.isfinite(cond):
        return -math.inf
    return -math.log(cond) if log else -cond


def _activation_codes(net: nn.Module, x: torch.Tensor) -> list[torch.Tensor]:
    """(batch, units) bool codes of input > 0 for every ReLU/GELU module call, one forward."""
    codes: list[torch.Tensor] = []

    def hook(module, inputs, output):
        codes.append((inputs[0].detach() > 0).reshape(inputs[0].shape[0], -1))

    forward_with_hooks(net, x, (m for m in net.modules() if isinstance(m, ACTIVATIONS)), hook)
    return codes


def count_patterns(codes: list[torch.Tensor]) -> int:
    """Number of distinct rows (samples) of the concatenated (batch, units) codes."""
    unique = list({id(c): c for c in codes}.values())  # layers reading one tensor repeat its columns
    packed = np.concatenate([np.packbits(c.cpu().numpy(), axis=1) for c in unique], axis=1)
    rows = np.ascontiguousarray(packed)
    return int(np.unique(rows.view(np.dtype((np.void, rows.shape[1])))).shape[0])


@proxy("linear_regions", needs=Needs(passes=frozenset({"activation_codes"})),
       orientation="more distinct activation patterns = input space cut into more linear regions = more expressive "
                   "= predicted better",
       source="data", samples=64, seed=0)
def linear_regions(probe: Probe, source: str = "data", samples: int = 64, seed: int = 0) -> float:
    """Number of distinct activation patterns of the ReLU (and GELU) units over sampled inputs.

    A sample's pattern is the on/off state (input > 0) of every ReLU/GELU unit
    of the network; inputs with the same pattern lie in the same linear
    region. Input sampling:
      source="data" (default): the task's image batch, read from the shared
        activation-code pass (the one NASWOT and SWAP use); `samples` and
        `seed` are unused. TE-NAS also sampled real training images.
      source="gaussian": `samples` standard-normal inputs shaped like the batch
        images, drawn from a torch.Generator seeded with `seed`, pushed through
        a copy in train mode in one batch (the TE-NAS port in the Zen-NAS and
        AZ-NAS code bases).
    The count cannot exceed the number of samples, and on a full-width network
    almost every input has its own pattern, so it saturates there: TE-NAS
    avoided that by scoring a 1-channel, 1-cell-per-stage copy of the cell on
    1x3x3 crops (3 x 1,000 of them), which needs the search space to build
    that copy and is not done by this generic proxy.
    """
    if source == "data":
        codes = [c for _, c in probe.activation_codes()]
    elif source == "gaussian":
        gen = torch.Generator(device=probe.inputs.device).manual_seed(int(seed))
        x = torch.randn((int(samples), *probe.inputs.shape[1:]), generator=gen, device=probe.inputs.device)
        codes = _activation_codes(probe.working_copy(), x)
    else:
        raise ValueError(f"source must be 'data' or 'gaussian', got {source!r}")
    if not codes:
        raise ValueError("network has no ReLU/GELU units to read")
    return float(count_patterns(codes))
