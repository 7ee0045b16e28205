"""AZ-NAS (Lee & Ham, CVPR 2024): its four per-architecture components as proxies.

AZ-NAS scores an architecture from its block features f_0 (stem output),
f_1, ..., f_L (block outputs) on one batch:

- expressivity: per feature, the entropy of the normalised eigenvalue
  spectrum of the channel covariance (channels x channels, over every sample
  and position); summed over features. Isotropic features score high.
- progressivity: min over l of expressivity(f_l) - expressivity(f_{l-1}):
  expressivity should grow with depth at every block.
- trainability: per consecutive pair, with a Rademacher (+-1) gradient g_out
  at f_l, g_in = (df_l/df_{l-1})^T g_out, M = g_in^T g_out / positions (the
  block's Jacobian seen through random probes; g_in is pixel-unshuffled when
  the block downsamples); score -s - 1/s + 2 with s the largest singular value
  of M (0 when s = 1, i.e. the block preserves gradient norms); averaged over pairs.
- complexity: FLOPs (the `flops` proxy's count).

The combined AZ-NAS score (sum of log-ranks over a population) lives with the
ensembles; "az_nas" itself is not registered here.

Block features of a generic network. The network's main chain of blocks is
found at run time: among its nn.Sequential / nn.ModuleList containers, those
whose children are each called once and each take the previous child's output
among their inputs (a chain; a DARTS/NB301 cell takes the outputs of the two
cells before it, so its `cells` are a chain too, and its features are the stem
output and each cell's output). A chain run k times in one forward (TransNAS-Bench-101's jigsaw
runs its encoder once per tile) must be a chain in every run, and its features
are those of the first run (tile 0, B samples). A chain's features are the
input of its first child (the stem output in NB201, where the chain is `cells`: 15 cells and 2 reduction blocks)
and the output of each child, up to the first global pooling or the first
output that is not a (B, C, H, W) map or a (B, tokens, D) token map. Of the
chains with at least 2 features, the one whose feature-producing children
hold the most parameters is used (ties: the most features); a ViT's `blocks`
thus wins over the MLP inside each block, a backbone over a classifier head.
Option `blocks` names the container instead. For token maps the channels are
the last axis and the positions are the tokens, as AZ-NAS's AutoFormer code
does.

The three feature-based components come from one forward and backward pass,
memoised on the probe per options, so scoring them together costs one pass
(the first of them is charged its time). BatchNorm in train mode; by default
conv/linear weights are re-initialised Kaiming-normal (fan-in), as the AZ-NAS
CNN code does before scoring (`init="none"` keeps the network's own weights, as
its AutoFormer code does). The input is standard Gaussian noise shaped like the
task's batch (`inputs="gaussian"`), as all three of the authors' searches call
their scorer (trainloader=None -> torch.randn); `inputs="batch"` uses the task's
images instead. The input matters: on 150 NB201 CIFAR-10 archs real images make
progressivity rank far worse (Spearman 0.24 against 0.70 with Gaussian input), and
the AZ-NAS ensemble 0.79 against 0.92 (README, AZ-NAS note). The new weights,
then the Gaussian input, then the Rademacher probes, are drawn from a
torch.Generator seeded with the `seed` option.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from ..errors import BadOptionError, ProxyFailure
from .base import Needs
from .probe import Probe
from .init import reinitialise_
from .registry import proxy
from .size import flops as _flops

_POOLS = (nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d,
          nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d, nn.AdaptiveMaxPool3d)
_INPUTS = ("gaussian", "batch")


def kaiming_fanin_init_(net: nn.Module, generator: torch.Generator | None = None) -> nn.Module:
    """AZ-NAS's re-initialisation: conv/linear Kaiming-normal (fan-in, ReLU gain), biases 0, BN/GN affine 1/0."""
    return reinitialise_(net, lambda w, g: nn.init.kaiming_normal_(w, mode="fan_in", nonlinearity="relu",
                                                                   generator=g), generator)


def _is_feature(t: object) -> bool:
    return isinstance(t, torch.Tensor) and t.dim() in (3, 4) and t.is_floating_point()


