"""pruning: TE-NAS-style progressive pruning of each edge's op choices by proxy ranking.

TE-NAS (Chen et al., 2021) starts from the supernet with every op on every edge and, round
after round, removes on each edge the op whose removal hurts its indicators least, until one op
per edge is left. A supernet is not an arch of the space (it has no ground truth and no cache
key), so here an op's merit is measured on archs of the current sub-space: on edge e, `samples`
draws of the other edges' ops (the same draws for every op of e) are completed with each op o
still allowed on e; each draw ranks those ops by fitness, and o's merit is its mean rank. The op
of lowest merit leaves each edge; after 4 rounds (NB201: 5 ops -> 1) one arch remains, and it is
the answer. On a fitness that is a sum of per-edge terms this finds the optimum exactly (each
draw ranks the ops of e the same way). `samples` is set from the budget: the rounds cost
sum_r E * |ops_r| * samples networks (84 per sample on NB201, 60 on TNB micro).

Spaces: cells with a fixed edge list (NB201, TNB micro). DARTS cells (NB301) are searched only
inside the ground-truth pool, where a pruned sub-space's archs have no ground truth, so pruning
does not apply there.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..errors import ZcbenchError
from .base import BudgetSpent, SearchRun


@dataclass(frozen=True)
class CellCoding:
    """A cell space as `edges` positions with `ops` choices each, and the maps to its arch strings."""

    edges: int
    ops: int
    encode: Callable[[str], tuple[int, ...]]
    decode: Callable[[tuple[int, ...]], str]


def cell_coding(space_name: str) -> CellCoding:
    """The edge/op coding of a cell space; a clear error for spaces pruning does not handle."""
    if space_name == "nb201":
        from ..spaces.nb201 import EDGES, OPS, from_naslib_tuple, to_naslib_tuple
        return CellCoding(len(EDGES), len(OPS), to_naslib_tuple, from_naslib_tuple)
    if space_name == "tnb101_micro":
        from ..spaces.tnb101_encoding import MICRO_OPS, micro_from_ops, micro_ops
        return CellCoding(6, len(MICRO_OPS), micro_ops, micro_from_ops)
    raise ZcbenchError(f"strategy=pruning prunes the op choices of a cell's edges; space {space_name} is not "
                       "such a cell space (valid: nb201, tnb101_micro)")


def pruning_cost(coding: CellCoding, samples: int) -> int:
    """Networks one pruning search scores at most (before deduplication)."""
    return sum(coding.edges * k * samples for k in range(coding.ops, 1, -1))


def pruning(run: SearchRun, rng: random.Random, samples: int | None = None) -> str | None:
    """Prune one op per edge per round until one arch is left; returns it (see the module doc)."""
    if run.domain.pool is not None:
        raise ZcbenchError("strategy=pruning needs the whole space (every arch with ground truth); this "
                           "search is restricted to a pool")
    coding = cell_coding(run.domain.space.name)
    if samples is None:
        samples = max(1, run.budget // pruning_cost(coding, 1))
    allowed = [list(range(coding.ops)) for _ in range(coding.edges)]
    try:
        while any(len(a) > 1 for a in allowed):
            merit = _round(run, rng, coding, allowed, samples)
            for e, ops in enumerate(allowed):
                if len(ops) > 1:
                    worst = min(ops, key=lambda o: (merit[e][o], -o))
                    ops.remove(worst)
    except BudgetSpent:
        return None  # budget too small to finish: the answer is the best arch scored
    final = coding.decode(tuple(a[0] for a in allowed))
    if final not in run.domain:  # e.g. one of LIBRA's tuning archs: never an answer
        return None
    try:
        run.evaluate(final)
    except BudgetSpent:
        pass
    return final


def _round(run: SearchRun, rng: random.Random, coding: CellCoding, allowed: list[list[int]],
           samples: int) -> list[dict[int, float]]:
    """Per edge, per allowed op: mean rank (0 = worst) over `samples` shared draws of the other edges."""
    draws = {e: [[rng.choice(a) for a in allowed] for _ in range(samples)] for e in range(coding.edges)}
    groups = []  # (edge, ops, archs)
    for e, ops in enumerate(allowed):
        if len(ops) < 2:
            continue
        for draw in draws[e]:
            archs = []
            for o in ops:
                cell = list(draw)
                cell[e] = o
                archs.append(coding.decode(tuple(cell)))
            groups.append((e, ops, archs))
    for _, _, archs in groups:  # score everything first: ensemble fitness ranks the whole history
        for arch in archs:
            if arch in run.domain:
                run.evaluate(arch)
    merit: list[dict[int, list[float]]] = [{o: [] for o in ops} for ops in allowed]
    scored = set(run.history)  # excluded or over the parameter budget: ranked last
    for e, ops, archs in groups:
        values = iter(run.fitness_values([a for a in archs if a in scored]))
        full = np.array([next(values) if a in scored else -np.inf for a in archs])
        ranks = full.argsort(kind="stable").argsort()
        for o, r in zip(ops, ranks):
            merit[e][o].append(float(r))
    return [{o: float(np.mean(v)) for o, v in m.items()} for m in merit]
