"""Score tables: the cache's long rows as one (architecture x proxy) matrix per task and seed.

Ensembles combine proxies per architecture, so they need every member's score
of the same architectures side by side. `score_tables` pivots a
load_scores() DataFrame into that shape, with the ground truth alongside.

Choices (documented because they change numbers):
- Only archs with ground truth are kept (unless truth_only=False: an untuned
  ensemble scored by `python -m zcbench` on a task without ground truth).
- The rows `python -m zcbench proxy=<ensemble>` caches beside its members
  (settings "ensemble=<name>;...") are not one more proxy: they are left out
  unless asked for by name. (A score file written by `zcbench-ensembles
  out=...` is ranked like a proxy, as before.)
- Rows computed by an older version of a registered proxy are stale (the
  harness would recompute them) and are dropped.
- A proxy cached under several settings (e.g. two batch sizes) contributes
  the settings with the most archs.
- A failed score (error != "") is NaN in the table; rankings put it last.
- The table holds the archs that every kept proxy scored. A proxy that scored
  fewer than `min_coverage` times as many archs as the median proxy is left
  out of the table (and listed in `left_out`) instead of shrinking it. So is
  a proxy read at an input the protocol did not validate for it (cheaper than
  the paper's and shown, or not shown, to rank like it) that lacks some of the
  archs every validated proxy scored.
- So is a proxy that failed on every arch or gave one value for all of them
  (ntk on BatchNorm-ended networks, linear_regions saturated at the batch):
  it cannot rank, and an ensemble with it as a fixed member would silently be
  its other members alone.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import pandas as pd

from ..errors import ZcbenchError


ENSEMBLE_SETTINGS = "ensemble="  # how the settings of a main-command ensemble row begin (as_proxy.py)


@dataclass
class ScoreTable:
    """Scores of one task and seed: `scores` (index arch, one column per proxy, NaN = failed)."""

    task: str
    seed: int
    scores: pd.DataFrame
    accuracy: pd.Series
    seconds: pd.DataFrame
    settings: dict[str, str] = field(default_factory=dict)
    left_out: dict[str, str] = field(default_factory=dict)

    @property
    def proxies(self) -> list[str]:
        return list(self.scores.columns)

    def subset(self, archs) -> "ScoreTable":
        """The same table restricted to `archs` (in table order)."""
        keep = self.scores.index.intersection(pd.Index(archs), sort=False)
        return ScoreTable(self.task, self.seed, self.scores.loc[keep], self.accuracy.loc[keep],
                          self.seconds.loc[keep], dict(self.settings), dict(self.left_out))


def split_archs(archs, tune_fraction: float = 0.5, salt: str = "zcbench-ensemble-split"
                ) -> tuple[list[str], list[str]]:
    """(tuning archs, evaluation archs): a disjoint split fixed per architecture string.

    An arch's side depends only on a hash of (salt, arch), so it never changes
    when the cache grows or the sample changes, and a selection tuned on one
    side is never judged on an arch it saw.
    """
    if not 0.0 < tune_fraction < 1.0:
        raise ValueError(f"tune_fraction={tune_fraction}; it must be strictly between 0 and 1")
    tune, held = [], []
    for arch in archs:
        h = int.from_bytes(hashlib.sha256(f"{salt}:{arch}".encode()).digest()[:8], "little") / 2**64
        (tune if h < tune_fraction else held).append(arch)
    return tune, held


def current_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows computed by the current version of each proxy's code (older rows are stale)."""
    from ..proxies import PROXIES

    current = frame["proxy"].map({name: PROXIES.get(name).version for name in PROXIES.names()})
    return frame[current.isna() | (frame["proxy_version"] == current)]


def widest_settings(frame: pd.DataFrame, task: str | None = None, min_coverage: float = 0.5) -> dict[str, str]:
    """Per proxy, the settings string under which it scored the most distinct archs (ties: the first).

    With `task`, settings at an input the protocol validated for the proxy (zcbench.protocol:
    the paper's input or its calibrated cheaper one) and with the options a run would use now
    (e.g. the task's current L-SWAG window) come first when they cover at least `min_coverage`
    of the widest one's archs: a rescoring at the paper input, or with a newly chosen window,
    replaces the older rows as soon as it covers most archs.
    """
    from ..harness import current_options, settings_options
    from ..protocol import unvalidated_input

    chosen = {}
    for proxy, rows in frame.groupby("proxy", sort=True):
        counts = rows.groupby("settings")["arch"].nunique().sort_values(ascending=False, kind="stable")
        if task is not None:
            now = current_options(task, str(proxy))
            valid = [s for s, n in counts.items()
                     if n >= min_coverage * counts.iloc[0] and not unvalidated_input(task, str(proxy), str(s))
                     and now in (None, settings_options(str(s)))]
            if valid:
                chosen[proxy] = valid[0]
                continue
        chosen[proxy] = counts.index[0]
    return chosen


