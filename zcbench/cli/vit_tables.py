"""`zcbench-vit-tables [key=value ...]`: every proxy's ranking on the ViT tasks, from their score caches.

Joins each task's ground truth to the scores of its run and writes out_dir/tables.md and
out_dir/correlations.csv (Spearman with a 95% bootstrap interval, Kendall, seconds per arch;
zcbench/analysis/vit_tables.py; keys: zcbench/conf/vit_tables.yaml).
"""
from __future__ import annotations

import hydra
from omegaconf import DictConfig, OmegaConf

from ..errors import exit_on_error
from . import as_list, required

PROG = "zcbench-vit-tables"


def _vit_tables(cfg: DictConfig) -> None:
    from ..analysis.vit_tables import markdown, vit_table, write_vit_tables

    data_root = required(cfg, "data_root", "data folder, or set ZCBENCH_DATA")
    table, skipped = vit_table(cfg.scores_dir, OmegaConf.to_container(cfg.runs), data_root,
                               [str(p) for p in as_list(cfg.every_arch_params)], int(cfg.n_boot))
    for line in skipped:
        print(f"[{PROG}] {line}")
    print(markdown(table, cfg.scores_dir))
    paths = write_vit_tables(table, cfg.out_dir, cfg.scores_dir)
    print(f"[{PROG}] wrote {', '.join(str(p) for p in paths)}")


@hydra.main(config_path="../conf", config_name="vit_tables", version_base=None)
def main(cfg: DictConfig) -> None:
    exit_on_error(PROG, _vit_tables, cfg)


if __name__ == "__main__":
    main()
