"""`zcbench-lswag-ablation 'dirs=[...]' [out=FILE.md]`: the shape of the L-SWAG paper's Table 3.

Reads each ablation run's scores.h5 and prints (and with out= writes) the Spearman rho of the
L-SWAG variants told apart by their window (zcbench/analysis/lswag_ablation.py).
"""
from __future__ import annotations

from pathlib import Path

import hydra
from omegaconf import DictConfig

from ..errors import exit_on_error
from . import as_list, required


def run(cfg: DictConfig) -> None:
    """Print (and with `out`, write) the ablation table."""
    from ..analysis.lswag_ablation import ablation_report

    _, text = ablation_report(as_list(required(cfg, "dirs", "list of ablation run folders")))
    print(text)
    if cfg.out:
        Path(cfg.out).write_text(text)


@hydra.main(config_path="../conf", config_name="lswag_ablation", version_base=None)
def main(cfg: DictConfig) -> None:
    exit_on_error("zcbench-lswag-ablation", run, cfg)


if __name__ == "__main__":
    main()