def block_features(net: nn.Module, x: torch.Tensor, blocks: str = "auto") -> list[torch.Tensor]:
    """Forward `x` (with autograd) and return the features of the network's main chain of blocks."""
    containers = [(n, m) for n, m in net.named_modules() if isinstance(m, (nn.Sequential, nn.ModuleList))]
    if blocks != "auto":
        containers = [(n, m) for n, m in containers if n == blocks]
        if not containers:
            raise BadOptionError(f"no nn.Sequential/nn.ModuleList named {blocks!r} in the network")
    calls: dict[int, list[tuple[object, object]]] = {}

    def record(module, inputs, output):
        calls[id(module)].append((tuple(inputs), output))

    handles = []
    for _, container in containers:
        for child in container.children():
            if id(child) not in calls:
                calls[id(child)] = []
                handles.append(child.register_forward_hook(record))
    try:
        net(x)
    finally:
        for h in handles:
            h.remove()
    best, best_key = None, None
    for name, container in containers:
        children = list(container.children())
        if not children:
            continue
        n_calls = {len(calls[id(c)]) for c in children}
        if len(n_calls) != 1 or 0 in n_calls:  # every child called equally often (once, or once per tile)
            continue
        if any(all(x is not calls[id(a)][j][1] for x in calls[id(b)][j][0])
               for j in range(n_calls.pop()) for a, b in zip(children, children[1:])):
            continue
        first_inputs = calls[id(children[0])][0][0]
        feats, producers = [first_inputs[0] if first_inputs else None], []
        for child in children:
            out = calls[id(child)][0][1]
            if isinstance(child, _POOLS) or not _is_feature(out):
                break
            feats.append(out)
            producers.append(child)
        if not _is_feature(feats[0]):
            feats = feats[1:]
        if len(feats) < 2:
            continue
        key = (sum(p.numel() for c in producers for p in c.parameters()), len(feats))
        if best_key is None or key > best_key:
            best, best_key = feats, key
    if best is None:
        raise ProxyFailure("no chain of blocks with 2 or more feature maps found (an nn.Sequential/"
                         "nn.ModuleList whose children feed each other); name one with the `blocks` option")
    return best


def _rows(t: torch.Tensor) -> torch.Tensor:
    """(samples x positions, channels): channels are dim 1 of (B, C, H, W) and the last dim of (B, T, D)."""
    if t.dim() == 4:
        return t.permute(0, 2, 3, 1).reshape(-1, t.shape[1])
    return t.reshape(-1, t.shape[-1])


def spectral_entropy(feat: torch.Tensor) -> float:
    """Entropy of the normalised eigenvalues of the channel covariance (AZ-NAS expressivity of one feature).

    Eigenvalues are clipped at 0 (round-off can make them slightly negative);
    a feature with no variance at all gives NaN.
    """
    x = _rows(feat.detach().double())
    x = x - x.mean(dim=0, keepdim=True)
    cov = x.T @ x / x.shape[0]
    eig = torch.linalg.eigvalsh(cov).clamp_min(0)
    p = eig / eig.sum()
    return float(-(p * torch.log(p + 1e-8)).sum())


def block_trainability(f_in: torch.Tensor, f_out: torch.Tensor, gen: torch.Generator) -> float | None:
    """AZ-NAS score of one block; -inf for an identity block; None if the maps cannot be aligned."""
    g_out = torch.randint(0, 2, f_out.shape, generator=gen, device=f_out.device).to(f_out.dtype) * 2 - 1
    (g_in,) = torch.autograd.grad(f_out, f_in, grad_outputs=g_out, retain_graph=True, allow_unused=True)
    if g_in is None:
        g_in = torch.zeros_like(f_in)
    if g_in.shape == g_out.shape and torch.equal(g_in, g_out):
        return -math.inf
    if g_in.dim() != g_out.dim() or g_in.shape[0] != g_out.shape[0]:
        return None
    if g_out.dim() == 4 and g_in.shape[2:] != g_out.shape[2:]:
        stride = g_in.shape[2] // g_out.shape[2]
        if stride < 1 or g_in.shape[2:] != (g_out.shape[2] * stride, g_out.shape[3] * stride):
            return None
        g_in = nn.functional.pixel_unshuffle(g_in, stride)
    if g_out.dim() == 3 and g_in.shape[1] != g_out.shape[1]:
        return None
    a, b = _rows(g_in.double()), _rows(g_out.double())
    mat = a.T @ b / b.shape[0]
    s = float(torch.linalg.svdvals(mat).max())
    return -s - 1.0 / (s + 1e-6) + 2.0


_AZ_PASS = Needs(passes=frozenset({"shared"}), inputs="gaussian")


def az_signals(probe: Probe, init: str = "kaiming_fanin", blocks: str = "auto", seed: int = 0,
               inputs: str = "gaussian") -> dict:
    """Per-feature expressivity and per-block trainability from one pass, shared through the probe."""
    return probe.shared(f"az_nas:{init}:{blocks}:{int(seed)}:{inputs}",
                        lambda: _az_pass(probe, init, blocks, int(seed), inputs))


