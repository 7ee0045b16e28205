"""CLI: python -m zcbench proxy=<name|[a,b]|all> task=<task> [n_archs=.. seed=.. ...]."""
from __future__ import annotations

import sys

import hydra
from omegaconf import DictConfig

from .benchmarks.tasks import CONF_DIR
from .errors import ZcbenchError


@hydra.main(config_path=str(CONF_DIR), config_name="config", version_base=None)
def main(cfg: DictConfig) -> None:
    from .harness import run

    try:
        run(cfg)
    except ZcbenchError as err:
        print(f"zcbench: error: {err}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
