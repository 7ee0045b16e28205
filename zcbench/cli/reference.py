"""`zcbench-reference scores=<run dir or scores.h5>`: a run's correlations beside NAS-Bench-Suite-Zero's.

Writes suite_zero_comparison.md beside the scores (or out=); with write_archs=FILE it writes
Suite-Zero's own archs of suite_zero_task instead, to score them with `zcbench archs=FILE`
(zcbench/analysis/reference.py).
"""
from __future__ import annotations

from pathlib import Path

import hydra
from omegaconf import DictConfig

from ..errors import UnknownNameError, exit_on_error
from . import required


def run(cfg: DictConfig) -> None:
    """Write and print the comparison page, or with write_archs Suite-Zero's archs of the task."""
    from ..analysis.reference import NASLIB_NAMES, comparison_page, suite_zero_archs

    data_root = Path(required(cfg, "data_root", "data folder, or set ZCBENCH_DATA"))
    if cfg.write_archs:
        task = str(cfg.suite_zero_task)
        if task not in NASLIB_NAMES:
            raise UnknownNameError("suite_zero_task", task, list(NASLIB_NAMES))
        archs = suite_zero_archs(data_root, task)
        Path(cfg.write_archs).write_text("\n".join(archs) + "\n")
        print(f"wrote {len(archs)} archs of {task} to {cfg.write_archs}")
        return
    scores = Path(required(cfg, "scores", "run folder or scores.h5 (or write_archs=FILE)"))
    text = comparison_page(scores, data_root)
    out = Path(cfg.out) if cfg.out else (scores if scores.is_dir() else scores.parent) / "suite_zero_comparison.md"
    out.write_text(text)
    print(text)


@hydra.main(config_path="../conf", config_name="reference", version_base=None)
def main(cfg: DictConfig) -> None:
    exit_on_error("zcbench-reference", run, cfg)


if __name__ == "__main__":
    main()
