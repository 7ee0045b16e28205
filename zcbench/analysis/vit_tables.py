"""Proxy rankings on the ViT tasks (results/vit/): Spearman with a bootstrap interval, and Kendall,
of every proxy on every ViT task with scores.

Each task is evaluated on the scores of one run (`runs`: task -> folder under the scores
directory). The Auto-Prox *_base tasks read the matching *_kd run: the network, the image batch
and the head are the same, only the ground truth differs, so those are the scores a *_base run
would compute. Per run the rows are chosen as for every other table (zcbench.ensembles.table:
the current code version of each proxy, the settings covering the most archs) and kept on the
archs every proxy scored; the task's ground truth is joined, failed archs are left out (counted
in n_failed), and rank_metrics and bootstrap_interval (zcbench.analysis.stats) give the numbers.

Tasks matching `every_arch_params` also get a 'params (every arch)' row: the parameter count of
every arch with ground truth, computed by param_count without building a network (it equals the
built network's count, tests/test_space_autoformer.py), so that row covers all archs at no cost.
"""
from __future__ import annotations

import fnmatch
import math
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from ..tasks.task import ground_truth, load_task
from ..cache import load_scores
from ..ensembles.table import current_rows, widest_settings
from .stats import bootstrap_interval, rank_metrics
from .tables import to_markdown

COLUMNS = ["task", "proxy", "n", "n_failed", "spearman", "spearman_ci_lo", "spearman_ci_hi", "kendall",
           "accuracy_range", "mean_seconds", "scored_in_run", "settings"]
EVERY_ARCH = "(analytic count)"  # scored_in_run of the 'params (every arch)' rows


def run_rows(scores: pd.DataFrame, run: str) -> pd.DataFrame:
    """The rows of task `run` that a table compares: each proxy's current version under its widest
    settings at an input the protocol validated for it (as the leaderboard reads them), on the archs
    every proxy scored (an older, larger sample may add a few to some)."""
    rows = current_rows(scores)
    rows = rows[rows["task"] == run]
    rows = rows[rows["settings"] == rows["proxy"].map(widest_settings(rows, task=run))]
    shared = set.intersection(*(set(g["arch"]) for _, g in rows.groupby("proxy"))) if len(rows) else set()
    return rows[rows["arch"].isin(shared)]


def _row(task: str, proxy: str, score: np.ndarray, accuracy: np.ndarray, n_failed: int, seconds: float,
         run: str, settings: str, n_boot: int) -> dict:
    metrics = rank_metrics(score, accuracy)
    lo, hi = bootstrap_interval(score, accuracy, "spearman", n_boot=n_boot, seed=0)
    return {"task": task, "proxy": proxy, "n": len(score), "n_failed": n_failed, "spearman": metrics["spearman"],
            "spearman_ci_lo": lo, "spearman_ci_hi": hi, "kendall": metrics["kendall"],
            "accuracy_range": f"{accuracy.min():.2f}-{accuracy.max():.2f}" if len(accuracy) else "",
            "mean_seconds": seconds, "scored_in_run": run, "settings": settings}


def task_rows(task: str, rows: pd.DataFrame, run: str, truth: pd.Series, n_boot: int) -> list[dict]:
    """One row per proxy of `rows` (run_rows of `run`) against `truth` (accuracy by arch)."""
    out = []
    for proxy, group in rows.groupby("proxy"):
        judged = group[group["arch"].isin(truth.index)]
        ok = judged[judged["error"] == ""]
        out.append(_row(task, proxy, ok["score"].to_numpy(float), truth.loc[ok["arch"]].to_numpy(float),
                        int((judged["error"] != "").sum()), float(ok["seconds"].mean()) if len(ok) else math.nan,
                        run, group["settings"].iloc[0], n_boot))
    return out


def params_on_every_arch(task: str, data_root: str | Path, n_boot: int) -> dict:
    """The params proxy on every arch of the task's ground truth, counted without building networks."""
    from ..spaces import get_space
    from ..spaces.autoformer_net import ViTOptions, param_count

    t = load_task(task)
    truth = ground_truth(t, data_root)
    space, opts = get_space(t.space), ViTOptions(**t.space_options)
    params = np.array([param_count(space.subnet(a), t.num_classes, opts) for a in truth["arch"]], dtype=float)
    return _row(task, "params (every arch)", params, truth["accuracy"].to_numpy(float), 0, 0.0, EVERY_ARCH,
                "input=none;batch=none", n_boot)


def vit_table(scores_dir: str | Path, runs: Mapping[str, str], data_root: str | Path,
              every_arch_params: Sequence[str] = (), n_boot: int = 1000) -> tuple[pd.DataFrame, list[str]]:
    """(one row per task and proxy, in `runs` order; the tasks whose run has no scores, with why)."""
    rows, skipped, loaded = [], [], {}
    for task, run in runs.items():
        path = Path(scores_dir) / run
        if (path / "scores.h5").exists():
            if run not in loaded:
                loaded[run] = run_rows(load_scores(path), run)
            truth = ground_truth(load_task(task), data_root).set_index("arch")["accuracy"]
            rows += task_rows(task, loaded[run], run, truth, n_boot)
        else:
            skipped.append(f"{task}: no scores in {path}, skipped")
        if any(fnmatch.fnmatchcase(task, pattern) for pattern in every_arch_params):
            rows.append(params_on_every_arch(task, data_root, n_boot))
    return pd.DataFrame(rows, columns=COLUMNS), skipped


def _number(value: float, digits: int) -> str:
    return "-" if not np.isfinite(value) else f"{value:.{digits}f}"


def markdown(table: pd.DataFrame, scores_dir: str | Path = "results/vit/scores") -> str:
    """One section per task: what was scored, then its proxies by Spearman (best first)."""
    lines = []
    for task, group in table.groupby("task", sort=False):
        first = group.iloc[0] if len(group) == 1 else group[group["scored_in_run"] != EVERY_ARCH].iloc[0]
        ordered = group.sort_values("spearman", ascending=False)
        shown = pd.DataFrame({
            "proxy": ordered["proxy"], "n": ordered["n"], "failed": ordered["n_failed"],
            "spearman": ordered["spearman"].map(lambda v: _number(v, 3)),
            "95% CI": [f"[{lo:.3f}, {hi:.3f}]" if np.isfinite(lo) else "-"
                       for lo, hi in zip(ordered["spearman_ci_lo"], ordered["spearman_ci_hi"])],
            "kendall": ordered["kendall"].map(lambda v: _number(v, 3)),
            "s/arch": ordered["mean_seconds"].map(lambda v: _number(v, 2)),
            "input": [next((part.split("=", 1)[1] for part in s.split(";") if part.startswith("batch=")), "-")
                      for s in ordered["settings"]]})
        lines += [f"### {task}", "",
                  f"{first['n']} archs scored (accuracy {first['accuracy_range']}); scores from run "
                  f"`{Path(scores_dir) / first['scored_in_run']}`; each proxy's input (batch x channels x pixels) "
                  f"in the last column (results/protocol.md says which cheaper inputs rank like the paper's).", "",
                  to_markdown(shown), ""]
    return "\n".join(lines)


def write_vit_tables(table: pd.DataFrame, out_dir: str | Path, scores_dir: str | Path) -> tuple[Path, Path]:
    """out_dir/correlations.csv (every number, 4 decimals) and out_dir/tables.md; returns their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "correlations.csv", index=False, float_format="%.4f")
    (out / "tables.md").write_text(markdown(table, scores_dir))
    return out / "correlations.csv", out / "tables.md"