def _az_pass(probe: Probe, init: str, blocks: str, seed: int, inputs: str = "gaussian") -> dict:
    if init not in ("kaiming_fanin", "none"):
        raise BadOptionError(f"init must be 'kaiming_fanin' or 'none', got {init!r}")
    if inputs not in _INPUTS:
        raise BadOptionError(f"inputs must be one of {', '.join(_INPUTS)}, got {inputs!r}")
    net = probe.fresh_copy().float().train()
    gen = torch.Generator(device=probe.inputs.device).manual_seed(seed)
    if init == "kaiming_fanin":
        kaiming_fanin_init_(net, gen)
    if inputs == "gaussian":
        x = torch.randn(probe.inputs.shape, generator=gen, device=probe.inputs.device)
    else:
        x = probe.inputs.detach().float().clone()
    x.requires_grad_(True)  # so a chain starting at the input has a graph
    feats = block_features(net, x, blocks)
    entropies = [spectral_entropy(f) for f in feats]
    pairs = [block_trainability(feats[i - 1], feats[i], gen) for i in reversed(range(1, len(feats)))]
    return {"expressivity": entropies, "trainability": [p for p in pairs if p is not None]}


def _finite_or_neg_inf(value: float) -> float:
    return -math.inf if math.isnan(value) else float(value)


@proxy("az_expressivity", needs=_AZ_PASS, version="2", orientation="more isotropic block features (high spectral entropy) = more expressive "
                                      "= predicted better")
def az_expressivity(probe: Probe, init: str = "kaiming_fanin", blocks: str = "auto", seed: int = 0,
                    inputs: str = "gaussian") -> float:
    """AZ-NAS expressivity: sum over block features of the channel-covariance spectral entropy.

    A feature with no variance makes it NaN, reported -inf (worst) as AZ-NAS does.
    """
    return _finite_or_neg_inf(float(np.sum(az_signals(probe, init, blocks, seed, inputs)["expressivity"])))


@proxy("az_progressivity", needs=_AZ_PASS, version="2", orientation="expressivity growing at every block = predicted better")
def az_progressivity(probe: Probe, init: str = "kaiming_fanin", blocks: str = "auto", seed: int = 0,
                     inputs: str = "gaussian") -> float:
    """AZ-NAS progressivity: the smallest increase of expressivity from one block feature to the next."""
    e = np.array(az_signals(probe, init, blocks, seed, inputs)["expressivity"])
    return _finite_or_neg_inf(float(np.min(e[1:] - e[:-1])))


@proxy("az_trainability", needs=_AZ_PASS, version="2", orientation="block Jacobians with spectral norm near 1 (gradients neither vanish nor "
                                      "explode) = predicted better")
def az_trainability(probe: Probe, init: str = "kaiming_fanin", blocks: str = "auto", seed: int = 0,
                    identity_blocks: str = "worst", inputs: str = "gaussian") -> float:
    """AZ-NAS trainability: mean over blocks of -s - 1/s + 2, s the top singular value of the probed Jacobian.

    A block that passes gradients through unchanged (an identity: g_in == g_out,
    e.g. an NB201 cell reduced to a skip connection) scores -inf with
    identity_blocks="worst" (AZ-NAS's CNN code: the architecture ranks last,
    and the harness records the -inf as a failure) or is left out of the mean
    with "skip" (its AutoFormer code). Pairs whose maps cannot be aligned
    (token counts differ, non-integer downsampling) are left out.
    """
    if identity_blocks not in ("worst", "skip"):
        raise BadOptionError(f"identity_blocks must be 'worst' or 'skip', got {identity_blocks!r}")
    scores = az_signals(probe, init, blocks, seed, inputs)["trainability"]
    if identity_blocks == "skip":
        scores = [s for s in scores if s != -math.inf]
    if not scores:
        raise ProxyFailure("no block pair to measure trainability on")
    return _finite_or_neg_inf(float(np.mean(scores)))


@proxy("az_complexity", needs=Needs(passes=frozenset({"forward_flops"}), inputs="shape"), same_as="flops",
       orientation="more compute = higher capacity = predicted better (AZ-NAS's complexity term)")
def az_complexity(probe: Probe) -> float:
    """AZ-NAS complexity: forward FLOPs at batch 1, counted as the `flops` proxy counts them."""
    return _flops(probe)
