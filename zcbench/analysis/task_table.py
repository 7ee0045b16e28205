"""Every proxy x the paper's 19 CNN tasks: our Spearman rho beside NAS-Bench-Suite-Zero's, cell by cell.

Reads the accumulated caches (`<cache_dir>/<task>/scores.h5`) and, per task, the archs of its
seeded n_archs sample that are cached (samples are nested, so a cache filled with n_archs=100
holds the first 100 of the 1,000-sample). Each cell is our rho (failed archs ranked last) and,
in brackets, the reference it is compared with, chosen as in proxy_validation:

- NASLib's correlation runs (NB201, NB101, NB301; 200 archs x 5 seeds),
- else the Spearman of the scores Suite-Zero stored (for TransNAS-Bench-101 against its
  best-epoch accuracy of ~711 archs, while our TNB tasks use the final epoch of every arch),
- else NASLib's full-space scores (zen on NB201 and TNB; synflow and epe_nas on TNB's four
  class-like tasks; final epoch, every arch),
- else the proxy's own paper.

A cell differing by more than 0.1 is starred and listed below the grid with our 95% bootstrap
interval (is the reference inside it?), the reference's own per-arch scores on our archs (if they
give our rho, the sample explains the difference), their agreement with ours, the inputs we
scored with, our own seed-to-seed agreement where a second seed was scored (`noise=`: the
ceiling for any agreement between two implementations), and the reference's source.

    zcbench-task-table out=results/task_table.md           (zcbench/cli/task_table.py)
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from ..cache import load_scores
from ..errors import DataNotFoundError
from .paper_tables import paper_values
from .proxy_validation import markdown as task_sections
from .proxy_validation import validation_table
from .tables import to_markdown, write_report

THRESHOLD = 0.1  # the bar: differences above it are explained


def cnn_tasks() -> list[str]:
    """The paper's 19 CNN tasks in its order (Table 1's columns)."""
    return [t for t in paper_values()["tasks"] if t.startswith(("nb201", "nb101", "nb301", "tnb101"))]


def _noise_dir_for(task: str, noise_tasks: dict[Path, set[str]]) -> Path | None:
    """The first noise dir holding scores of `task` (another seed on some sampled archs)."""
    return next((path for path, tasks in noise_tasks.items() if task in tasks), None)


def task_table(cache_dir: Path, data_root: Path, tasks: Sequence[str], n_archs: int = 1000, seed: int = 0,
               n_boot: int = 200, noise_dirs: Sequence[Path] = ()) -> tuple[pd.DataFrame, list[str]]:
    """Rows (task, proxy) of proxy_validation's table with the inputs scored; and the tasks without a cache.

    `noise_dirs`: score files of another seed on some of a task's sampled archs (seed-to-seed noise).
    """
    frames, missing = [], []
    noise_tasks = {Path(p): set(load_scores(p)["task"]) for p in noise_dirs}  # each file read once
    for task in tasks:
        if not (cache_dir / task / "scores.h5").exists():
            missing.append(task)
            continue
        table = validation_table(cache_dir, data_root, [task], n_archs, seed, n_boot=n_boot,
                                 noise_dir=_noise_dir_for(task, noise_tasks))
        table["inputs"] = table["settings"].map(lambda s: ";".join(s.split(";")[:2]))  # input and batch
        frames.append(table)
    if not frames:
        return pd.DataFrame(), missing
    table = pd.concat(frames, ignore_index=True)
    table["reference_in_ci"] = [bool(r.ci_low <= r.reference <= r.ci_high) if np.isfinite(r.reference)
                                and np.isfinite(r.ci_low) and getattr(r, "reference_metric", "spearman") == "spearman"
                                else None for r in table.itertuples()]  # the interval is rho's
    return table, missing


def _cell(row) -> str:
    text = "-" if not np.isfinite(row.spearman) else f"{row.spearman:.2f}"
    if np.isfinite(row.reference):  # a Kendall reference is compared with our Kendall (proxy_validation)
        tau = getattr(row, "reference_metric", "spearman") == "kendall"
        text += f" (tau {row.reference:.2f})" if tau else f" ({row.reference:.2f})"
        if abs(row.difference) > THRESHOLD:
            text += "*"
    return text


def grid(table: pd.DataFrame, tasks: Sequence[str]) -> pd.DataFrame:
    """proxy x task cells 'ours (reference)', starred where they differ by more than THRESHOLD."""
    cells = {(r.proxy, r.task): _cell(r) for r in table.itertuples()}
    shown = pd.Series(cells, dtype=object).unstack().reindex(columns=list(tasks))
    shown = shown.astype(object).where(shown.notna(), "no scores")
    return shown.sort_index()


def render(table: pd.DataFrame, missing: list[str], tasks: Sequence[str], intro: str) -> str:
    """The grid, the list of differences over THRESHOLD, then each task's full section."""
    labels = paper_values()["tasks"]
    cells = grid(table, tasks)
    archs = table.groupby("task")["n_archs"].max()
    lines = ["# Every proxy on the paper's 19 CNN tasks vs NAS-Bench-Suite-Zero", "", intro, "",
             "| proxy | " + " | ".join(labels.get(t, t) for t in tasks) + " |",
             "|---|" + "---|" * len(tasks),
             "| archs | " + " | ".join(str(int(archs[t])) if t in archs else "0" for t in tasks) + " |"]
    lines += [f"| {p} | " + " | ".join(cells.loc[p]) + " |" for p in cells.index]
    if missing:
        lines += ["", "No scores yet (fill with `make task-scores`): " + ", ".join(missing) + "."]
    far = table[table["difference"].abs() > THRESHOLD]
    compared = table[table["reference"].notna() & np.isfinite(table["reference"])]
    lines += ["", f"## Differences over {THRESHOLD}", "",
              f"{len(far)} of {len(compared)} cells with a reference differ by more than {THRESHOLD}; "
              f"for {int(far['reference_in_ci'].fillna(False).sum())} of them the reference lies inside our "
              "95% bootstrap interval (the sample is too small to tell them apart).", ""]
    if not far.empty:
        shown = pd.DataFrame({
            "task": far["task"], "proxy": far["proxy"], "archs": far["n_archs"],
            "ours [95% CI]": [f"{r.spearman:.2f} [{r.ci_low:.2f}, {r.ci_high:.2f}]" for r in far.itertuples()],
            "reference": far["reference"].map(lambda v: f"{v:.2f}"),
            "difference": far["difference"].map(lambda v: f"{v:+.2f}"),
            "reference in CI": far["reference_in_ci"].map({True: "yes", False: "no", None: "-"}),
            "reference's scores on our archs (n)": [
                f"{r.reference_on_our_archs:.2f} ({r.reference_on_our_archs_n})" if r.reference_on_our_archs_n
                else "-" for r in far.itertuples()],
            "agreement with reference scores (n)": [
                f"{r.agreement:.2f} ({r.agreement_n})" if r.agreement_n else "-" for r in far.itertuples()],
            "ours seed 0 vs 1 (n)": [
                f"{r.seed_to_seed:.2f} ({r.seed_to_seed_n})" if r.seed_to_seed_n else "-" for r in far.itertuples()],
            "our inputs": far["inputs"], "reference source": far["reference_source"]})
        lines += [to_markdown(shown), ""]
    lines += [task_sections(table, "", title="## Per task", level="###")]
    return "\n".join(lines)


