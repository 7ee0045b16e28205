"""What an ensemble is: a rule that chooses member proxies, and a rule that fuses their scores.

An ensemble is population-level: it ranks a set of architectures from their
cached proxy scores, so it lives here rather than in the per-network proxy
registry. `choose` may look at the ground truth of a TUNING sample (LIBRA does);
`evaluate` then scores the members on a disjoint evaluation sample only.

A member that failed on an architecture ranks that architecture last (tied
with the other failures) for that member; the fused score stays defined.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd

from ..errors import ZcbenchError
from ..analysis.stats import ranks_failed_last
from .table import ScoreTable


class MissingMembersError(ZcbenchError):
    """An ensemble needs proxies that the score table lacks."""

    def __init__(self, ensemble: str, missing: list[str], present: list[str]):
        self.missing = sorted(missing)
        super().__init__(f"ensemble {ensemble} needs proxies {', '.join(self.missing)}, which have no "
                         f"scores here; present: {', '.join(sorted(present)) or 'none'}")


@dataclass
class Selection:
    """The members an ensemble chose, and why (per-proxy statistics of the choice)."""

    members: tuple[str, ...]
    details: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Ensemble:
    """name; choose(tuning table) -> Selection; fuse(member scores, one column each) -> score.

    tuned: True when choose() reads accuracies, so the ensemble must be judged
    on archs it was not chosen on. members: the fixed members of an untuned
    ensemble (a tuned one chooses among candidates). version: of the choose and
    fuse rules, recorded with the rows `python -m zcbench proxy=<name>` caches.
    """

    name: str
    description: str
    choose: Callable[[ScoreTable], Selection]
    fuse: Callable[[pd.DataFrame], pd.Series]
    tuned: bool
    members: tuple[str, ...] = ()
    version: str = "1"


def rank_sum(members: pd.DataFrame) -> pd.Series:
    """Mean over members of the normalised rank (rank / n; failures last): higher = better."""
    n = len(members)
    ranks = np.column_stack([ranks_failed_last(members[c]) for c in members.columns]) / max(n, 1)
    return pd.Series(ranks.mean(axis=1), index=members.index, name="score")


def log_rank_sum(members: pd.DataFrame) -> pd.Series:
    """AZ-NAS's aggregation: sum over members of log(rank / n), ranks ascending (best = n)."""
    n = len(members)
    ranks = np.column_stack([ranks_failed_last(members[c]) for c in members.columns]) / max(n, 1)
    return pd.Series(np.log(ranks).sum(axis=1), index=members.index, name="score")


def fixed_members(name: str, members: tuple[str, ...]) -> Callable[[ScoreTable], Selection]:
    """A choose() that always returns `members` (baselines), or says which are missing."""
    def choose(table: ScoreTable) -> Selection:
        missing = [m for m in members if m not in table.scores.columns]
        if missing:
            raise MissingMembersError(name, missing, table.proxies)
        return Selection(tuple(members), {"rule": "fixed members"})
    return choose


@dataclass
class EnsembleResult:
    """An ensemble's members and its scores on the evaluation archs."""

    ensemble: str
    selection: Selection
    scores: pd.Series          # index arch (evaluation archs)
    tuned_on: list[str]        # archs the selection looked at ([] for fixed members)


def evaluate(ensemble: Ensemble, table: ScoreTable, tune_archs, eval_archs) -> EnsembleResult:
    """Choose members on `tune_archs` (if the ensemble is tuned), fuse them on `eval_archs`."""
    overlap = set(tune_archs) & set(eval_archs)
    if ensemble.tuned and overlap:
        raise ZcbenchError(f"ensemble {ensemble.name} would be judged on {len(overlap)} archs it was "
                           "tuned on; the tuning and evaluation samples must be disjoint")
    tune = table.subset(tune_archs) if ensemble.tuned else table
    selection = ensemble.choose(tune)
    held = table.subset(eval_archs)
    scores = ensemble.fuse(held.scores[list(selection.members)])
    return EnsembleResult(ensemble.name, selection, scores, list(tune.scores.index) if ensemble.tuned else [])


def as_score_rows(result: EnsembleResult, table: ScoreTable) -> pd.DataFrame:
    """The ensemble's scores as load_scores()-style rows (proxy = ensemble name), for any analysis."""
    archs = result.scores.index
    members = list(result.selection.members)
    return pd.DataFrame({
        "task": table.task, "arch": archs, "proxy": result.ensemble, "seed": table.seed,
        "score": result.scores.to_numpy(),
        "seconds": table.seconds.loc[archs, members].sum(axis=1).to_numpy(),
        "accuracy": table.accuracy.loc[archs].to_numpy(), "error": "",
        "settings": f"members={','.join(members)};tuned_on={len(result.tuned_on)} archs",
        "proxy_version": "ensemble"})
