"""`zcbench-task-table [key=value ...]`: every proxy x the paper's 19 CNN tasks vs Suite-Zero, from the caches.

Writes the grid, the cells more than 0.1 from their reference with what explains them, and the
per-task tables (zcbench/analysis/task_table.py; keys: zcbench/conf/task_table.yaml).
"""
from __future__ import annotations

from pathlib import Path

import hydra
from omegaconf import DictConfig

from ..errors import exit_on_error
from . import as_list, required


def run(cfg: DictConfig) -> None:
    """Write the proxy x task grid and its explanations."""
    from ..analysis.task_table import write_task_table

    write_task_table(Path(cfg.cache_dir), Path(required(cfg, "data_root", "data folder, or set ZCBENCH_DATA")),
                     [str(t) for t in as_list(cfg.tasks)], Path(cfg.out), int(cfg.n_archs), int(cfg.seed),
                     int(cfg.n_boot), [Path(p) for p in as_list(cfg.noise)])


@hydra.main(config_path="../conf", config_name="task_table", version_base=None)
def main(cfg: DictConfig) -> None:
    exit_on_error("zcbench-task-table", run, cfg)


if __name__ == "__main__":
    main()
