"""The leaderboard: Spearman rho (bootstrap 95% interval) and Kendall tau of every proxy and
ensemble on every task with cached scores, plus mean rho and mean rank across tasks.

Protocol per (task, seed):
- The archs with ground truth that every proxy of the table scored are split
  once, by a hash of each arch string, into a tuning half and an evaluation
  half (zcbench.ensembles.split_archs).
- LIBRA and its ablations choose their members on the tuning half.
- EVERY row, single proxies included, is evaluated on the evaluation half, so
  all rows of a task are measured on the same architectures.
- Archs that an option of a proxy of the table was chosen on with ground
  truth (swap_reg's NB201 size prior; see analysis/chosen_on.py) leave the
  evaluation half for EVERY row of the task: that proxy and the ensembles
  using it are not judged on archs it was fitted to, and the rows keep
  sharing their archs. The page says how many were left out.
- Each computation is listed once: a proxy that repeats another's computation
  on the task (analysis/aliases.py: declared in the registry, or an identical
  ranking) has no row; its representative's note names it. LIBRA's candidate
  pool merges aliases and near-duplicates too (ensembles/libra.py).
- Failures rank below every scored arch (NASLib's convention).
- The 95% interval is a percentile bootstrap over the evaluation archs
  (zcbench.analysis.stats.bootstrap_interval). Over several seeds a cell shows
  the mean rho and the mean of the per-seed interval bounds.

Mean rank: within each task the methods are ranked by rho (1 = best); a
method's mean rank is over the tasks where it has a value.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from ..ensembles import ENSEMBLES, MissingMembersError, evaluate, split_archs
from ..ensembles.table import ScoreTable, score_tables
from ..errors import ZcbenchError
from ..protocol import unvalidated_input
from .aliases import alias_map
from .chosen_on import held_out
from .stats import bootstrap_interval, kendall_failed_last, ranks_failed_last, spearman_failed_last
from .tables import to_markdown

ROW_COLUMNS = ["task", "seed", "method", "kind", "spearman", "ci_lo", "ci_hi", "kendall", "n_eval",
               "n_tune", "n_failed", "members", "note"]


def _metrics(score: np.ndarray, accuracy: np.ndarray, n_boot: int, seed: int) -> dict:
    ranked = ranks_failed_last(score)
    lo, hi = (bootstrap_interval(ranked, accuracy, "spearman", n_boot=n_boot, seed=seed)
              if n_boot > 0 else (math.nan, math.nan))
    return {"spearman": spearman_failed_last(score, accuracy), "ci_lo": lo, "ci_hi": hi,
            "kendall": kendall_failed_last(score, accuracy)}


def table_rows(table: ScoreTable, ensembles: Sequence[str], tune_fraction: float = 0.5,
               n_boot: int = 1000) -> list[dict]:
    """Rows (one per proxy computation and per ensemble) for one task and seed, on the evaluation half
    less the archs any proxy of the table had an option chosen on (see the module docstring)."""
    tune, held = split_archs(table.scores.index, tune_fraction)
    fitted = held_out(table.task, table.settings)
    left_out = set().union(*(archs for archs, _ in fitted.values())) & set(held)
    held = [a for a in held if a not in left_out]
    held_table = table.subset(held)
    acc = held_table.accuracy.to_numpy()
    base = {"task": table.task, "seed": table.seed, "n_eval": len(held), "n_tune": 0}
    aliases = alias_map(table)
    also = {}
    for alias in aliases.values():
        also.setdefault(alias.same_as, []).append(f"{alias.alias} ({alias.reason})")
    fit_note = ""
    if left_out:
        fit_note = (f"{len(left_out)} evaluation archs left out: "
                    + "; ".join(sorted({what for _, what in fitted.values()})) + " was chosen on them")
    off_input = {p: unvalidated_input(table.task, p, s) for p, s in table.settings.items()}
    rows = []
    for proxy in table.proxies:
        if proxy in aliases:
            continue
        score = held_table.scores[proxy].to_numpy()
        note = "; ".join(filter(None, ["same computation as " + ", ".join(also[proxy]) if proxy in also else "",
                                       off_input.get(proxy, ""), fit_note]))
        rows.append({**base, "method": proxy, "kind": "proxy", **_metrics(score, acc, n_boot, table.seed),
                     "n_failed": int(np.isnan(score).sum()), "members": proxy, "note": note})
    for name in ensembles:
        ens = ENSEMBLES.get(name)
        row = {**base, "method": name, "kind": "ensemble", "n_tune": len(tune) if ens.tuned else 0}
        try:
            result = evaluate(ens, table, tune, held)
        except ZcbenchError as err:  # members absent, or too few archs to choose them
            note = ("missing " + ", ".join(err.missing)) if isinstance(err, MissingMembersError) else str(err)
            rows.append({**row, "spearman": math.nan, "ci_lo": math.nan, "ci_hi": math.nan,
                         "kendall": math.nan, "n_failed": 0, "members": "", "note": note})
            continue
        score = result.scores.loc[held].to_numpy()
        members = list(result.selection.members)
        failed = held_table.scores[members].isna().any(axis=1).sum()
        off = [m for m in members if off_input.get(m)]
        note = "; ".join(filter(None, [f"members at an input not validated for them: {', '.join(off)}" if off else "",
                                       fit_note]))
        rows.append({**row, **_metrics(score, acc, n_boot, table.seed), "n_failed": int(failed),
                     "members": "+".join(members), "note": note})
    return rows


def leaderboard_rows(frame: pd.DataFrame, ensembles: Sequence[str], proxies: Sequence[str] | None = None,
                     tune_fraction: float = 0.5, n_boot: int = 1000, min_coverage: float = 0.5) -> pd.DataFrame:
    """Rows for every (task, seed) of a load_scores() frame; see the module docstring."""
    rows = []
    for _, table in score_tables(frame, list(proxies) if proxies else None, min_coverage).items():
        rows.extend(table_rows(table, ensembles, tune_fraction, n_boot))
    return pd.DataFrame(rows, columns=ROW_COLUMNS)


def libra_choices(frame: pd.DataFrame, tune_fraction: float = 0.5, min_coverage: float = 0.5) -> pd.DataFrame:
    """Why LIBRA chose what it chose: per task, seed and proxy, the tuning-half rho, whether it was a
    candidate, the proxy it was merged into (an alias or a near-duplicate, never a member), its
    information gain beyond z1, its bias, and its role (z1, z2, z3 or '')."""
    from ..ensembles.libra import select

    out = []
    for (task, seed), table in score_tables(frame, None, min_coverage).items():
        tune, _ = split_archs(table.scores.index, tune_fraction)
        try:
            sel = select(table.subset(tune))
        except ZcbenchError as err:
            out.append({"task": task, "seed": seed, "proxy": "", "role": "", "note": str(err)})
            continue
        d = sel.details
        roles = {p: f"z{i + 1}" for i, p in enumerate(sel.members)}
        for proxy, rho in sorted(d["rho"].items(), key=lambda kv: -kv[1]):
            out.append({"task": task, "seed": seed, "proxy": proxy, "role": roles.get(proxy, ""),
                        "rho_tuning": rho, "candidate": proxy in d["candidates"],
                        "merged_into": d.get("merged", {}).get(proxy, ""),
                        "information_gain": d["ig"].get(proxy, math.nan),
                        "bias": d.get("bias", {}).get(proxy, math.nan),
                        "accuracy_bias": d.get("accuracy_bias", math.nan), "bins": d["bins"],
                        "n_tune": len(tune), "note": ""})
    return pd.DataFrame(out)


def aggregate(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per (task, method): means over seeds, the seeds used, and members per seed."""
    if rows.empty:
        return pd.DataFrame(columns=ROW_COLUMNS[:2] + ROW_COLUMNS[2:] + ["n_seeds"]).drop(columns="seed")
    keys = ["task", "method", "kind"]
    num = rows.groupby(keys, sort=False)[["spearman", "ci_lo", "ci_hi", "kendall", "n_eval", "n_tune",
                                           "n_failed"]].mean()
    text = rows.groupby(keys, sort=False).agg(
        members=("members", lambda s: " / ".join(dict.fromkeys(v for v in s if v))),
        note=("note", lambda s: "; ".join(dict.fromkeys(v for v in s if v))),
        n_seeds=("seed", "nunique"))
    return num.join(text).reset_index()


