"""One search run: the archs it scored, in order, within a budget of distinct networks.

A strategy asks `run.evaluate(arch)`; the run scores the arch through the Scorer (the cache
answers archs scored before by any run), counts it against the budget once, and keeps the
order. `run.fitness()` is the fitness over the run's history (for an ensemble, ranks within
it), `run.best()` the arch a search would return now. An optional parameter budget
(`max_params`, in millions, from the cached `params` proxy) rejects archs before their
fitness is computed; rejected archs do not count against the budget.
"""
from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import Callable, Protocol

import numpy as np

from .domain import Domain
from .fitness import Fitness, Scorer


class BudgetSpent(Exception):
    """Raised by evaluate() when the run has scored `budget` networks (strategies stop on it)."""


@dataclass
class SearchRun:
    """History and budget of one run of one strategy."""

    domain: Domain
    fitness: Fitness
    scorer: Scorer | None
    budget: int
    max_params: float | None = None
    history: list[str] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    rejected: set[str] = field(default_factory=set)
    rng: random.Random = field(default_factory=random.Random)
    started: float = field(default_factory=time.perf_counter)

    @property
    def remaining(self) -> int:
        return self.budget - len(self.history)

    def seen(self, arch: str) -> bool:
        return arch in self._seen or arch in self.rejected

    def __post_init__(self) -> None:
        self._seen: set[str] = set(self.history)

    def allowed(self, arch: str) -> bool:
        """False if the arch breaks the parameter budget (its params are scored and cached once)."""
        if self.max_params is None:
            return True
        if arch in self.rejected:
            return False
        assert self.scorer is not None
        self.scorer.score(arch, ["params"])
        params = self.scorer.known[("params", arch)][0]
        if not params <= self.max_params * 1e6:
            self.rejected.add(arch)
            return False
        return True

    def evaluate(self, arch: str) -> bool:
        """Score `arch` if new and allowed; True if it joined the history. BudgetSpent when full."""
        if arch in self._seen or not self.allowed(arch):
            return False
        if self.remaining <= 0:
            raise BudgetSpent
        cost = self.scorer.score(arch, self.fitness.members) if self.fitness.members else 0.0
        self.history.append(arch)
        self._seen.add(arch)
        self.seconds.append(cost)
        if self.remaining <= 0:
            raise BudgetSpent
        return True

    def fitness_values(self, archs: list[str] | None = None) -> np.ndarray:
        """Fitness of `archs` (default: the whole history) within the history; higher = better."""
        values = dict(zip(self.history, self.fitness.values(self.scorer, self.history)))
        return np.array([values[a] for a in (self.history if archs is None else archs)])

    def best(self, among: list[str] | None = None) -> str:
        """The arch of highest fitness in `among` (default: the history); ties: the earliest."""
        among = self.history if among is None else among
        values = self.fitness_values(among)
        return among[int(np.argmax(values))]

    def new_arch(self, propose: Callable[[], str], tries: int = 100) -> str:
        """An arch from `propose` that the run has not visited (a fresh sample after `tries`)."""
        for _ in range(tries):
            arch = propose()
            if not self.seen(arch) and self.allowed(arch):
                return arch
        return self.random_new()

    def random_new(self, rng: random.Random | None = None, tries: int = 10_000) -> str:
        rng = rng or self.rng
        for _ in range(tries):
            arch = self.domain.sample(rng)
            if not self.seen(arch) and self.allowed(arch):
                return arch
        raise BudgetSpent  # the domain is exhausted (every arch visited or rejected)


class Strategy(Protocol):
    """A search strategy: drives run.evaluate() until it returns (or BudgetSpent); returns the
    arch it recommends (None: the best of the history by fitness)."""

    def __call__(self, run: SearchRun, rng: random.Random, **options) -> str | None: ...
