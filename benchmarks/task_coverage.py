"""Does every proxy run on every one of the paper's 19 CNN tasks? A proxy x task grid of failures.

For each task, `python -m zcbench proxy=all task=<task> n_archs=<n>` (the ordinary run, into
runs/coverage/<task>/, so a rerun resumes), then one cell per (proxy, task): "ok" when every
scored arch got a finite score, else "k/n failed" and the most frequent reason, shortened.
TransNAS-Bench-101 tasks run at --tnb-size pixels (default 64: 256-px TNB networks cost up to a
minute per forward+backward on one CPU core); failures that only small inputs cause are marked
as such by the reason ("Expected more than 1 value per channel": BatchNorm over a 1x1 map).

Run: ZCBENCH_DATA=... python benchmarks/task_coverage.py [--archs 2] [--tnb-size 64] [--out results/task_coverage.md]
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import pandas as pd

from zcbench.analysis.paper_tables import paper_values
from zcbench.ensembles.table import current_rows
from zcbench.benchmarks.tasks import load_task
from zcbench.cache import load_scores
from zcbench.harness import compose, run


def short_reason(error: str, width: int = 110) -> str:
    """The first line of a failure reason, without the exception class and long numbers."""
    text = error.splitlines()[0] if error else ""
    text = re.sub(r"^[A-Za-z_.]*(Error|Exception): ", "", text)
    return text if len(text) <= width else text[: width - 3] + "..."


def coverage(frame: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """proxy x task cells ('ok', or 'k/n failed [r]') and the list of reasons r refers to."""
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--archs", type=int, default=2)
    parser.add_argument("--tnb-size", type=int, default=64)
    parser.add_argument("--vit-size", type=int, default=None,
                        help="image size of AutoFormer tasks (default: the task's own, 224)")
    parser.add_argument("--tasks", nargs="*", help="default: the paper's 19 CNN tasks")
    parser.add_argument("--proxies", default="all", help="proxy=... of the runs (the grid shows every proxy cached)")
    parser.add_argument("--retry-failed", action="store_true", help="recompute cached failures (after a fix)")
    parser.add_argument("--runs", type=Path, default=Path("runs/coverage"))
    parser.add_argument("--out", type=Path, default=Path("results/task_coverage.md"))
    args = parser.parse_args()
    tasks = args.tasks or list(paper_values()["tasks"])
    frames = []
    for task in tasks:
        overrides = [f"task={task}", f"proxy={args.proxies}", f"n_archs={args.archs}", "seed=0", "progress=false",
                     f"out_dir={args.runs / task}", f"retry_failed={str(args.retry_failed).lower()}"]
        if task.startswith("tnb101"):
            overrides.append(f"task.image_size={args.tnb_size}")
        elif args.vit_size and load_task(task).space.startswith("autoformer"):
            overrides.append(f"task.image_size={args.vit_size}")
        result = run(compose(overrides))
        frame = current_rows(load_scores(result.scores_path))  # rows of older proxy code are stale
        frames.append(frame[frame["task"] == task])
    frame = pd.concat(frames, ignore_index=True)
    grid, reasons = coverage(frame)
    grid = grid[tasks]
    archs = frame.groupby("task")["arch"].nunique()
    joined = frame.groupby("task")["accuracy"].apply(lambda a: bool(a.notna().all()))
    labels = paper_values()["tasks"]
    lines = ["# Every proxy on " + ("the paper's 19 CNN tasks" if not args.tasks else "these tasks"), "",
             f"`python benchmarks/task_coverage.py {' '.join(sys.argv[1:])}`, over the score files that the "
             f"proxy=all runs left in {args.runs}/<task> (seed 0; TransNAS-Bench-101 at {args.tnb_size} px"
             + (f", AutoFormer at {args.vit_size} px" if args.vit_size else "") + "). "
             "A cell is ok when every scored arch got a finite score, else failed/scored and the most "
             "frequent reason [r] (listed below). Archs scored per task: "
             + ", ".join(f"{t} {archs[t]}" for t in tasks) + ". Ground truth joined for every scored arch: "
             + ("yes" if all(joined[t] for t in tasks) else
                "NO for " + ", ".join(t for t in tasks if not joined[t])) + ".", "",
             "| proxy | " + " | ".join(labels.get(t, t) for t in tasks) + " |",
             "|---|" + "---|" * len(tasks)]
    lines += [f"| {proxy} | " + " | ".join(grid.loc[proxy]) + " |" for proxy in grid.index]
    lines += ["", "Reasons:", ""] + [f"{i}. {r}" for i, r in enumerate(reasons, start=1)] + [""]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
