"""`zcbench-search task=<task> strategy=<preset> fitness=<proxy|ensemble|random|oracle> [key=value ...]`.

Also `python -m zcbench.search` (the stable contract). Its config is zcbench/conf/search/config.yaml
(strategy presets in zcbench/conf/search/strategy/); the search itself: zcbench/search/driver.py.
A bad strategy or task name is answered in one line before Hydra composes anything.
"""
from __future__ import annotations

import sys

import hydra
from omegaconf import DictConfig

from ..errors import exit_on_error

PROG = "zcbench-search"


@hydra.main(config_path="../conf/search", config_name="config", version_base=None)
def search(cfg: DictConfig) -> None:
    from ..search.driver import run_search

    exit_on_error(PROG, run_search, cfg)


def main() -> None:
    """Check the strategy and task names of the command line, then run the search."""
    from ..search.config import check_argv

    exit_on_error(PROG, check_argv, sys.argv[1:])
    search()


if __name__ == "__main__":
    main()
