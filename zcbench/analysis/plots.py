"""Figures: the leaderboard heatmap, score vs accuracy, proxy-vs-proxy correlation, score vs #params.

Every figure names its task and proxies, labels its axes, and sizes itself to
the number of panels so that text does not overlap. Matplotlib's Agg backend
writes PNGs without a display.
"""
from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Sequence

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from ..ensembles.table import ScoreTable  # noqa: E402
from .stats import ranks_failed_last, spearman_failed_last  # noqa: E402


def _save(fig, path: Path) -> Path:
    """Write the figure as a PNG, unless the file already holds exactly these bytes (a rerun with
    nothing new leaves the figures untouched)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    png = io.BytesIO()
    fig.savefig(png, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    if not (path.is_file() and path.read_bytes() == png.getvalue()):
        path.write_bytes(png.getvalue())
    return path


def _annotated_heatmap(ax, values: np.ndarray, rows: Sequence[str], cols: Sequence[str],
                       vmin: float = -1.0, vmax: float = 1.0, fmt: str = "{:.2f}"):
    cmap = matplotlib.colormaps["RdBu_r"].with_extremes(bad="#dddddd")
    im = ax.imshow(np.ma.masked_invalid(values), cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto")
    ax.set_xticks(range(len(cols)), cols, rotation=40, ha="right", fontsize=8)
    ax.set_yticks(range(len(rows)), rows, fontsize=8)
    for i in range(values.shape[0]):
        for j in range(values.shape[1]):
            v = values[i, j]
            if math.isnan(v):
                ax.text(j, i, "n/a", ha="center", va="center", fontsize=7, color="#777777")
            else:
                ax.text(j, i, fmt.format(v), ha="center", va="center", fontsize=7,
                        color="white" if abs(v) > 0.6 * max(abs(vmin), abs(vmax)) else "black")
    return im


def leaderboard_heatmap(summ: pd.DataFrame, tasks: Sequence[str], path: str | Path) -> Path:
    """Methods (rows, best mean rho first) x tasks (+ mean) of Spearman rho."""
    cols = list(tasks) + ["mean rho"]
    values = summ[cols].to_numpy(dtype=float)
    labels = [f"{m} ({k})" if k == "ensemble" else m for m, k in zip(summ.index, summ["kind"])]
    fig, ax = plt.subplots(figsize=(2.2 + 1.0 * len(cols), 1.2 + 0.32 * len(labels)))
    im = _annotated_heatmap(ax, values, labels, cols)
    ax.axvline(len(tasks) - 0.5, color="black", lw=1.5)
    ax.set_xlabel("task")
    ax.set_ylabel("proxy or ensemble")
    ax.set_title("Spearman rho vs ground truth (evaluation half; failures ranked last)", fontsize=10)
    fig.colorbar(im, ax=ax, fraction=0.04, pad=0.02, label="Spearman rho")
    return _save(fig, path)


def _log_x(ax) -> None:
    """Log x axis with labels on the decades only (minor labels overlap in small panels)."""
    ax.set_xscale("log")
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())


def _grid(n: int, max_cols: int = 5) -> tuple[int, int]:
    cols = min(max_cols, max(1, n))
    return math.ceil(n / cols), cols


def score_vs_accuracy(table: ScoreTable, path: str | Path, metric: str = "accuracy",
                      extra: dict[str, pd.Series] | None = None) -> Path:
    """One panel per proxy (and per extra score, e.g. an ensemble): score vs ground truth."""
    series = {p: table.scores[p] for p in table.proxies}
    series.update(extra or {})
    rows, cols = _grid(len(series))
    fig, axes = plt.subplots(rows, cols, figsize=(3.1 * cols, 2.7 * rows), squeeze=False)
    for ax, (name, s) in zip(axes.flat, series.items()):
        acc = table.accuracy.loc[s.index].to_numpy()
        v = s.to_numpy(dtype=float)
        ok = np.isfinite(v)
        rho = spearman_failed_last(v, acc)
        ax.scatter(v[ok], acc[ok], s=5, alpha=0.5, lw=0)
        ax.set_title(f"{name}: rho {rho:.2f}" + (f", {int((~ok).sum())} failed" if (~ok).any() else ""),
                     fontsize=9)
        ax.set_xlabel(f"{name} score", fontsize=8)
        ax.set_ylabel("ground truth", fontsize=8)
        ax.tick_params(labelsize=7)
        if ok.sum() > 2 and (v[ok] > 0).all() and v[ok].max() / max(v[ok].min(), 1e-300) > 1e3:
            _log_x(ax)
    for ax in list(axes.flat)[len(series):]:
        ax.set_visible(False)
    fig.suptitle(f"{table.task}, seed {table.seed}: proxy score vs ground truth = {metric} "
                 f"({len(table.accuracy)} archs)", fontsize=11)
    fig.tight_layout()
    return _save(fig, path)


def proxy_correlations(table: ScoreTable, path: str | Path) -> Path:
    """Spearman between every pair of proxies (failures last), plus each proxy vs accuracy."""
    names = table.proxies
    ranked = pd.DataFrame({p: ranks_failed_last(table.scores[p]) for p in names}, index=table.scores.index)
    ranked["accuracy"] = table.accuracy.to_numpy()
    corr = ranked.corr(method="spearman").to_numpy()
    labels = names + ["accuracy"]
    size = 1.5 + 0.42 * len(labels)
    fig, ax = plt.subplots(figsize=(size + 1.2, size))
    im = _annotated_heatmap(ax, corr, labels, labels)
    ax.set_title(f"{table.task}: Spearman between proxies ({len(ranked)} archs)\n"
                 "high = the two proxies carry the same ranking information", fontsize=10)
    fig.colorbar(im, ax=ax, fraction=0.04, pad=0.02, label="Spearman rho")
    return _save(fig, path)


def score_vs_params(table: ScoreTable, path: str | Path, params: str = "params",
                    metric: str = "accuracy") -> Path | None:
    """The size bias: each proxy's score (and the accuracy) against #params; None without params."""
    if params not in table.scores.columns:
        return None
    p = table.scores[params].to_numpy(dtype=float)
    truth = "ground truth"
    series = {truth: table.accuracy}  # the first, red panel: the ground truth's own size bias
    series.update({n: table.scores[n] for n in table.proxies if n != params})
    rows, cols = _grid(len(series))
    fig, axes = plt.subplots(rows, cols, figsize=(3.1 * cols, 2.7 * rows), squeeze=False)
    for ax, (name, s) in zip(axes.flat, series.items()):
        v = s.to_numpy(dtype=float)
        ok = np.isfinite(v) & np.isfinite(p)
        bias = spearman_failed_last(v, p)
        ax.scatter(p[ok], v[ok], s=5, alpha=0.5, lw=0, color="tab:red" if name == truth else "tab:blue")
        ax.set_title(f"{name}: rho with #params {bias:.2f}", fontsize=9)
        ax.set_xlabel("#params (params proxy)", fontsize=8)
        ax.set_ylabel(truth if name == truth else f"{name} score", fontsize=8)
        if ok.sum() > 2 and (p[ok] > 0).all() and p[ok].max() / p[ok].min() > 10:
            _log_x(ax)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(series):]:
        ax.set_visible(False)
    fig.suptitle(f"{table.task}, seed {table.seed}: score vs model size (the bias); red = ground truth "
                 f"({metric})", fontsize=11)
    fig.tight_layout()
    return _save(fig, path)


def task_figures(tables: dict[tuple[str, int], ScoreTable], figures_dir: str | Path,
                 metrics: dict[str, str] | None = None) -> list[Path]:
    """The three per-task figures for the lowest seed of each task, under figures_dir/<task>/."""
    written, seen = [], set()
    for (task, seed), table in sorted(tables.items()):
        if task in seen:
            continue
        seen.add(task)
        metric = (metrics or {}).get(task, "accuracy")
        out = Path(figures_dir) / task
        written.append(score_vs_accuracy(table, out / "score_vs_accuracy.png", metric))
        written.append(proxy_correlations(table, out / "proxy_correlations.png"))
        bias = score_vs_params(table, out / "score_vs_params.png", metric=metric)
        if bias is not None:
            written.append(bias)
    return written