def report_intro(cache_dir: Path, n_archs: int, seed: int) -> str:
    """The paragraph above the grid: where the scores come from and what a cell holds."""
    return (f"Produced by `zcbench-task-table` from {cache_dir}/<task>/scores.h5: the "
            f"cached archs of each task's seeded {n_archs}-sample (seed {seed}; row 'archs'), networks "
            "at their seeded initialisation, one batch of real CIFAR-10 images (64 per batch on NB201/NB101/NB301; "
            "32 on TransNAS-Bench-101, whose Taskonomy images are not in the data folder, so CIFAR-10 resized "
            "stands in; the inputs column below gives the size). Cell: our Spearman rho, failed archs ranked last "
            "(NASLib's convention), and in brackets the reference: NASLib's correlation runs, else Suite-Zero's "
            "stored scores (TNB: best-epoch accuracy of its ~711 archs, ours: final epoch), else NASLib's "
            f"full-space scores, else the proxy's paper. * = differs by more than {THRESHOLD}.")


def write_task_table(cache_dir: Path, data_root: Path, tasks: Sequence[str] | None, out: Path, n_archs: int = 1000,
                     seed: int = 0, n_boot: int = 200, noise_dirs: Sequence[Path] = ()) -> pd.DataFrame:
    """The grid of `tasks` (default: the paper's 19 CNN tasks) written to `out` (markdown, and .csv beside it)."""
    tasks = list(tasks) if tasks else cnn_tasks()
    table, missing = task_table(cache_dir, data_root, tasks, n_archs, seed, n_boot, noise_dirs)
    if table.empty:
        raise DataNotFoundError("a score cache for any of " + ", ".join(tasks), [f"{cache_dir}/<task>/scores.h5"],
                                "score them first (make task-scores)")
    write_report(out, render(table, missing, tasks, report_intro(cache_dir, n_archs, seed)), table)
    return table
