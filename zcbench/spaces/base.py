"""The contract every search space implements.

Architectures travel through zcbench as canonical strings: the cache, the
ground-truth join and `archs=` files all use them, so every space must map any
accepted encoding to exactly one canonical string.
"""
from __future__ import annotations

import abc
import random

from torch import nn

from ..errors import ZcbenchError


class SearchSpace(abc.ABC):
    """A search space: parse/validate encodings, sample, build networks."""

    name: str = ""

    @abc.abstractmethod
    def canonical(self, text: str) -> str:
        """Validate an encoding and return the canonical architecture string.

        Raises InvalidArchError saying what is wrong with `text`.
        """

    @abc.abstractmethod
    def sample(self, rng: random.Random) -> str:
        """Draw one architecture uniformly at random; returns its canonical string."""

    @abc.abstractmethod
    def build(self, arch: str, num_classes: int, **options) -> nn.Module:
        """Build the network of `arch` (canonical string) at random initialisation.

        `options` come from the task config's `space_options` (e.g. a task head,
        an image size); a space rejects options it does not know, naming them.
        """

    def from_benchmark_key(self, key: str) -> str:
        """Canonical string of an architecture key as a ground-truth file writes it.

        Defaults to canonical(); spaces whose benchmark files use another
        encoding (e.g. NASLib's op-index tuples) override it.
        """
        return self.canonical(key)

    def mutate(self, arch: str, rng: random.Random) -> str:
        """A neighbour of `arch` (one choice changed), for evolutionary search.

        Spaces that support evolution override it; the default says the space has none.
        """
        raise ZcbenchError(f"space {self.name} has no mutation operator, so it cannot be searched by "
                           "evolution; use strategy=best_of_n")

    def check_options(self, options: dict, valid: tuple[str, ...] = ()) -> None:
        """Raise if `options` has keys outside `valid` (typos in a task's space_options)."""
        extra = sorted(set(options) - set(valid))
        if extra:
            raise ZcbenchError(f"space {self.name} does not take options {extra}; "
                               f"valid options: {sorted(valid) or 'none'}")


class ReducedCellNetwork(nn.Module):
    """TE-NAS's reduced network for counting linear regions: one cell of width 1 without stem,
    then BatchNorm+ReLU, global pooling and a linear head (its NB201 `model_config_thin`:
    C=1, N=1, depth=1, no stem). `cell` maps 1 channel to 1 channel."""

    def __init__(self, cell: nn.Module, outputs: int):
        super().__init__()
        self.cell = cell
        self.lastact = nn.Sequential(nn.BatchNorm2d(1), nn.ReLU(inplace=False))
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(1, outputs)

    def forward(self, x):
        x = self.lastact(self.cell(x))
        return self.classifier(self.global_pooling(x).flatten(1))
