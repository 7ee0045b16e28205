"""`zcbench-search-table [skip_computed=true] [report_only=true]`: the searches of results/search.md, then the report.

Whole-space NB201 searches and searches inside the committed score caches, evaluated by
ground-truth lookup (zcbench/search/table.py; keys: zcbench/conf/search_table.yaml).
"""
from __future__ import annotations

import hydra
from omegaconf import DictConfig

from ..errors import exit_on_error


def run(cfg: DictConfig) -> None:
    """Run the search grid (or read it) and write the report."""
    from ..search.table import OUT, write_search_report

    out = write_search_report(cfg.out, bool(cfg.skip_computed), bool(cfg.report_only))
    print(f"[zcbench-search-table] wrote {out} and {OUT / 'summary.csv'}")


@hydra.main(config_path="../conf", config_name="search_table", version_base=None)
def main(cfg: DictConfig) -> None:
    exit_on_error("zcbench-search-table", run, cfg)


if __name__ == "__main__":
    main()
