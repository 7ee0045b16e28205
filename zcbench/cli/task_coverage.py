"""`zcbench-task-coverage [key=value ...]`: every proxy on every task, as a grid of failures and their reasons.

Scores n_archs archs of each task with the ordinary run (resumable, into runs/<task>), then writes
the grid (zcbench/analysis/coverage.py; keys: zcbench/conf/task_coverage.yaml).
"""
from __future__ import annotations

from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from ..errors import exit_on_error
from . import as_list

PROG = "zcbench-task-coverage"


def run(cfg: DictConfig, command: str = PROG) -> str:
    """Score the tasks, write the grid to `out` and print it; `command` is how the page names its maker."""
    from ..analysis.coverage import coverage_page, score_tasks
    from ..analysis.task_table import cnn_tasks

    tasks = [str(t) for t in as_list(cfg.tasks)] or cnn_tasks()
    runs, vit_size = Path(cfg.runs), cfg.vit_size
    proxies = cfg.proxies if isinstance(cfg.proxies, str) else f"[{','.join(as_list(cfg.proxies))}]"
    frame = score_tasks(tasks, proxies, int(cfg.n_archs), runs, int(cfg.tnb_size), vit_size,
                        bool(cfg.retry_failed))
    text = coverage_page(frame, tasks, command, runs, int(cfg.tnb_size), vit_size, paper_tasks=not cfg.tasks)
    Path(cfg.out).parent.mkdir(parents=True, exist_ok=True)
    Path(cfg.out).write_text(text)
    print(text)
    return text


@hydra.main(config_path="../conf", config_name="task_coverage", version_base=None)
def main(cfg: DictConfig) -> None:
    command = " ".join([PROG, *HydraConfig.get().overrides.task])
    exit_on_error(PROG, run, cfg, command)


if __name__ == "__main__":
    main()
