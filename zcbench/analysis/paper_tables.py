"""The paper's Tables 1, 3 and 4 with our value, the paper's value and the difference.

Our values come from the leaderboard rows (the same caches, split and
protocol: see analysis/leaderboard.py); the paper's from paper_values.yaml,
the one file that holds published numbers. A task we have no scores for shows
"-" and is named under the table; a method the paper did not report shows
only ours.
"""
from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import pandas as pd
import yaml

from .tables import to_markdown

PAPER_VALUES = Path(__file__).with_name("paper_values.yaml")
TABLE4_METHODS = ("libra", "libra_z2_max_rho", "libra_no_bias", "top3_rho")


@lru_cache(maxsize=None)
def paper_values(path: str | Path = PAPER_VALUES) -> dict:
    """The published numbers (see paper_values.yaml for their source)."""
    with open(path, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def _ours(agg: pd.DataFrame) -> dict[tuple[str, str], pd.Series]:
    return {(r.task, r.method): r for r in agg.itertuples(index=False)}


def _fmt(v: float) -> str:
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.2f}"


def comparison(agg: pd.DataFrame, methods: Sequence[str], paper: dict[str, dict[str, float]],
               tasks: Sequence[str]) -> pd.DataFrame:
    """Rows method x task: ours (with interval), paper, ours - paper, n archs evaluated."""
    ours = _ours(agg)
    rows = []
    for method in methods:
        for task in tasks:
            r = ours.get((task, method))
            mine = r.spearman if r is not None else math.nan
            theirs = paper.get(method, {}).get(task, math.nan)
            interval = (f"[{r.ci_lo:.2f}, {r.ci_hi:.2f}]" if r is not None and not math.isnan(r.ci_lo) else "-")
            rows.append({"method": method, "task": task, "ours": mine, "95% interval": interval,
                         "paper": theirs, "ours - paper": mine - theirs,
                         "archs evaluated": int(r.n_eval) if r is not None else 0,
                         "members": r.members if r is not None else ""})
    return pd.DataFrame(rows)


def _wide(comp: pd.DataFrame, labels: dict[str, str], with_paper: bool = True) -> pd.DataFrame:
    """Task rows (paper labels), one 'ours / paper (diff)' cell per method (or 'ours [interval]'
    without paper values), and the archs evaluated."""
    rows: dict[str, dict] = {}
    for rec in comp.to_dict("records"):
        ours, paper = rec["ours"], rec["paper"]
        if not with_paper:
            text = _fmt(ours) + ("" if math.isnan(ours) else f" {rec['95% interval']}")
        else:
            text = _fmt(ours) + " / " + _fmt(paper)
        if with_paper and not math.isnan(ours) and not math.isnan(paper):
            text += f" ({ours - paper:+.2f})"
        row = rows.setdefault(rec["task"], {"task": labels.get(rec["task"], rec["task"]), "archs evaluated": 0})
        row[rec["method"]] = text
        row["archs evaluated"] = max(row["archs evaluated"], int(rec["archs evaluated"]))
    frame = pd.DataFrame(list(rows.values()))
    return frame[[c for c in frame.columns if c != "archs evaluated"] + ["archs evaluated"]]


def held_out_note(agg: pd.DataFrame) -> str:
    """What the tables say about archs an option was chosen on with ground truth (analysis/chosen_on.py)."""
    left = {r.task: part for r in agg.itertuples(index=False) for part in str(r.note).split("; ")
            if "evaluation archs left out" in part}
    text = ("swap_reg's NB201 size prior was calibrated on 150 archs against CIFAR-100 accuracy "
            "(zcbench/conf/proxy/swap_reg_prior_archs.txt); those archs never count in the evaluation of any row (they "
            "were drawn from the tuning half, so here they remove")
    if not left:
        return text + " none of the evaluation archs)."
    return text + ": " + "; ".join(f"{task}: {note}" for task, note in left.items()) + ")."


