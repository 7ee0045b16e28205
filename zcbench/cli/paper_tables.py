"""`zcbench-paper-tables [key=value ...]`: the paper's Tables 1, 3 and 4, ours beside the paper's.

Reads (and, with compute=true, first fills) the leaderboard's caches with the leaderboard's keys
(zcbench/conf/paper_tables.yaml includes zcbench/conf/leaderboard.yaml) and writes
results/paper_tables.md and results/paper_tables.csv.
"""
from __future__ import annotations

import hydra
from omegaconf import DictConfig

from ..errors import exit_on_error

PROG = "zcbench-paper-tables"


def run(cfg: DictConfig) -> None:
    """Write and print the paper tables."""
    from ..analysis.pages import paper_tables_page

    page = paper_tables_page(cfg)
    print(page.text)
    print(f"[{PROG}] wrote {' and '.join(str(p) for p in page.paths)}")


@hydra.main(config_path="../conf", config_name="paper_tables", version_base=None)
def main(cfg: DictConfig) -> None:
    exit_on_error(PROG, run, cfg)


if __name__ == "__main__":
    main()
