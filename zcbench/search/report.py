"""What a search writes: runs.csv, summary.csv and the best-found-vs-networks-scored plot."""
from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

RUN_COLUMNS = ["run", "step", "arch", "fitness", "accuracy", "seconds", "best_so_far"]
SUMMARY_COLUMNS = ["task", "strategy", "fitness", "budget", "n_runs", "mean_accuracy", "std_accuracy",
                   "best_possible", "mean_percentile", "seconds"]


def incumbent_curve(fitness_at: Sequence[np.ndarray], accuracy: Sequence[float]) -> np.ndarray:
    """Accuracy of the arch a search would return after each step.

    fitness_at[k]: fitness of the first k+1 archs within those k+1 archs (ensembles rank within
    the history, so it is recomputed per step); the incumbent is its argmax (earliest on ties).
    """
    return np.array([accuracy[int(np.argmax(values))] for values in fitness_at])


def percentile(found: float, population: np.ndarray) -> float:
    """Percent of the population's archs whose accuracy is at most `found` (100 = the best)."""
    population = population[np.isfinite(population)]
    if not np.isfinite(found) or population.size == 0:
        return float("nan")
    return float(100.0 * np.mean(population <= found))


def summary_row(task: str, strategy: str, fitness: str, budget: int, found: pd.DataFrame,
                best_possible: float, extra: Mapping | None = None) -> dict:
    """One summary.csv row from the per-run table `found` (accuracy, percentile, seconds per run)."""
    acc = found["accuracy"].to_numpy(dtype=float)
    row = {"task": task, "strategy": strategy, "fitness": fitness, "budget": budget, "n_runs": len(found),
           "mean_accuracy": float(np.nanmean(acc)) if np.isfinite(acc).any() else float("nan"),
           "std_accuracy": float(np.nanstd(acc, ddof=1)) if np.isfinite(acc).sum() > 1 else float("nan"),
           "best_possible": best_possible,
           "mean_percentile": float(found["percentile"].mean()),
           "seconds": float(found["seconds"].mean())}
    row.update(extra or {})
    return row


def mean_curve(runs: pd.DataFrame) -> pd.Series:
    """Mean over runs of best_so_far per step; a run that stopped early keeps its last value."""
    wide = runs.pivot(index="step", columns="run", values="best_so_far").ffill()
    return wide.mean(axis=1)


def plot_curves(curves: Mapping[str, pd.Series], path: str | Path, title: str, best_possible: float | None = None,
                baselines: Sequence[str] = ()) -> None:
    """Best accuracy found vs networks scored, one line per label (baselines dashed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8.4, 4.4))
    colors = plt.get_cmap("tab10" if len(curves) <= 10 else "tab20").colors
    for i, (label, curve) in enumerate(curves.items()):
        style = "--" if label in baselines else "-"
        ax.plot(curve.index, curve.to_numpy(), style, label=label, linewidth=1.6, color=colors[i % len(colors)])
    if best_possible is not None and np.isfinite(best_possible):
        ax.axhline(best_possible, color="black", linewidth=0.8, linestyle=":", label=f"best possible {best_possible:.2f}")
    ax.set_xscale("log")
    ax.set_xlabel("networks scored")
    ax.set_ylabel("accuracy of the returned arch (mean)")
    ax.set_title(title, fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
