"""How accuracy behaves among a proxy's highest-scoring NB201 cells (results/search.md's evidence).

A search that maximises a proxy harder only helps if the proxy's top scores are also the most accurate
cells. Two views, both from stored scores (nothing is computed here):
- the uniform sample of a task's score cache: the top 1 / 2 / 5 / 10 % by the proxy (unbiased, but the
  top 1 % of 1,000 archs is only 10 cells);
- every distinct cell the whole-space searches with that proxy scored (runs.csv): evolution visits far
  higher scores than a uniform sample reaches, so its top cells show where the proxy's optimum lies.
For each group: mean accuracy, Spearman between proxy and accuracy inside it, and the share of each
operation among the cells' six edges.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Iterable, Sequence

import pandas as pd

NB201_OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
SAMPLE_SHARES = (1, 2, 5, 10, 100)     # % of the uniform sample, by proxy score
VISITED_TOP = (1, 5, 10, 20, 50)       # highest-scoring cells the searches visited
_EDGE = re.compile(r"\|([a-z_0-9]+)~\d")


def nb201_ops(arch: str) -> list[str]:
    """The six edge operations of an NB201 cell string (|op~0|+|op~0|op~1|+|...|)."""
    ops = _EDGE.findall(arch)
    if len(ops) != 6 or any(op not in NB201_OPS for op in ops):
        raise ValueError(f"not an NB201 cell: {arch!r}")
    return ops


def op_shares(archs: Iterable[str]) -> dict[str, float]:
    """Share of each NB201 operation among all edges of `archs`."""
    ops = pd.Series([op for arch in archs for op in nb201_ops(arch)], dtype=object)
    counts = ops.value_counts(normalize=True)
    return {op: float(counts.get(op, 0.0)) for op in NB201_OPS}


def top_groups(frame: pd.DataFrame, sizes: Sequence[int], labels: Sequence[str]) -> pd.DataFrame:
    """One row per group: the `size` cells of `frame` (arch, score, accuracy) with the highest score."""
    ranked = frame.sort_values("score", ascending=False, kind="mergesort")
    rows = []
    for size, label in zip(sizes, labels):
        top = ranked.head(size)
        rows.append({"top": label, "n": len(top), "min_score": float(top["score"].min()),
                     "top_arch": str(top["arch"].iloc[0]),
                     "mean_accuracy": float(top["accuracy"].mean()), "std_accuracy": float(top["accuracy"].std()),
                     "spearman": float(top["score"].corr(top["accuracy"], method="spearman")) if len(top) > 2
                     else float("nan"),
                     **op_shares(top["arch"])})
    return pd.DataFrame(rows)


def sample_tail(scores: pd.DataFrame, proxy: str, version: str,
                shares: Sequence[int] = SAMPLE_SHARES) -> pd.DataFrame:
    """Top shares (%) of a cache's uniform sample by `proxy` at `version` (load_scores' frame)."""
    rows = scores[(scores["proxy"] == proxy) & (scores["proxy_version"].astype(str) == str(version))
                  & scores["accuracy"].notna() & (scores["error"].fillna("") == "")]
    rows = rows.drop_duplicates("arch")[["arch", "score", "accuracy"]]
    sizes = [max(1, round(len(rows) * s / 100)) for s in shares]
    out = top_groups(rows, sizes, [f"{s}%" for s in shares])
    return out.assign(proxy=proxy, view="uniform sample")


def visited_tail(runs_files: Sequence[Path], proxy: str, tops: Sequence[int] = VISITED_TOP) -> pd.DataFrame:
    """Highest-scoring distinct cells that searches with fitness `proxy` visited (their runs.csv files)."""
    runs = pd.concat([pd.read_csv(f) for f in runs_files], ignore_index=True)
    runs = runs.dropna(subset=["accuracy"]).drop_duplicates("arch").rename(columns={"fitness": "score"})
    out = top_groups(runs[["arch", "score", "accuracy"]], list(tops), [f"top {k}" for k in tops])
    return out.assign(proxy=proxy, view=f"visited by the searches ({len(runs)} cells)")
