"""Evolution with a zero-cost fitness: regularized (aging) evolution and AutoFormer's evolution.

- evolution (Real et al., 2019; REA in NB201's table): a population of random archs; each
  cycle draws `sample_size` members, mutates the fittest one (the space's one-choice mutation,
  projected onto a ground-truth pool where the search is restricted to one), adds the child and
  drops the oldest member. Children already visited are redrawn, so every step scores a new arch.
- evolution_autoformer (Chen et al., 2021, AutoFormer's search): a first generation of
  `population` random archs, then per generation the `parents` fittest archs seen so far give
  `mutations` children by AutoFormer's mutation (depth and each layer's mlp_ratio / num_heads
  resampled with `mutation_prob`, embed_dim with `embed_prob`) and `crossovers` children by
  crossover of two same-depth parents. Defaults are AutoFormer's: 50, 20 generations, 10, 25, 25,
  0.2, 0.4.
"""
from __future__ import annotations

import random
from collections import deque

from .base import SearchRun


def evolution(run: SearchRun, rng: random.Random, population: int = 10, sample_size: int = 3) -> None:
    """Regularized evolution until the budget is spent (the answer is the best by fitness)."""
    members: deque[str] = deque()
    while len(members) < population:
        arch = run.random_new(rng)
        if run.evaluate(arch):
            members.append(arch)
    while True:
        contenders = rng.sample(list(members), min(sample_size, len(members)))
        parent = run.best(contenders)
        child = run.new_arch(lambda: run.domain.mutate(parent, rng))
        if run.evaluate(child):
            members.append(child)
            members.popleft()


def evolution_autoformer(run: SearchRun, rng: random.Random, population: int = 50, generations: int = 20,
                         parents: int = 10, mutations: int = 25, crossovers: int = 25,
                         mutation_prob: float = 0.2, embed_prob: float = 0.4) -> None:
    """AutoFormer's generational evolution until `generations` or the budget is spent."""
    while len(run.history) < population:
        run.evaluate(run.random_new(rng))
    for _ in range(generations):
        order = run.fitness_values().argsort()[::-1][:parents]
        top = [run.history[i] for i in order]
        children = []
        for _ in range(mutations):
            children.append(run.new_arch(lambda: run.domain.mutate(rng.choice(top), rng, prob=mutation_prob,
                                                                   embed_prob=embed_prob)))
        for _ in range(crossovers):
            children.append(run.new_arch(lambda: _crossover(run, top, rng)))
        for child in children:
            run.evaluate(child)


def _crossover(run: SearchRun, top: list[str], rng: random.Random) -> str:
    """A crossover child of two same-depth parents of `top` (a mutation when no pair has one depth)."""
    depth = {a: run.domain.space.subnet(a).depth for a in top}  # type: ignore[attr-defined]
    pairs = [(a, b) for a in top for b in top if a < b and depth[a] == depth[b]]
    if not pairs:
        return run.domain.mutate(rng.choice(top), rng)
    a, b = pairs[rng.randrange(len(pairs))]
    return run.domain.crossover(a, b, rng)
