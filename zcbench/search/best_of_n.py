"""best_of_n: score `budget` archs drawn uniformly (without repeats) and keep the best by fitness.

NASWOT's protocol (Mellor et al., 2021, N = 10 / 100 / 1000); with fitness=oracle it is random
search that trains every network, the baseline of NB201's table.
"""
from __future__ import annotations

import random

from .base import SearchRun


def best_of_n(run: SearchRun, rng: random.Random) -> None:
    """Evaluate uniform draws until the budget is spent; the run's best by fitness is the answer."""
    while True:
        run.evaluate(run.random_new(rng))
