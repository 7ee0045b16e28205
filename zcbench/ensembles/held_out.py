"""An ensemble on cached scores: members chosen on each task's tuning half, scored on the other half.

Per (task, seed) of a score frame the archs are split (split_archs); a tuned ensemble (LIBRA)
chooses its members on the tuning half, and its fused scores on the disjoint evaluation half are
ranked against the ground truth. The scores can be kept as an ordinary score file (proxy = the
ensemble's name) that zcbench.load_scores and every table read like any proxy. zcbench-ensembles
(zcbench/cli/ensembles.py) prints what this returns.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..cache import ScoreCache
from .base import as_score_rows, evaluate
from ..analysis.stats import kendall_failed_last, spearman_failed_last
from .table import score_tables, split_archs


def held_out_report(ensemble_name: str, frame: pd.DataFrame, tune_fraction: float = 0.5,
                    out: str | Path | None = None) -> list[dict]:
    """One dict per (task, seed): members, tuning and evaluation sizes, Spearman and Kendall (failures
    last) on the evaluation half; with `out`, the ensemble's evaluation-half scores are written there."""
    from . import ENSEMBLES

    ensemble = ENSEMBLES.get(ensemble_name)
    cache = ScoreCache(out) if out else None
    report = []
    for (task, seed), table in score_tables(frame).items():
        tune, held = split_archs(table.scores.index, tune_fraction)
        result = evaluate(ensemble, table, tune, held)
        acc = table.accuracy.loc[held].to_numpy()
        report.append({"task": task, "seed": seed, "members": "+".join(result.selection.members),
                       "n_tune": len(result.tuned_on), "n_eval": len(held),
                       "spearman": spearman_failed_last(result.scores.to_numpy(), acc),
                       "kendall": kendall_failed_last(result.scores.to_numpy(), acc)})
        if cache is not None:
            cache.add(as_score_rows(result, table).drop(columns="accuracy").to_dict("records"))
            cache.set_truth(table.accuracy.loc[held].rename("accuracy").rename_axis("arch").reset_index()
                            .assign(task=task))
    if cache is not None:
        cache.checkpoint()
    return report