def task_means(comp: pd.DataFrame, methods: Sequence[str]) -> list[str]:
    """Per method, its mean rho over the tasks the paper reports that we have scored, beside the paper's
    mean over those same tasks and over all of them (the paper quotes LIBRA's 19-task mean, 0.77)."""
    lines = []
    for method in methods:
        rows = comp[(comp["method"] == method) & comp["paper"].notna()]
        both = rows[rows["ours"].notna()]
        if not len(rows):
            continue
        mine = f"{both['ours'].mean():.3f}" if len(both) else "-"
        same = f"{both['paper'].mean():.3f}" if len(both) else "-"
        lines.append(f"- {method}: mean over the {len(both)} of the paper's {len(rows)} tasks scored here: "
                     f"ours {mine}, paper {same} on the same tasks; the paper's mean over all {len(rows)}: "
                     f"{rows['paper'].mean():.3f}.")
    return lines


def render(agg: pd.DataFrame, status: dict[str, str], protocol_note: str = "",
           values: dict | None = None) -> str:
    """Markdown of Tables 1, 3 and 4 (ours vs paper)."""
    values = values or paper_values()
    labels = values["tasks"]
    scored = [t for t in status if t in set(agg["task"])]
    paper_order = [t for t in labels if t in status] + [t for t in status if t not in labels]
    out = ["# Paper tables: ours vs the LIBRA-NAS / L-SWAG paper", "",
           f"Paper values: {values['source'].strip()} They live in `zcbench/analysis/paper_values.yaml`.", "",
           protocol_note.strip(), "",
           "Cells read `ours / paper (ours - paper)` (Table 4: `ours [95% interval]`); '-' = no value. "
           "The paper used 1,000 archs per task; the number of archs behind our value is in the long "
           "table, with the bootstrap 95% interval: a difference inside that interval is not evidence of a disagreement.", ""]
    for key, methods in (("table1", ("libra", "az_nas", "te_nas")), ("table3", ("lswag",)),
                         ("table4", TABLE4_METHODS)):
        spec = values[key]
        paper = spec.get("methods") or {}
        tasks = paper_order
        comp = comparison(agg, methods, paper, tasks)
        out += [f"## {spec['title']}", ""]
        if key == "table4":
            out += ["The paper's Table 4 values are not transcribed (docs/method.md#libra-ablation-paper-table-4), "
                    "so only ours are shown. "
                    "Every variant chooses its members on the tuning half and is scored on the disjoint "
                    "evaluation half of each task.", ""]
        if key == "table1":
            out += ["LIBRA is chosen on the tuning half of each task and evaluated on the disjoint "
                    "evaluation half; AZ-NAS and TE-NAS have fixed members and are evaluated on the same "
                    "evaluation half. LIBRA's candidate pool holds each computation once: aliases (lswag_psi "
                    "= swap when its window reaches the last bin, az_complexity = flops, swap_reg without a "
                    "prior = swap, or any two proxies ranking every arch alike) and near-duplicates "
                    "(|Spearman| >= 0.99 on the tuning archs) are merged into the one with the higher rho.", "",
                    held_out_note(agg), ""]
        if key == "table3":
            out += ["L-SWAG uses each task's layer window (`proxy_options.lswag` from zcbench/conf/derived/lswag_windows.yaml, "
                    "chosen by `zcbench-select-layers`); a task without one uses every layer. Each value is L-SWAG's "
                    "on the evaluation half of every arch it was scored on, which can be more archs than the "
                    "leaderboard's cell (there, the archs every proxy of the task was scored on).", ""]
        out += [to_markdown(_wide(comp, labels, with_paper=bool(paper))), ""]
        if paper:
            out += [*task_means(comp, methods), ""]
        out += ["<details><summary>long form</summary>", "",
                to_markdown(comp[comp["task"].isin(scored) | comp["paper"].notna()]), "", "</details>", ""]
    missing = [f"- {t}: {status[t]}" for t in status if t not in scored]
    if missing:
        out += ["## Tasks without scores", "", *missing, ""]
    return "\n".join(out)
