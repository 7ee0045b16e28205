"""`zcbench-leaderboard [key=value ...]`: rank every proxy and ensemble on every task.

Scores what the caches lack (zcbench/conf/leaderboard.yaml and its sample, zcbench/conf/sample/:
tasks, proxies, n_archs, seeds; sample=full for the paper protocol), then writes
results/leaderboard.md, results/leaderboard.csv (one row per task, seed and method),
results/leaderboard_summary.csv,
results/leaderboard_libra_choices.csv (each proxy's tuning rho, information gain and bias behind
LIBRA's choice) and results/figures/. The protocol: zcbench/analysis/leaderboard.py.
"""
from __future__ import annotations

import time
from typing import TYPE_CHECKING

import hydra
from omegaconf import DictConfig

from ..errors import exit_on_error

if TYPE_CHECKING:
    import pandas as pd

PROG = "zcbench-leaderboard"


def run(cfg: DictConfig) -> pd.DataFrame:
    """Write the leaderboard's files, print its summary and each task's status; returns its rows."""
    from ..analysis.pages import leaderboard_page

    start = time.time()
    page = leaderboard_page(cfg)
    if not page.summary.empty:
        print(page.summary.to_string(float_format=lambda v: f"{v:.3f}"))
    for task, note in page.status.items():
        print(f"[{PROG}] {task}: {note}")
    print(f"[{PROG}] wrote {', '.join(str(p) for p in page.paths.values())} in {time.time() - start:.0f} s")
    return page.rows


@hydra.main(config_path="../conf", config_name="leaderboard", version_base=None)
def main(cfg: DictConfig) -> None:
    exit_on_error(PROG, run, cfg)


if __name__ == "__main__":
    main()
