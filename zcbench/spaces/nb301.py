"""NAS-Bench-301 (the DARTS space without 'none') and `darts` (with it, as SWAP sampled it).

Both read the DARTS ``Genotype(...)`` repr and NASLib's compact form (see
darts_genotype) and share one canonical string: the Genotype repr with each
node's two pairs sorted by (input, op).

- nb301: ops max_pool_3x3, avg_pool_3x3, skip_connect, sep_conv_3x3,
  sep_conv_5x5, dil_conv_3x3, dil_conv_5x5; the two inputs of a node are
  distinct (NB301's ConfigSpace picks an input pair, and NASLib samples them
  without replacement). The network defaults to NASLib's NB301 model: DARTS
  NetworkCIFAR with C=32, 8 cells, BatchNorm inside the cell ops without affine
  parameters and after each pooling op, no auxiliary head. That reproduces
  Suite-Zero's `params` exactly (725/725), and its nwot ranking better than
  DARTS' own network does.
- darts: the 8 DARTS ops including 'none', and a node may read one input twice
  (1,306 of the 4,000 nodes in SWAP's DARTS_archs_CIFAR10.csv do). Sampling
  draws one cell used as both normal and reduction cell, with independent
  inputs, which is what that file holds (normal == reduce in all 1,000 rows).
"""
from __future__ import annotations

import random
from typing import Any, Mapping

from torch import nn

from ..errors import ZcbenchError
from . import SPACES
from .base import SearchSpace
from .darts_genotype import (COMPACT_OPS, DARTS_OPS, CellRules, Genotype, parse, sample_cell, to_compact,
                             to_string)
from .darts_network import NetworkCIFAR

#: build() options and what they set (names as a task's space_options write them).
BUILD_OPTIONS = ("channels", "layers", "stem", "stem_multiplier", "affine", "pool_bn", "in_channels")


class DartsLikeSpace(SearchSpace):
    """A DARTS cell space: parse/validate genotypes, sample, build NetworkCIFAR."""

    def __init__(self, name: str, rules: CellRules, defaults: Mapping[str, Any], tied_cells: bool):
        self.name = name
        self.rules = rules
        self.defaults = dict(defaults)
        self.tied_cells = tied_cells

    def genotype(self, text: str) -> Genotype:
        """The validated Genotype of any accepted encoding."""
        return parse(text, self.rules)

    def canonical(self, text: str) -> str:
        return to_string(self.genotype(text))

    def to_compact(self, arch: str) -> tuple:
        """NASLib compact tuple of an arch (raises for 'none', which the compact form lacks)."""
        return to_compact(self.genotype(arch))

    def sample(self, rng: random.Random) -> str:
        normal = sample_cell(rng, self.rules)
        reduce = normal if self.tied_cells else sample_cell(rng, self.rules)
        return to_string(Genotype(normal, reduce))

    def build(self, arch: str, num_classes: int, **options) -> nn.Module:
        """NetworkCIFAR of `arch`; options: BUILD_OPTIONS (in_channels: image channels, 1 for NinaPro)."""
        self.check_options(options, BUILD_OPTIONS)
        settings = {**self.defaults, **options}
        for key in ("channels", "layers", "stem_multiplier", "in_channels"):
            if isinstance(settings[key], bool) or not isinstance(settings[key], int) or settings[key] < 1:
                raise ZcbenchError(f"space {self.name}: option {key}={settings[key]!r} must be a positive "
                                   "integer")
        return NetworkCIFAR(self.genotype(arch), num_classes, channels=settings["channels"],
                            layers=settings["layers"], stem=bool(settings["stem"]),
                            stem_multiplier=settings["stem_multiplier"], affine=bool(settings["affine"]),
                            pool_bn=bool(settings["pool_bn"]), in_channels=settings["in_channels"])


NB301_RULES = CellRules("nb301", COMPACT_OPS, distinct_inputs=True)
DARTS_RULES = CellRules("darts", DARTS_OPS, distinct_inputs=False)
#: NASLib's NB301 model (reproduces Suite-Zero's params and its nwot best); DARTS' own
#: evaluation network, which SWAP's code copies, has affine cell BatchNorm and no BN after pooling.
NB301_NETWORK = {"channels": 32, "layers": 8, "stem": True, "stem_multiplier": 3, "affine": False,
                 "pool_bn": True, "in_channels": 3}
DARTS_NETWORK = {"channels": 32, "layers": 8, "stem": True, "stem_multiplier": 3, "affine": True,
                 "pool_bn": False, "in_channels": 3}

SPACES.add("nb301", DartsLikeSpace("nb301", NB301_RULES, NB301_NETWORK, tied_cells=False))
SPACES.add("darts", DartsLikeSpace("darts", DARTS_RULES, DARTS_NETWORK, tied_cells=True))
