"""TransNAS-Bench-101 losses and targets, one per task.

Losses (as TNB trains each task): cross-entropy for class_object, class_scene,
jigsaw and per-pixel segmentsemantic; mean squared error for room_layout; L1 for
normal and autoencoder (TNB adds a GAN term for these two during training; a
zero-cost proxy scores the encoder-decoder, so only the L1 term is kept).

Targets: autoencoder reconstructs its own input (real when the input is real);
jigsaw cuts the real images into 9 tiles and shuffles them with one of 1,000
fixed permutations, the label being its index; room_layout, segmentsemantic
and normal have no source here, so their targets are seeded SYNTHETIC tensors
of the benchmark's shape, and their description says so.
"""
from __future__ import annotations

import functools
import itertools
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ..inputs.datasets import Batch
from ..errors import DataNotFoundError, ZcbenchError
from .targets import TARGETS, Targets
from .task import LOSSES

# ------------------------------------------------------------------------ losses

for _name, _fn in (("mse", F.mse_loss), ("l1", F.l1_loss)):
    if _name not in LOSSES:
        LOSSES.add(_name, _fn)

# ----------------------------------------------------------------------- targets

N_PERMUTATIONS = 1000
JIGSAW_TILES = 9
SEGMENT_CLASSES = 17
ROOM_LAYOUT_VALUES = 9
_TAKEN = 10**8


def jigsaw_permutations(n: int = N_PERMUTATIONS, seed: int = 0) -> np.ndarray:
    """n permutations of the 9 tiles chosen by the maximal-Hamming rule (Noroozi & Favaro, 2016).

    Start from a seeded permutation; then repeatedly add the permutation with the
    largest mean Hamming distance to those chosen so far. TNB uses a set made by
    this rule; its own file is not available here, so the set is rebuilt (int64 n x 9).
    """
    return _max_hamming_permutations(int(n), int(seed)).copy()


@functools.lru_cache(maxsize=2)
def _max_hamming_permutations(n: int, seed: int) -> np.ndarray:
    perms = np.array(list(itertools.permutations(range(JIGSAW_TILES))), dtype=np.int8)
    columns = np.ascontiguousarray(perms.T)  # one contiguous row per tile position: fast compares
    agree = np.zeros(len(perms), dtype=np.int32)  # sum of agreeing positions with the chosen set
    pick = int(np.random.default_rng(seed).integers(len(perms)))
    chosen = []
    for k in range(n):
        chosen.append(pick)
        for pos in range(JIGSAW_TILES):
            agree += columns[pos] == perms[pick, pos]
        agree[pick] = _TAKEN  # never pick twice (stays above any real count, 9 * n at most)
        # largest mean Hamming distance = fewest agreements in total
        pick = int(np.argmin(agree))
    return perms[chosen].astype(np.int64)


def _check_labels(batch: Batch, num_classes: int) -> None:
    labels = batch.labels
    if len(labels) and (int(labels.min()) < 0 or int(labels.max()) >= num_classes):
        raise DataNotFoundError(
            f"class labels 0..{num_classes - 1} for the {batch.dataset} images (found "
            f"{int(labels.min())}..{int(labels.max())})", [batch.source],
            "Classification on Taskonomy images needs images/taskonomy/labels.csv (file,label rows)")


@TARGETS.register("taskonomy_classes")
def taskonomy_classes(batch: Batch, num_classes: int, seed: int, **_: Any) -> Targets:
    """The batch's class labels, checked to exist and fit the head (class_object, class_scene)."""
    _check_labels(batch, num_classes)
    extra = "" if batch.dataset == "taskonomy" else f" (the {batch.dataset} labels, a stand-in for Taskonomy's)"
    return Targets(batch.labels, f"class labels of the batch{extra}")


@TARGETS.register("reconstruction")
def reconstruction(batch: Batch, num_classes: int, seed: int, **_: Any) -> Targets:
    """The input images themselves (autoencoder)."""
    kind = "SYNTHETIC" if batch.synthetic else "real"
    return Targets(batch.inputs.clone(), f"the input images themselves ({kind}; B x 3 x H x W, autoencoder)")


