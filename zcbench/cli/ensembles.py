"""`zcbench-ensembles scores=<scores.h5 or folder> [ensemble=libra] [out=FILE.h5]`: an ensemble as a proxy.

Chooses the ensemble's members on the tuning half of each task and seed, scores the disjoint
evaluation half, prints the members and the Spearman rho, and with out= writes the ensemble's
scores as an ordinary score file (zcbench/ensembles/held_out.py).
"""
from __future__ import annotations

import hydra
from omegaconf import DictConfig

from ..errors import exit_on_error
from . import required

PROG = "zcbench-ensembles"


def run(cfg: DictConfig) -> list[dict]:
    """Print (and with `out`, write) the ensemble's held-out result per task and seed."""
    from ..cache import load_scores
    from ..ensembles.held_out import held_out_report

    frame = load_scores(required(cfg, "scores", "scores.h5 file or folder of them"))
    if cfg.only_task is not None:
        frame = frame[frame["task"] == cfg.only_task]
    report = held_out_report(cfg.ensemble, frame, float(cfg.tune_fraction), cfg.out)
    for line in report:
        print(f"{cfg.ensemble} on {line['task']} seed {line['seed']}: members {line['members']} (chosen on "
              f"{line['n_tune']} archs), rho {line['spearman']:.3f}, tau {line['kendall']:.3f} on "
              f"{line['n_eval']} other archs")
    if cfg.out:
        print(f"[{PROG}] wrote {cfg.out}")
    return report


@hydra.main(config_path="../conf", config_name="ensembles", version_base=None)
def main(cfg: DictConfig) -> None:
    exit_on_error(PROG, run, cfg)


if __name__ == "__main__":
    main()
