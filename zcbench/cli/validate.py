"""`zcbench-validate [key=value ...]`: every proxy on NB201 next to its published Spearman rho.

Reads the score caches (zcbench/conf/validate.yaml: cache_dir, tasks, n_archs, seed) and writes
the report and its CSV (zcbench/analysis/proxy_validation.py); with write_sample=FILE it writes a
sub-sample of archs to score with another seed instead.
"""
from __future__ import annotations

from pathlib import Path

import hydra
from omegaconf import DictConfig

from ..errors import exit_on_error
from . import as_list, required

PROG = "zcbench-validate"


def run(cfg: DictConfig) -> None:
    """Write the validation report, or with write_sample the sub-sample to score with another seed."""
    from ..analysis.proxy_validation import markdown, report_intro, validation_table, write_sample
    from ..analysis.tables import write_report

    data_root = Path(required(cfg, "data_root", "data folder, or set ZCBENCH_DATA"))
    tasks = [str(t) for t in as_list(cfg.tasks)]
    if cfg.write_sample:
        archs = write_sample(tasks[0], data_root, int(cfg.n_archs), int(cfg.seed), int(cfg.sample_size),
                             Path(cfg.write_sample))
        print(f"wrote the first {len(archs)} archs of {tasks[0]}'s seed-{cfg.seed} sample to {cfg.write_sample}")
        return
    optional = {k: Path(cfg[k]) if cfg[k] else None for k in ("agreement", "noise")}
    table = validation_table(Path(cfg.cache_dir), data_root, tasks, int(cfg.n_archs), int(cfg.seed),
                             optional["agreement"], optional["noise"], int(cfg.n_boot))
    write_report(Path(cfg.out), markdown(table, report_intro(Path(cfg.cache_dir), int(cfg.n_archs), int(cfg.seed))),
                 table)


@hydra.main(config_path="../conf", config_name="validate", version_base=None)
def main(cfg: DictConfig) -> None:
    exit_on_error(PROG, run, cfg)


if __name__ == "__main__":
    main()