def summary(agg: pd.DataFrame, tasks: Sequence[str]) -> pd.DataFrame:
    """Methods x tasks of mean rho, with mean rho, mean rank and number of tasks per method."""
    rho = agg.pivot(index="method", columns="task", values="spearman")
    rho = rho.reindex(columns=[t for t in tasks if t in rho.columns])
    ranks = rho.rank(axis=0, ascending=False, method="average")
    out = pd.DataFrame({"mean rho": rho.mean(axis=1), "mean rank": ranks.mean(axis=1),
                        "tasks": rho.notna().sum(axis=1)})
    kinds = agg.drop_duplicates("method").set_index("method")["kind"]
    out.insert(0, "kind", kinds.reindex(out.index))
    return rho.join(out).sort_values(["mean rho", "mean rank"], ascending=[False, True], na_position="last")


def _cell(agg_idx: pd.DataFrame, method: str, task: str, value: str = "spearman") -> str:
    if (task, method) not in agg_idx.index:
        return "-"
    r = agg_idx.loc[(task, method)]
    if value == "kendall":
        return "-" if math.isnan(r.kendall) else f"{r.kendall:.3f}"
    if math.isnan(r.spearman):
        return r.note or "-"
    mark = OFF_INPUT_MARK if _off_input(str(r.note)) else ""
    if math.isnan(r.ci_lo):
        return f"{r.spearman:.3f}{mark}"
    return f"{r.spearman:.3f} [{r.ci_lo:.2f}, {r.ci_hi:.2f}]{mark}"


