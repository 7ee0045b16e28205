"""TransNAS-Bench-101 micro (4,096 cells) and macro (3,256 skeletons) search spaces.

Encodings are in tnb101_encoding, the shared encoder in tnb101_encoder, the
seven task heads in tnb101_heads. ``build(arch, num_classes, head=..., image_size=...)``
returns encoder + head as TransNAS-Bench-101 defines them; ``head`` is the task
(class_object, class_scene, jigsaw, room_layout, segmentsemantic, normal,
autoencoder), ``num_classes`` must be the head's output count or None (the
regression and image heads have no classes), and ``image_size`` the input side (TNB: 256; jigsaw tiles are a
quarter of it), which only the dense decoders depend on.
"""
from __future__ import annotations

import random

from torch import nn

from ..errors import InvalidArchError, UnknownNameError, ZcbenchError
from . import SPACES
from .base import SearchSpace
from .tnb101_encoder import Encoder
from .tnb101_encoding import (MACRO_LAYERS, MICRO_MACRO_CODE, all_macro, all_micro, macro_from_layers, macro_layers,
                              micro_from_ops, micro_ops)
from .tnb101_heads import DENSE_HEADS, HEAD_OUTPUTS, MicroTaskNetwork, TaskNetwork

DEFAULT_IMAGE_SIZE = 256  # Taskonomy images as TransNAS-Bench-101 trains on them
OPTIONS = ("head", "image_size")


class _TNB101Space(SearchSpace):
    """What both TNB spaces share: option checks and building encoder + head."""

    def _encoder(self, arch: str) -> Encoder:
        raise NotImplementedError

    def build(self, arch: str, num_classes: int, **options) -> nn.Module:
        self.check_options(options, OPTIONS)
        head = options.get("head")
        if head is None:
            raise ZcbenchError(f"space {self.name} needs space_options.head, one of {', '.join(HEAD_OUTPUTS)}")
        if head not in HEAD_OUTPUTS:
            raise UnknownNameError(f"{self.name} head", head, list(HEAD_OUTPUTS))
        if num_classes is not None and num_classes != HEAD_OUTPUTS[head]:
            raise ZcbenchError(f"head {head} has {HEAD_OUTPUTS[head]} outputs in TransNAS-Bench-101, "
                               f"but the task asks for num_classes={num_classes} (null = the head's own)")
        size = options.get("image_size") or DEFAULT_IMAGE_SIZE
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ZcbenchError(f"image_size={size!r}: expected a positive integer (TNB uses 256)")
        if head in DENSE_HEADS and size % 64:
            raise ZcbenchError(f"image_size={size} for head {head}: the TNB decoders need a multiple of 64 "
                               "(64, 128, 256, ...) to keep the benchmark's decoder layout")
        encoder = self._encoder(arch)
        return (TaskNetwork if encoder.cell_ops is None else MicroTaskNetwork)(encoder, head, size)


class TNB101MicroSpace(_TNB101Space):
    """Cell space: skeleton 64-41414, a 4-node cell with 6 edges and 4 ops (canonical `64-41414-a_bc_def`)."""

    name = "tnb101_micro"

    def canonical(self, text: str) -> str:
        return micro_from_ops(micro_ops(text))

    def sample(self, rng: random.Random) -> str:
        return micro_from_ops(tuple(rng.randrange(4) for _ in range(6)))

    def all_archs(self) -> list[str]:
        return list(all_micro())

    def mutate(self, arch: str, rng: random.Random) -> str:
        """One edge's op replaced by another of the four ops."""
        ops = list(micro_ops(arch))
        edge = rng.randrange(len(ops))
        ops[edge] = rng.choice([o for o in range(4) if o != ops[edge]])
        return micro_from_ops(tuple(ops))

    def _encoder(self, arch: str) -> Encoder:
        return Encoder(tuple(int(c) for c in MICRO_MACRO_CODE), micro_ops(arch))


class TNB101MacroSpace(_TNB101Space):
    """Skeleton space: 4-6 residual layers of basic blocks (canonical `64-<digits>-basic`)."""

    name = "tnb101_macro"

    def canonical(self, text: str) -> str:
        return macro_from_layers(macro_layers(text))

    def sample(self, rng: random.Random) -> str:
        return rng.choice(all_macro())  # uniform over the 3,256 valid skeletons

    def all_archs(self) -> list[str]:
        return list(all_macro())

    def mutate(self, arch: str, rng: random.Random) -> str:
        """A valid skeleton one edit away: one layer's type changed, or one layer inserted or removed."""
        layers = macro_layers(arch)
        for _ in range(100):
            new = list(layers)
            move = rng.choice(("change", "insert", "remove"))
            i = rng.randrange(len(new))
            if move == "change":
                new[i] = rng.choice([t for t in sorted(MACRO_LAYERS) if t != new[i]])
            elif move == "insert":
                new.insert(rng.randrange(len(new) + 1), rng.choice(sorted(MACRO_LAYERS)))
            else:
                del new[i]
            try:
                return macro_from_layers(tuple(new))
            except InvalidArchError:  # broke a depth, stride or doubling rule: try another edit
                continue
        return self.sample(rng)

    def _encoder(self, arch: str) -> Encoder:
        return Encoder(macro_layers(arch), None)


SPACES.add("tnb101_micro", TNB101MicroSpace())
SPACES.add("tnb101_macro", TNB101MacroSpace())
