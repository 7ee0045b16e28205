"""How well a proxy ranks architectures: rank correlations and top-k precision."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats


def top_fraction_precision(score: np.ndarray, accuracy: np.ndarray, fraction: float = 0.1) -> float:
    """Share of the top `fraction` of archs by score that are also in the top `fraction` by accuracy."""
    k = max(1, int(round(fraction * len(score))))
    by_score = set(np.argsort(-score, kind="stable")[:k])
    by_acc = set(np.argsort(-accuracy, kind="stable")[:k])
    return len(by_score & by_acc) / k


def rank_metrics(score, accuracy) -> dict[str, float]:
    """Spearman, Kendall (tau-b), Pearson and top-10% precision of score vs accuracy."""
    score = np.asarray(score, dtype=float)
    accuracy = np.asarray(accuracy, dtype=float)
    n = len(score)
    if n < 3 or np.ptp(score) == 0 or np.ptp(accuracy) == 0:
        nan = math.nan
        return {"spearman": nan, "kendall": nan, "pearson": nan, "top10_precision": nan, "n_archs": n}
    return {
        "spearman": float(stats.spearmanr(score, accuracy).statistic),
        "kendall": float(stats.kendalltau(score, accuracy).statistic),
        "pearson": float(stats.pearsonr(score, accuracy).statistic),
        "top10_precision": top_fraction_precision(score, accuracy, 0.1),
        "n_archs": n,
    }


def ranks_failed_last(values) -> np.ndarray:
    """Ascending average ranks 1..n (higher score = higher rank); NaN/inf (failures) tie at the bottom."""
    v = np.asarray(values, dtype=float).copy()
    v[~np.isfinite(v)] = -np.inf
    return stats.rankdata(v, method="average")


def correlation_failed_last(values, accuracy, method: str = "spearman") -> float:
    """Spearman rho or Kendall tau-b with every failed (non-finite) score ranked below every scored arch.

    This is how NASLib counts a failure (it replaces NaN/inf by -1e8), so it is
    the number to set beside NAS-Bench-Suite-Zero's. NaN with fewer than 3 archs
    or when either side is constant (e.g. every arch failed).
    """
    r, a = ranks_failed_last(values), np.asarray(accuracy, dtype=float)
    if len(r) < 3 or np.ptp(r) == 0 or np.ptp(a) == 0:
        return math.nan
    if method == "spearman":
        return float(stats.spearmanr(r, a).statistic)
    if method == "kendall":
        return float(stats.kendalltau(r, a).statistic)
    raise ValueError(f"method {method!r}; valid methods: kendall, spearman")


def spearman_failed_last(score, accuracy) -> float:
    """Spearman rho of a score against accuracy, failures (NaN/inf) ranked below every scored arch."""
    return correlation_failed_last(score, accuracy, "spearman")


def kendall_failed_last(score, accuracy) -> float:
    """Kendall tau-b of a score against accuracy, failures (NaN/inf) ranked below every scored arch."""
    return correlation_failed_last(score, accuracy, "kendall")


def correlation_table(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per (task, proxy, seed, settings): rank metrics over archs with ground truth.

    `frame` is a load_scores()-style table; archs without ground truth are left
    out. Two rules, each labelled: spearman/kendall/pearson/top10_precision leave
    failed archs out (they are counted in `n_failed`); spearman_failed_last and
    kendall_failed_last rank them below every scored arch (NASLib's way, the one
    the leaderboard and the paper tables use). Set a Spearman beside the Kendall
    of the same rule.
    """
    rows = []
    for (task, proxy, seed, settings), g in frame.groupby(["task", "proxy", "seed", "settings"], sort=True):
        g = g[g["accuracy"].notna()]
        failed = g["error"].astype(bool).to_numpy()
        usable = g[~failed]
        metrics = rank_metrics(usable["score"], usable["accuracy"])
        failed_as_nan = g["score"].to_numpy(dtype=float, copy=True)
        failed_as_nan[failed] = math.nan
        rows.append({"task": task, "proxy": proxy, "seed": seed, **metrics,
                     "n_failed": int(failed.sum()),
                     "spearman_failed_last": spearman_failed_last(failed_as_nan, g["accuracy"])
                     if failed.any() else metrics["spearman"],
                     "kendall_failed_last": kendall_failed_last(failed_as_nan, g["accuracy"])
                     if failed.any() else metrics["kendall"],
                     "mean_seconds": float(g["seconds"].mean()), "settings": settings})
    columns = ["task", "proxy", "seed", "spearman", "kendall", "pearson", "top10_precision",
               "n_archs", "n_failed", "spearman_failed_last", "kendall_failed_last", "mean_seconds", "settings"]
    return pd.DataFrame(rows, columns=columns)


def score_summary(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per (task, proxy, seed, settings) without ground truth: what was scored.

    For tasks that have no accuracies (transfer tasks, a search space alone) a
    correlation row would be all NaN; this says instead how many archs were
    scored, how many failed and why (the most frequent reason), the spread of
    the finite scores and the mean seconds per arch.
    """
    rows = []
    for (task, proxy, seed, settings), g in frame.groupby(["task", "proxy", "seed", "settings"], sort=True):
        errors = g["error"].fillna("").astype(str)
        failed = errors.astype(bool)
        finite = g.loc[~failed, "score"].astype(float)
        reasons = errors[failed].value_counts()
        rows.append({"task": task, "proxy": proxy, "seed": seed, "n_archs": len(g),
                     "n_failed": int(failed.sum()),
                     "top_failure": f"{reasons.index[0]} (x{reasons.iloc[0]})" if len(reasons) else "",
                     "score_min": float(finite.min()) if len(finite) else math.nan,
                     "score_median": float(finite.median()) if len(finite) else math.nan,
                     "score_max": float(finite.max()) if len(finite) else math.nan,
                     "mean_seconds": float(g["seconds"].mean()), "settings": settings})
    columns = ["task", "proxy", "seed", "n_archs", "n_failed", "top_failure", "score_min", "score_median",
               "score_max", "mean_seconds", "settings"]
    return pd.DataFrame(rows, columns=columns)


def bootstrap_interval(score, accuracy, method: str = "spearman", n_boot: int = 1000,
                       level: float = 0.95, seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of a rank correlation, resampling architectures.

    Small benchmarks (a few hundred archs over a narrow accuracy range) give
    wide intervals; reporting them says how far two proxies' rho really differ.
    ``method`` is "spearman" or "kendall". Resamples where either side is
    constant are skipped; (nan, nan) if fewer than 3 archs.
    """
    if method not in ("spearman", "kendall"):
        raise ValueError(f"method {method!r}; valid methods: kendall, spearman")
    score = np.asarray(score, dtype=float)
    accuracy = np.asarray(accuracy, dtype=float)
    n = len(score)
    if n < 3:
        return math.nan, math.nan
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, size=(n_boot, n))
    values = []
    for rows in idx:
        s, a = score[rows], accuracy[rows]
        if np.ptp(s) == 0 or np.ptp(a) == 0:
            continue
        if method == "spearman":
            values.append(stats.spearmanr(s, a).statistic)
        else:
            values.append(stats.kendalltau(s, a).statistic)
    if not values:
        return math.nan, math.nan
    tail = (1.0 - level) / 2.0 * 100.0
    lo, hi = np.percentile(values, [tail, 100.0 - tail])
    return float(lo), float(hi)