OFF_INPUT_MARK = " (u)"


def _off_input(note: str) -> str:
    """The part of a row's note that says its scores (or an ensemble's members) are at an unvalidated input."""
    return next((part for part in note.split("; ")
                 if "an input not validated" in part or part.startswith("members at an input not validated")), "")


def markdown(agg: pd.DataFrame, status: dict[str, str], intro: str = "") -> str:
    """The leaderboard page: rho table with intervals, Kendall table, LIBRA's choices, task status."""
    tasks = [t for t in status if t in set(agg["task"])]
    summ = summary(agg, tasks)
    idx = agg.set_index(["task", "method"])
    lines = ["# zcbench leaderboard", "", intro.strip(), ""]
    rho_rows = [{"method": m, "kind": summ.at[m, "kind"], **{t: _cell(idx, m, t) for t in tasks},
                 "mean rho": summ.at[m, "mean rho"], "mean rank": summ.at[m, "mean rank"],
                 "tasks": int(summ.at[m, "tasks"])} for m in summ.index]
    lines += ["## Spearman rho [bootstrap 95% interval]", "",
              to_markdown(pd.DataFrame(rho_rows)) if rho_rows else "(no scores yet)", ""]
    tau_rows = [{"method": m, **{t: _cell(idx, m, t, "kendall") for t in tasks}} for m in summ.index]
    lines += ["## Kendall tau", "", to_markdown(pd.DataFrame(tau_rows)) if tau_rows else "(no scores yet)", ""]
    chosen = agg[(agg["kind"] == "ensemble") & (agg["members"] != "")]
    if not chosen.empty:
        lines += ["## Members of each ensemble (LIBRA's are chosen on the tuning half)", "",
                  to_markdown(chosen[["task", "method", "members", "n_tune", "n_eval", "n_seeds"]]
                              .assign(n_tune=lambda d: d.n_tune.round().astype(int),
                                      n_eval=lambda d: d.n_eval.round().astype(int))), ""]
    same = [{"task": r.task, "row": r.method, "stands for": part.removeprefix("same computation as ")}
            for r in agg.itertuples(index=False) for part in str(r.note).split("; ")
            if part.startswith("same computation as ")]
    lines += ["## One row per computation", "",
              "A proxy that repeats another's computation on a task (declared in the proxy registry, "
              "`same_as`, or ranking every arch identically) has no row there: the row it repeats stands for "
              "it. LIBRA's candidate pool merges these aliases, and near-duplicates (|Spearman| >= 0.99 "
              "between two proxies on the tuning archs), into the proxy with the higher rho "
              "(results/leaderboard_libra_choices.csv, column merged_into).", "",
              to_markdown(pd.DataFrame(same)) if same else "(no aliases among the scored proxies)", ""]
    off = [{"task": r.task, "row": r.method, "input": _off_input(str(r.note))}
           for r in agg.itertuples(index=False) if _off_input(str(r.note))]
    lines += ["## Cells at an input the protocol did not validate", "",
              f"Marked{OFF_INPUT_MARK} above. Their scores come from an input cheaper than the paper's that "
              "results/protocol.md did not show to rank like it for that proxy (or did not calibrate); they "
              "are replaced as soon as a rescoring at a validated input covers most of the task's archs.", "",
              to_markdown(pd.DataFrame(off)) if off else "(none)", ""]
    size = agg.groupby("task")[["n_eval", "n_tune"]].max()
    fitted = {r.task: part for r in agg.itertuples(index=False) for part in str(r.note).split("; ")
              if "evaluation archs left out" in part}
    lines += ["## Tasks", "",
              "Archs an option was chosen on with ground truth (swap_reg's NB201 size prior: "
              "zcbench/conf/proxy/swap_reg_prior_archs.txt, drawn from the tuning half) never count in the evaluation "
              "of any row; the last column says how many of the evaluation half that removed.", "",
              "| task | status | archs evaluated | archs held for tuning | left out of evaluation |",
              "|---|---|---|---|---|"]
    for task, note in status.items():
        if task in size.index:
            lines.append(f"| {task} | {note} | {int(size.at[task, 'n_eval'])} | {int(size.at[task, 'n_tune'])} "
                         f"| {fitted.get(task, 'none')} |")
        else:
            lines.append(f"| {task} | {note} | - | - | - |")
    return "\n".join(lines) + "\n"


