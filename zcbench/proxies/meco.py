"""MeCo (Jiang et al., NeurIPS 2023): minimum eigenvalue of feature-map correlation.

For every feature map the network produces on ONE input image, the rows of
the map (channels of a (C, H, W) conv map) are correlated across their
positions; the layer's term is the smallest eigenvalue of that C x C Pearson
correlation matrix, and MeCo is the sum of the terms. Following the authors'
code (HamsterMimi/MeCo, `get_score`): the network is in train mode, the batch
holds a single image (their default batch size is 1, so BatchNorm normalises
over that image's positions), and every module's output is read.

Choices:
- Layers: every distinct tensor that a module returns, counted once. The
  authors hook every module, so a tensor returned by several modules (a
  Sequential and its last layer, an Identity op) is counted once per module
  there; counting distinct tensors makes the score independent of how a
  network nests its modules. Tensors with one value per row (logits, pooled
  vectors: (B, F) or (B, C, 1, 1)) give rows with no variance and add 0, as
  in the authors' code.
- Rows: the first axis of the per-sample tensor, as the authors' code reshapes
  every output. For conv maps these are the channels; for token maps
  (T, D) of a transformer they are the tokens, correlated across the D
  features (the D x D channel matrix would be rank-deficient whenever D > T,
  its minimum eigenvalue 0 for every ViT).
- NaN rows: a row with zero variance (a dead channel, a 'none' op's zeros) has
  no correlation. The authors' code sets such NaN entries to 0, which puts an
  exact 0 eigenvalue in the (otherwise positive semi-definite) matrix, so the
  layer's term is 0; that value is used here directly instead of going through
  NaN. Eigenvalues are computed in float64 by eigvalsh.
- 1x1 maps: BatchNorm on a single image cannot normalise a map with one
  value per channel (the authors' code stops there: "Expected more than 1
  value per channel"; TransNAS-Bench-101 macro nets at 64 px reach 1x1). With
  one image (the default), BN runs as sample_norm.SampleBatchNorm: the image's
  own statistics wherever its map has more than one position (bit for bit the
  authors' single-image BN), and the whole batch's statistics at that layer
  where it has one (BN's train-mode statistic where a per-image one does not
  exist). Such 1x1 maps add 0 themselves (one value per row); they matter for
  the maps after them (decoders that upsample again).
"""
from __future__ import annotations

import torch

from ..errors import BadOptionError
from .probe import Probe, forward_with_hooks
from .sample_norm import NeedBatchStatistics, forward_in_mode, use_sample_norm
from .registry import proxy


def min_correlation_eigenvalue(rows: torch.Tensor) -> float:
    """Smallest eigenvalue of the Pearson correlation of `rows` (R, N), 0 if a row is constant."""
    x = rows.double()
    x = x - x.mean(dim=1, keepdim=True)
    norm = x.norm(dim=1)
    if x.shape[0] < 2 or x.shape[1] < 2 or bool((norm == 0).any()):
        return 0.0
    x = x / norm[:, None]
    corr = x @ x.T
    return float(torch.linalg.eigvalsh(corr)[0])


def _feature_maps(net: torch.nn.Module, x: torch.Tensor) -> list[torch.Tensor]:
    """Every distinct tensor output of every module (the root included), in call order."""
    seen: dict[tuple[int, int], tuple[torch.Tensor, torch.Tensor]] = {}

    def hook(module, inputs, output):
        # the original is held too, so that its id cannot be reused during the pass;
        # the clone survives later in-place ops
        if isinstance(output, torch.Tensor) and (id(output), output._version) not in seen:
            seen[(id(output), output._version)] = (output, output.detach().clone())

    forward_with_hooks(net, x, net.modules(), hook)
    return [copy for _, copy in seen.values()]


def _single_image_maps(probe: Probe) -> list[torch.Tensor]:
    """Feature maps of the batch's first image alone, BN per image (batch statistics at 1x1 layers)."""
    net = probe.fresh_copy().train()
    norm = use_sample_norm(net)
    try:
        return _feature_maps(net, probe.inputs[:1])
    except NeedBatchStatistics:  # a 1x1 BatchNorm: one forward of the batch records its statistics
        forward_in_mode(net, norm, probe.inputs, "record_1x1")
        return _feature_maps(net, probe.inputs[:1])


@proxy("meco", orientation="larger minimum eigenvalue of feature correlations = less redundant features = predicted better")
def meco(probe: Probe, samples: int = 1) -> float:
    """Sum over module outputs of the minimum eigenvalue of the per-image row correlation matrix.

    The first `samples` images of the batch are forwarded together (train mode)
    and the score is the mean over them of each image's MeCo; 1 is the paper's
    setting (one image, BatchNorm statistics from that image alone, the
    batch's where its map is 1x1; see the module notes).
    """
    if samples < 1:
        raise BadOptionError(f"samples must be >= 1, got {samples}")
    x = probe.inputs[:samples]
    if samples > 1:  # the images share BatchNorm's statistics, as one batch (never 1x1-limited)
        maps = _feature_maps(probe.working_copy(), x)  # train mode, buffers restored
    else:
        maps = _single_image_maps(probe)
    total = 0.0
    for fmap in maps:
        if fmap.dim() < 2 or fmap.shape[0] != x.shape[0]:
            continue
        for i in range(x.shape[0]):
            sample = fmap[i]
            total += min_correlation_eigenvalue(sample.reshape(sample.shape[0], -1))
    return total / x.shape[0]