def score_tables(frame: pd.DataFrame, proxies: list[str] | None = None,
                 min_coverage: float = 0.5, truth_only: bool = True) -> dict[tuple[str, int], ScoreTable]:
    """One ScoreTable per (task, seed) of a load_scores() frame; `proxies` limits the columns."""
    if proxies is not None:
        frame = frame[frame["proxy"].isin(proxies)]
    else:
        frame = frame[~frame["settings"].str.startswith(ENSEMBLE_SETTINGS, na=False)]
    frame = current_rows(frame[frame["accuracy"].notna()] if truth_only else frame)
    tables = {}
    for (task, seed), g in frame.groupby(["task", "seed"], sort=True):
        tables[(task, int(seed))] = _one_table(task, int(seed), g, min_coverage)
    return tables


def _one_table(task: str, seed: int, g: pd.DataFrame, min_coverage: float) -> ScoreTable:
    settings = widest_settings(g, task, min_coverage)
    g = g[g["settings"] == g["proxy"].map(settings)].reset_index(drop=True)
    coverage = g.groupby("proxy")["arch"].nunique()
    median = float(coverage.median())
    left_out = {p: f"scored {int(n)} archs, under {min_coverage:.0%} of the median proxy's {median:.0f}"
                for p, n in coverage.items() if n < min_coverage * median}
    for proxy, rows in g[~g["proxy"].isin(left_out)].groupby("proxy"):
        ok = rows.loc[rows["error"] == "", "score"]
        if ok.empty:  # e.g. ntk on BatchNorm-ended networks: its rank would be a constant
            left_out[proxy] = f"failed on every arch ({rows['error'].iloc[0][:80]})"
        elif len(rows) > 1 and ok.nunique() == 1 and len(ok) == len(rows):
            left_out[proxy] = f"one value ({ok.iloc[0]:.6g}) for every arch: no ranking"
    g = g[~g["proxy"].isin(left_out)]
    left_out.update(_off_input_shrinking(task, g, settings))
    g = g[~g["proxy"].isin(left_out)]
    if g.empty:
        raise ZcbenchError(f"no usable scores for task {task}, seed {seed}")
    score = g["score"].where(g["error"] == "")
    wide = g.assign(score=score).pivot(index="arch", columns="proxy", values="score")
    secs = g.pivot(index="arch", columns="proxy", values="seconds")
    present = g.pivot(index="arch", columns="proxy", values="error").notna().all(axis=1)
    archs = present[present].index
    accuracy = g.drop_duplicates("arch").set_index("arch")["accuracy"]
    return ScoreTable(task, seed, wide.loc[archs], accuracy.loc[archs], secs.loc[archs],
                      {p: s for p, s in settings.items() if p not in left_out}, left_out)


def _off_input_shrinking(task: str, g: pd.DataFrame, settings: dict[str, str]) -> dict[str, str]:
    """Proxies read at an input the protocol did not validate that lack some of the archs every
    validated proxy has: left out with the reason, so that rows shown not to rank like the paper's
    input never cost the validated rows their archs (they stay while they cover those archs)."""
    from ..protocol import input_label, unvalidated_input

    archs = g.groupby("proxy")["arch"].agg(set)
    off = {p for p in archs.index if unvalidated_input(task, str(p), settings[p])}
    validated = [archs[p] for p in archs.index if p not in off]
    if not off or not validated:
        return {}
    shared = set.intersection(*validated)
    return {p: (f"scored only at an input not validated for it ({input_label(settings[p])}) on "
                f"{len(archs[p] & shared)} of the {len(shared)} archs the validated proxies share; "
                "left out rather than shrink their evaluation")
            for p in sorted(off) if not shared <= archs[p]}
