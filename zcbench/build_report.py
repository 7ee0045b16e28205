"""A markdown report of a built benchmark: what was trained, and how reliable its ranking is.

    zcbench-report benchmark=results/benchmarks/<name>.h5 [out=<name>.md]   (zcbench/cli/report.py)

Per recipe in the file: the recipe, the accuracy spread across archs, how far
two training runs of the same arch differ, the rank agreement between the
runs (top-1 and test cross-entropy, overall and after every epoch when the
records hold learning curves), and one row per arch. The agreement is what
decides whether the file can judge proxies: a ranking that moves as much
between two seeds as between archs ranks noise.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from .build import curve_agreement, read_benchmark, read_records, seed_agreement


def spearman_brown(r: float, k: int) -> float:
    """Reliability of the mean of k runs whose pairwise rank agreement is r (Spearman-Brown)."""
    return k * r / (1 + (k - 1) * r)


def _reliability(r: float) -> str:
    """Spearman-Brown for two runs; undefined for a negative agreement (the runs share no ranking)."""
    return f"{spearman_brown(r, 2):.2f}" if r >= 0 else "- (runs disagree)"


def _recipe_section(frame: pd.DataFrame, records: pd.DataFrame, digest: str, recipe: dict) -> list[str]:
    lines = [f"## Recipe {digest}", "", "`" + json.dumps(recipe, sort_keys=True) + "`", ""]
    seeds = sorted(set(frame["train_seed"]))
    wide = frame.pivot_table(index="arch", columns="train_seed", values="accuracy", aggfunc="mean")
    first = wide[seeds[0]].dropna()
    lines += ["| | |", "|---|---|",
              f"| networks trained | {len(frame)} ({len(wide)} archs; runs per train_seed: "
              + ", ".join(f"{s}: {int(wide[s].notna().sum())}" for s in seeds) + ") |",
              f"| top-1 range | {frame['accuracy'].min():.1f}-{frame['accuracy'].max():.1f} % |",
              f"| spread across archs (sd, train_seed {seeds[0]}) | {first.std(ddof=1):.2f} points |"]
    if len(seeds) > 1:
        both = wide[seeds[:2]].dropna()
        if len(both):
            diff = (both[seeds[0]] - both[seeds[1]]).abs().mean()
            lines.append(f"| mean abs. difference between two runs of one arch | {diff:.2f} points "
                         f"({len(both)} archs) |")
    lines.append(f"| seconds per network | {frame['seconds'].median():.0f} (median) |")
    agreement = seed_agreement(frame)
    lines += [""]
    if agreement.empty:
        lines += ["Only one training run per arch: no agreement between runs to report.", ""]
        return lines
    lines += ["Rank agreement between two training runs of the same archs:", "",
              "| metric | runs | archs | Spearman | Kendall | Spearman-Brown, mean of the 2 runs |",
              "|---|---|---|---|---|---|"]
    for row in agreement.itertuples():
        lines.append(f"| {row.metric} | {row.seed_a} vs {row.seed_b} | {row.n_archs} | {row.spearman:.2f} | "
                     f"{row.kendall:.2f} | {_reliability(row.spearman)} |")
    curves = curve_agreement(records[records["recipe_hash"] == digest])
    if not curves.empty:
        lines += ["", "The same after each epoch (from the learning curves in the records):", "",
                  "| epoch | archs | Spearman top-1 | Spearman loss |", "|---|---|---|---|"]
        for epoch, group in curves.groupby("epoch"):
            by = group.set_index("metric")
            lines.append(f"| {epoch} | {int(by['n_archs'].iloc[0])} | {by.loc['accuracy', 'spearman']:.2f} | "
                         f"{by.loc['eval_loss', 'spearman']:.2f} |" if "eval_loss" in by.index else
                         f"| {epoch} | {int(by['n_archs'].iloc[0])} | {by.loc['accuracy', 'spearman']:.2f} | |")
    lines += ["", "| arch | params (M) | " + " | ".join(f"top-1 %, run {s}" for s in seeds)
              + " | " + " | ".join(f"test loss, run {s}" for s in seeds) + " |",
              "|---|---|" + "---|" * (2 * len(seeds))]
    loss = frame.pivot_table(index="arch", columns="train_seed", values="eval_loss", aggfunc="mean")
    params = frame.groupby("arch")["params"].first()
    for arch in wide.sort_values(seeds[0], ascending=False).index:
        accs = " | ".join("" if np.isnan(wide.loc[arch, s]) else f"{wide.loc[arch, s]:.2f}" for s in seeds)
        losses = " | ".join("" if s not in loss or np.isnan(loss.loc[arch, s]) else f"{loss.loc[arch, s]:.4f}"
                            for s in seeds)
        lines.append(f"| `{arch}` | {params[arch] / 1e6:.2f} | {accs} | {losses} |")
    return lines + [""]


def report(path: str | Path) -> str:
    """The markdown report of one benchmark file (and its records folder, for the curves)."""
    path = Path(path)
    frame, attrs = read_benchmark(path)
    records_dir = path.with_name(path.name + ".records")
    records = read_records(records_dir) if records_dir.is_dir() else frame.assign(curve=None)
    recipes = json.loads(attrs.get("recipes", "{}"))
    lines = [f"# {path.name}", "",
             f"Task {attrs.get('task')}, space {attrs.get('space')}, dataset {attrs.get('dataset')}, "
             f"image size {attrs.get('image_size')}, space options `{attrs.get('space_options')}`. "
             f"Written by `zcbench-report benchmark={path.name}`.", ""]
    for digest in sorted(recipes):
        lines += _recipe_section(frame[frame["recipe_hash"] == digest], records, digest, recipes[digest])
    return "\n".join(lines)

