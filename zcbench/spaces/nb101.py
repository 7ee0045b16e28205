"""NAS-Bench-101: cells of at most 7 vertices and 9 edges, 423,624 unique cells.

Canonical form (see nb101_spec): the pruned cell as
``input,conv3x3-bn-relu,...,output|0110/0001/...`` in the vertex order whose
string sorts first, so isomorphic specs share one string. Accepted encodings:
that string (any vertex order, unpruned too), a JSON/Python dict
``{"matrix": [[...]], "ops": [...]}``, and NASLib's 56-tuple (49 row-major
matrix entries, 7 op indices into input, output, maxpool3x3, conv1x1-bn-relu,
conv3x3-bn-relu), the key of NAS-Bench-Suite-Zero's zc_nasbench101.json.
"""
from __future__ import annotations

import random

from torch import nn

from ..errors import InvalidArchError, ZcbenchError
from . import SPACES
from .base import SearchSpace
from .nb101_net import INITS, NB101Network
from .nb101_spec import (INPUT, INTERIOR_OPS, MAX_VERTICES, OUTPUT, Cell101, nb101_hash, parse,
                         to_naslib_tuple)

__all__ = ["NB101Space", "Cell101", "parse", "nb101_hash", "to_naslib_tuple"]


def random_spec(rng: random.Random) -> tuple[list[list[int]], list[str]]:
    """One raw 7-vertex spec as NB101's generator draws it: fair coin per upper-triangular
    entry, uniform op per interior vertex (validity is checked by the caller)."""
    n = MAX_VERTICES
    matrix = [[int(j > i and rng.random() < 0.5) for j in range(n)] for i in range(n)]
    ops = [INPUT] + [rng.choice(INTERIOR_OPS) for _ in range(n - 2)] + [OUTPUT]
    return matrix, ops


class NB101Space(SearchSpace):
    """NAS-Bench-101 search space (canonical = pruned cell in canonical vertex order)."""

    name = "nb101"
    max_tries = 10_000

    def canonical(self, text: str) -> str:
        return parse(text).to_string()

    def cell(self, arch: str) -> Cell101:
        """The pruned, canonically ordered cell of any accepted encoding."""
        return parse(arch)

    def sample(self, rng: random.Random) -> str:
        """Rejection sampling over raw specs, as NB101's random_spec does.

        Draws are uniform over raw 7-vertex specs, not over unique cells: cells
        with many raw forms (dangling vertices, isomorphic orders) come up more often,
        exactly as in NB101's and NASLib's samplers.
        """
        for _ in range(self.max_tries):
            matrix, ops = random_spec(rng)
            try:
                return self.canonical(str({"matrix": matrix, "ops": ops}))
            except InvalidArchError:
                continue
        raise ZcbenchError(f"no valid nb101 spec in {self.max_tries} draws")

    def build(self, arch: str, num_classes: int, **options) -> nn.Module:
        """The NB101 network; option ``init`` is 'nb101' (TF initialisers, default) or 'naslib'."""
        self.check_options(options, ("init",))
        init = options.get("init", "nb101")
        if init not in INITS:
            raise ZcbenchError(f"nb101 space option init={init!r}; valid inits: {', '.join(INITS)}")
        return NB101Network(parse(arch), num_classes, init=init)

    def from_benchmark_key(self, key: str) -> str:
        return self.canonical(key)

    def to_naslib_tuple(self, arch: str) -> tuple[int, ...]:
        return to_naslib_tuple(parse(arch))

    def hash(self, arch: str) -> str:
        """NB101's official graph hash of the cell (the key of the nasbench records)."""
        return nb101_hash(parse(arch))


SPACES.add("nb101", NB101Space())
