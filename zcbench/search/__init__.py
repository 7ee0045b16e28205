"""Architecture search driven by any proxy or ensemble, evaluated by ground-truth lookup.

    python -m zcbench.search task=nb201_cifar10 strategy=evolution fitness=nwot budget=100 n_runs=10

STRATEGIES maps a strategy name to a function `(run, rng, **options) -> arch | None` that calls
`run.evaluate(arch)` until the budget is spent (base.SearchRun); zcbench/conf/search/strategy/ holds their
presets. Fitness (fitness.py) goes through the harness's score cache; the driver (driver.py)
runs n_runs independent runs and writes runs.csv, summary.csv and the plot (report.py).
"""
from __future__ import annotations

from ..registry import Registry
from .base import BudgetSpent, SearchRun, Strategy
from .best_of_n import best_of_n
from .evolution import evolution, evolution_autoformer
from .pruning import pruning

STRATEGIES: Registry[Strategy] = Registry("strategy")
STRATEGIES.add("best_of_n", best_of_n)
STRATEGIES.add("evolution", evolution)
STRATEGIES.add("evolution_autoformer", evolution_autoformer)
STRATEGIES.add("pruning", pruning)

__all__ = ["STRATEGIES", "BudgetSpent", "SearchRun", "Strategy"]
