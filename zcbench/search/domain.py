"""Where a search may go: the whole space, or a pool of architectures (those with ground truth).

A search over NB201 or TransNAS-Bench-101 visits the whole space, since every cell has ground
truth. NB101, NB301 and the OoD-ViT-NAS pools hold ground truth for a sample only, so a search
there is restricted to the pool: sampling draws pool members, and a mutation that leaves the
pool is projected back onto it (a pool member at the smallest Hamming distance from the
mutated child, over the space's choice vector, ties drawn at random). Archs a tuned fitness
chose its members on (LIBRA's tuning sample) are excluded from both.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from ..errors import ZcbenchError
from ..spaces import SearchSpace


def _nb201(arch: str) -> tuple[float, ...]:
    from ..spaces.nb201 import to_naslib_tuple
    return tuple(map(float, to_naslib_tuple(arch)))


def _micro(arch: str) -> tuple[float, ...]:
    from ..spaces.tnb101_encoding import micro_ops
    return tuple(map(float, micro_ops(arch)))


def _macro(arch: str) -> tuple[float, ...]:
    from ..spaces.tnb101_encoding import macro_layers
    layers = macro_layers(arch)
    return tuple(map(float, layers + (0,) * (6 - len(layers))))


def _autoformer(space: SearchSpace) -> Callable[[str], tuple[float, ...]]:
    most = max(space.choices.depths)  # type: ignore[attr-defined]

    def vector(arch: str) -> tuple[float, ...]:
        sub = space.subnet(arch)  # type: ignore[attr-defined]
        pad = (0.0,) * (most - sub.depth)
        return (float(sub.embed_dim), float(sub.depth), *map(float, sub.mlp_ratio), *pad,
                *map(float, sub.num_heads), *pad)
    return vector


def choice_vector(space: SearchSpace) -> Callable[[str], tuple[float, ...]] | None:
    """The per-position choices of an arch (for projecting onto a pool), or None if not defined."""
    if space.name == "nb201":
        return _nb201
    if space.name == "tnb101_micro":
        return _micro
    if space.name == "tnb101_macro":
        return _macro
    if space.name.startswith("autoformer"):
        return _autoformer(space)
    return None


@dataclass
class Domain:
    """The archs a search may visit: `pool` (None = the whole space) minus `excluded`."""

    space: SearchSpace
    pool: list[str] | None = None
    excluded: frozenset[str] = frozenset()
    _members: set[str] = field(default_factory=set, init=False, repr=False)
    _vectors: np.ndarray | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.pool is not None:
            self.pool = sorted(set(self.pool) - set(self.excluded))
            if not self.pool:
                raise ZcbenchError("the search pool is empty (every arch was excluded)")
            self._members = set(self.pool)

    @property
    def size(self) -> int | None:
        return len(self.pool) if self.pool is not None else None

    def __contains__(self, arch: str) -> bool:
        if arch in self.excluded:
            return False
        return self.pool is None or arch in self._members

    def sample(self, rng: random.Random) -> str:
        """One arch drawn uniformly from the domain."""
        if self.pool is not None:
            return self.pool[rng.randrange(len(self.pool))]
        for _ in range(10_000):
            arch = self.space.sample(rng)
            if arch not in self.excluded:
                return arch
        raise ZcbenchError(f"could not draw an arch of space {self.space.name} outside the excluded set")

    def mutate(self, arch: str, rng: random.Random, **options) -> str:
        """The space's mutation of `arch`, projected onto the domain when it leaves it."""
        child = self.space.mutate(arch, rng, **options)
        if child in self:
            return child
        if self.pool is None:  # whole space: only an excluded arch can be hit; mutate again
            for _ in range(100):
                child = self.space.mutate(arch, rng, **options)
                if child in self:
                    return child
            return self.sample(rng)
        return self.project(child, rng, avoid=arch)

    def crossover(self, a: str, b: str, rng: random.Random) -> str:
        """The space's crossover of two parents, projected onto the domain like a mutation."""
        child = self.space.crossover(a, b, rng)  # type: ignore[attr-defined]
        if child in self:
            return child
        return self.project(child, rng) if self.pool is not None else self.mutate(a, rng)

    def project(self, arch: str, rng: random.Random, avoid: str | None = None) -> str:
        """A pool member nearest to `arch` (Hamming distance over the choice vector; ties at random)."""
        vector = choice_vector(self.space)
        if vector is None:
            raise ZcbenchError(f"space {self.space.name} defines no choice vector, so a mutation cannot be "
                               "projected onto its ground-truth pool; use strategy=best_of_n")
        assert self.pool is not None
        if self._vectors is None:
            self._vectors = np.array([vector(a) for a in self.pool])
        distance = (self._vectors != np.array(vector(arch))).sum(axis=1).astype(float)
        if avoid is not None and avoid in self._members:
            distance[self.pool.index(avoid)] = np.inf
        nearest = np.flatnonzero(distance == distance.min())
        return self.pool[int(nearest[rng.randrange(len(nearest))])]


def whole_space(space: SearchSpace, truth_archs: Sequence[str]) -> bool:
    """True when the ground truth covers every arch of the space (NB201, TNB micro/macro)."""
    if space.name == "nb201":
        from ..spaces.nb201 import all_archs
    else:
        all_archs = getattr(space, "all_archs", None)
        if all_archs is None:
            return False
    return len(set(truth_archs)) >= len(all_archs())