def _relative(path: Path, base: Path) -> Path:
    return path.relative_to(base) if path.is_relative_to(base) else path


def write_if_changed(path: Path, text: str) -> bool:
    """Write `text` to `path` unless the file already holds exactly it (a rerun with nothing new
    leaves its outputs untouched, timestamps included); True if it wrote."""
    if path.is_file() and path.read_text() == text:
        return False
    path.write_text(text)
    return True


def write(rows: pd.DataFrame, status: dict[str, str], out_dir: str | Path, figures_dir: str | Path,
          intro: str = "", stem: str = "leaderboard") -> dict[str, Path]:
    """results/<stem>.md, <stem>.csv (per seed), <stem>_summary.csv and the rho heatmap PNG."""
    from .plots import leaderboard_heatmap

    out_dir, figures_dir = Path(out_dir), Path(figures_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    agg = aggregate(rows)
    paths = {"md": out_dir / f"{stem}.md", "csv": out_dir / f"{stem}.csv",
             "summary_csv": out_dir / f"{stem}_summary.csv", "png": figures_dir / f"{stem}_rho.png"}
    write_if_changed(paths["csv"], rows.to_csv(index=False))
    tasks = [t for t in status if t in set(agg["task"])]
    if not agg.empty:
        write_if_changed(paths["summary_csv"], summary(agg, tasks).to_csv())
        leaderboard_heatmap(summary(agg, tasks), tasks, paths["png"])
    else:
        paths.pop("png")
        write_if_changed(paths["summary_csv"], pd.DataFrame().to_csv())
    text = markdown(agg, status, intro)
    if "png" in paths:
        text += f"\n![Spearman rho per method and task]({_relative(paths['png'], out_dir)})\n"
        per_task = [t for t in tasks if (figures_dir / t).is_dir()]
        if per_task:
            text += ("\nPer-task figures (score vs ground truth, Spearman between proxies, score vs #params): "
                     + ", ".join(f"[{t}]({_relative(figures_dir / t, out_dir)})" for t in per_task) + ".\n")
    write_if_changed(paths["md"], text)
    return paths