def cut_tiles(images: torch.Tensor, seed: int) -> torch.Tensor:
    """B x 3 x S x S -> B x 9 x 3 x t x t, t = S // 4: a 3x3 grid, one seeded t x t crop per cell."""
    side = images.shape[-1]
    cell, tile = side // 3, side // 4
    if tile < 1:
        raise ZcbenchError(f"images of side {side} are too small for 9 jigsaw tiles")
    rng = np.random.default_rng(seed)
    tiles = []
    for n in range(JIGSAW_TILES):
        r, c = divmod(n, 3)
        dy, dx = (int(v) for v in rng.integers(0, cell - tile + 1, size=2))
        y, x = r * cell + dy, c * cell + dx
        tiles.append(images[:, :, y:y + tile, x:x + tile])
    return torch.stack(tiles, dim=1).contiguous()


@TARGETS.register("jigsaw")
def jigsaw(batch: Batch, num_classes: int, seed: int, **_: Any) -> Targets:
    """Permutation labels, and the shuffled tiles (B x 9 x 3 x t x t) as the network's inputs.

    The jigsaw input is made from the images, so this is the one builder that
    returns replacement inputs (the batch itself is left as it was).
    """
    if batch.inputs.dim() != 4:
        raise ZcbenchError(f"jigsaw targets need an image batch B x 3 x H x W, got {tuple(batch.inputs.shape)} "
                           "(were the tiles already cut?)")
    perms = jigsaw_permutations(num_classes or N_PERMUTATIONS)
    tiles = cut_tiles(batch.inputs, seed)
    labels = torch.from_numpy(np.random.default_rng(seed + 1).integers(0, len(perms), size=len(tiles)))
    order = torch.from_numpy(perms[labels.numpy()])  # B x 9: output tile t shows cell order[t]
    puzzles = torch.stack([tiles[i, order[i]] for i in range(len(tiles))]).contiguous()
    kind = "SYNTHETIC" if batch.synthetic else "real"
    t = tiles.shape[-1]
    return Targets(labels, f"jigsaw: 9 tiles of {t}x{t} cut from the {kind} images, shuffled by one of "
                           f"{len(perms)} maximal-Hamming permutations (rebuilt by Noroozi & Favaro's rule, "
                           "not TNB's own file); label = permutation index", inputs=puzzles)


@TARGETS.register("room_layout")
def room_layout(batch: Batch, num_classes: int, seed: int, **_: Any) -> Targets:
    """SYNTHETIC room-layout regression targets: seeded standard normal, B x 9."""
    n = num_classes or ROOM_LAYOUT_VALUES
    gen = torch.Generator().manual_seed(seed)
    values = torch.randn(len(batch.inputs), n, generator=gen)
    return Targets(values, f"SYNTHETIC room-layout targets: seeded standard-normal B x {n} "
                           "(no Taskonomy room-layout labels here)")


@TARGETS.register("segmentation")
def segmentation(batch: Batch, num_classes: int, seed: int, blocks: int = 8, **_: Any) -> Targets:
    """SYNTHETIC semantic labels: a seeded blocks x blocks grid of classes, upsampled to H x W."""
    b, _, h, w = batch.inputs.shape
    gen = torch.Generator().manual_seed(seed)
    num_classes = num_classes or SEGMENT_CLASSES
    coarse = torch.randint(0, num_classes, (b, 1, blocks, blocks), generator=gen).float()
    labels = F.interpolate(coarse, size=(h, w), mode="nearest").squeeze(1).long()
    return Targets(labels, f"SYNTHETIC segmentation labels: seeded {blocks}x{blocks} blocks of classes "
                           f"0..{num_classes - 1} upsampled to {h}x{w} (no Taskonomy segmentation labels here)")


@TARGETS.register("surface_normal")
def surface_normal(batch: Batch, num_classes: int, seed: int, blocks: int = 8, **_: Any) -> Targets:
    """SYNTHETIC surface normals: smooth seeded unit vectors per pixel, B x 3 x H x W in [-1, 1]."""
    b, _, h, w = batch.inputs.shape
    gen = torch.Generator().manual_seed(seed)
    coarse = torch.randn(b, num_classes or 3, blocks, blocks, generator=gen)
    field = F.interpolate(coarse, size=(h, w), mode="bilinear", align_corners=False)
    normals = field / field.norm(dim=1, keepdim=True).clamp_min(1e-6)
    return Targets(normals, f"SYNTHETIC surface normals: smooth seeded unit vectors, B x 3 x {h} x {w} "
                            "(no Taskonomy normal maps here)")
