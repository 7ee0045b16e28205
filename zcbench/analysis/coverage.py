"""Does every proxy run on every task? A proxy x task grid of failures, from ordinary scoring runs.

For each task, `zcbench proxy=all task=<task> n_archs=<n>` (the ordinary run, into
<runs>/<task>/, so a rerun resumes), then one cell per (proxy, task): "ok" when every scored
arch got a finite score, else "k/n [r]": k of n archs failed, most often for reason r (listed
under the grid, shortened). TransNAS-Bench-101 tasks run at `tnb_size` pixels (256-px TNB
networks cost up to a minute per forward+backward on one CPU core); failures that only small
inputs cause show in the reason ("Expected more than 1 value per channel": BatchNorm over a 1x1 map).
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Sequence

import pandas as pd

from ..tasks.task import load_task
from ..cache import load_scores
from ..ensembles.table import current_rows
from .paper_tables import paper_values


def short_reason(error: str, width: int = 110) -> str:
    """The first line of a failure reason, without the exception class and long numbers."""
    text = error.splitlines()[0] if error else ""
    text = re.sub(r"^[A-Za-z_.]*(Error|Exception): ", "", text)
    return text if len(text) <= width else text[: width - 3] + "..."


def coverage(frame: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """proxy x task cells ('ok', or 'k/n [r]') and the list of reasons r refers to."""
    reasons: list[str] = []
    cells = {}
    for (task, proxy), g in frame.groupby(["task", "proxy"]):
        failed = g[g["error"] != ""]
        if failed.empty:
            cells[(proxy, task)] = "ok"
            continue
        reason = failed["error"].map(short_reason).value_counts().index[0]
        if reason not in reasons:
            reasons.append(reason)
        cells[(proxy, task)] = f"{len(failed)}/{len(g)} [{reasons.index(reason) + 1}]"
    return pd.Series(cells).unstack().fillna("-"), reasons


def score_tasks(tasks: Sequence[str], proxies: str, n_archs: int, runs: Path, tnb_size: int,
                vit_size: int | None = None, retry_failed: bool = False) -> pd.DataFrame:
    """Score `proxies` on n_archs archs (seed 0) of each task into runs/<task>; the current rows of each."""
    from ..harness import compose, run

    frames = []
    for task in tasks:
        overrides = [f"task={task}", f"proxy={proxies}", f"n_archs={n_archs}", "seed=0", "progress=false",
                     f"out_dir={runs / task}", f"retry_failed={str(retry_failed).lower()}",
                     "write_table=false"]  # the grid is the output; a shared cache's correlations.csv stays as it is
        if task.startswith("tnb101"):
            overrides.append(f"task.image_size={tnb_size}")
        elif vit_size and load_task(task).space.startswith("autoformer"):
            overrides.append(f"task.image_size={vit_size}")
        result = run(compose(overrides))
        frame = current_rows(load_scores(result.scores_path))  # rows of older proxy code are stale
        frames.append(frame[frame["task"] == task])
    return pd.concat(frames, ignore_index=True)


def coverage_page(frame: pd.DataFrame, tasks: Sequence[str], command: str, runs: Path, tnb_size: int,
                  vit_size: int | None = None, paper_tasks: bool = True) -> str:
    """The markdown page: the command that made it, archs scored per task, the grid and its reasons."""
    grid, reasons = coverage(frame)
    grid = grid[list(tasks)]
    archs = frame.groupby("task")["arch"].nunique()
    joined = frame.groupby("task")["accuracy"].apply(lambda a: bool(a.notna().all()))
    labels = paper_values()["tasks"]
    lines = ["# Every proxy on " + ("the paper's 19 CNN tasks" if paper_tasks else "these tasks"), "",
             f"`{command}`, over the score files that the "
             f"proxy=all runs left in {runs}/<task> (seed 0; TransNAS-Bench-101 at {tnb_size} px"
             + (f", AutoFormer at {vit_size} px" if vit_size else "") + "). "
             "A cell is ok when every scored arch got a finite score, else failed/scored and the most "
             "frequent reason [r] (listed below). Archs scored per task: "
             + ", ".join(f"{t} {archs[t]}" for t in tasks) + ". Ground truth joined for every scored arch: "
             + ("yes" if all(joined[t] for t in tasks) else
                "NO for " + ", ".join(t for t in tasks if not joined[t])) + ".", "",
             "| proxy | " + " | ".join(labels.get(t, t) for t in tasks) + " |",
             "|---|" + "---|" * len(tasks)]
    lines += [f"| {proxy} | " + " | ".join(grid.loc[proxy]) + " |" for proxy in grid.index]
    lines += ["", "Reasons:", ""] + [f"{i}. {r}" for i, r in enumerate(reasons, start=1)] + [""]
    return "\n".join(lines)
