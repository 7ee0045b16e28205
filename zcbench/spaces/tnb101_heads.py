"""TransNAS-Bench-101's seven task heads on top of the shared encoder.

* class_object (100), class_scene (63), room_layout (9 values): global average
  pool + one Linear layer.
* jigsaw: the encoder runs on each of the 9 tiles (input B x 9 x 3 x t x t), the
  9 feature maps are concatenated along channels, pooled, and one Linear layer
  classifies the permutation (1,000 classes).
* segmentsemantic: TNB's conv/deconv segmentation decoder up to the input
  resolution, 17 class logits per pixel.
* normal, autoencoder: TNB's 14-layer conv/deconv generative (pix2pix) decoder,
  3 channels with tanh. The benchmark's GAN discriminator only drives training,
  so it is not part of the scored network (Suite-Zero's params leave it out too).

The decoders choose how many of their layers upsample from log2(output side /
feature side), as in TNB, so they are the benchmark's decoders whenever the
image side is a multiple of 64 (at 256x256, TNB's resolution, exactly).
"""
from __future__ import annotations

import math

import torch
from torch import nn

from .base import ReducedCellNetwork
from .tnb101_encoder import Encoder, MicroCell

#: head -> number of outputs (classes, values or channels)
HEAD_OUTPUTS: dict[str, int] = {"class_object": 100, "class_scene": 63, "jigsaw": 1000, "room_layout": 9,
                                "segmentsemantic": 17, "normal": 3, "autoencoder": 3}
DENSE_HEADS = ("segmentsemantic", "normal", "autoencoder")
JIGSAW_TILES = 9


def _conv(c_in: int, c_out: int, act: bool = True, norm: bool = True, up: bool = False) -> nn.Sequential:
    """3x3 conv (stride 1) or 3x3 transposed conv (stride 2, doubles the side), BN, LeakyReLU(0.2)."""
    conv = (nn.ConvTranspose2d(c_in, c_out, 3, stride=2, padding=1, output_padding=1) if up
            else nn.Conv2d(c_in, c_out, 3, stride=1, padding=1))
    layers: list[nn.Module] = [conv]
    if norm:
        layers.append(nn.BatchNorm2d(c_out))
    if act:
        layers.append(nn.LeakyReLU(0.2, inplace=False))
    return nn.Sequential(*layers)


def n_upsample(feature_side: int, out_side: int) -> int:
    """How many stride-2 layers a decoder needs from feature_side to out_side (a power of 2, 4-64x)."""
    ratio = out_side / feature_side
    n = int(math.log2(ratio)) if ratio >= 1 else -1
    if 2 ** n != ratio or not 2 <= n <= 6:
        raise ValueError(f"decoder cannot go from a {feature_side}-pixel feature map to {out_side} pixels: "
                         "the ratio must be a power of 2 between 4 and 64 (use an image side that is a "
                         "multiple of 64)")
    return n


class SegmentationDecoder(nn.Sequential):
    """1024-channel conv, (6 - n) halving convs, (n - 1) halving deconvs, one deconv, conv to classes."""

    def __init__(self, c_in: int, n_up: int, classes: int):
        layers, c = [_conv(c_in, 1024)], 1024
        for _ in range(6 - n_up):
            layers.append(_conv(c, c // 2))
            c //= 2
        for _ in range(n_up - 1):
            layers.append(_conv(c, c // 2, up=True))
            c //= 2
        layers += [_conv(c, c, up=True), _conv(c, classes, act=False, norm=False)]
        super().__init__(*layers)


class GenerativeDecoder(nn.Sequential):
    """TNB's pix2pix decoder: 14 conv layers, the last n of the optional ones upsampling; tanh output."""

    def __init__(self, c_in: int, n_up: int, channels: int = 3):
        # (c_in, c_out, upsamples?) of conv1..conv13; conv3/5/7/9 upsample only when n_up is large enough
        plan = [(c_in, 1024, False), (1024, 1024, False), (1024, 512, n_up >= 6), (512, 512, False),
                (512, 256, n_up >= 5), (256, 128, False), (128, 64, n_up >= 4), (64, 64, False),
                (64, 32, n_up >= 3), (32, 32, False), (32, 16, True), (16, 32, False), (32, 16, True)]
        layers = [_conv(a, b, up=up) for a, b, up in plan]
        layers.append(nn.Sequential(nn.Conv2d(16, channels, 3, padding=1), nn.Tanh()))
        super().__init__(*layers)


class TaskNetwork(nn.Module):
    """Encoder + one TNB task head; ``forward`` takes images (jigsaw: B x 9 x 3 x t x t tiles)."""

    def __init__(self, encoder: Encoder, head: str, image_size: int):
        super().__init__()
        self.encoder, self.head_name = encoder, head
        outputs, c = HEAD_OUTPUTS[head], encoder.out_channels
        if head in DENSE_HEADS:
            side = image_size
            for _ in range(int(math.log2(encoder.reduction))):
                side = (side + 1) // 2  # each stride-2 conv (3x3, padding 1) rounds up
            n_up = n_upsample(side, image_size)
            self.head = (SegmentationDecoder(c, n_up, outputs) if head == "segmentsemantic"
                         else GenerativeDecoder(c, n_up, outputs))
        else:
            width = c * JIGSAW_TILES if head == "jigsaw" else c
            self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(width, outputs))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.head_name != "jigsaw":
            return self.head(self.encoder(x))
        if x.dim() != 5 or x.shape[1] != JIGSAW_TILES:
            raise ValueError(f"jigsaw input must be B x {JIGSAW_TILES} x 3 x t x t tiles, got {tuple(x.shape)}")
        # one encoder pass per tile (as TNB: BatchNorm statistics are per tile position), then
        # the 9 feature maps concatenated along channels in tile order
        features = torch.cat([self.encoder(x[:, i]) for i in range(JIGSAW_TILES)], dim=1)
        return self.head(features)


class MicroTaskNetwork(TaskNetwork):
    """TaskNetwork of a micro arch: also offers TE-NAS's reduced network of its cell."""

    def tenas_thin_copy(self) -> nn.Module:
        """TE-NAS's reduced network (as NB201's: TNB's micro cell has NB201's shape, 4 nodes, 6 edges;
        TE-NAS itself never ran on TNB): this arch's cell at width 1 on 1-channel inputs. New weights."""
        return ReducedCellNetwork(MicroCell(self.encoder.cell_ops, 1, 1, 1), 1)
