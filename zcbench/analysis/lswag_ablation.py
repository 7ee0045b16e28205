"""The L-SWAG ablation (the shape of the paper's Table 3): window vs all layers vs Lambda vs Psi.

Reads the scores.h5 files of ablation runs (see `make lswag-ablation`): each
task scored with lswag, lswag_lambda and lswag_psi under the task's chosen
window, and lswag again over every layer (window 0-100), on architectures
disjoint from the ones the window was chosen on. The variants are told apart
by the window options recorded in each score's settings.

    zcbench-lswag-ablation 'dirs=[results/lswag_ablation/<task>,...]' out=results/lswag_ablation.md
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import pandas as pd

from ..cache import load_scores
from .stats import correlation_table
from .tables import to_markdown

#: L-SWAG paper (Casarin et al., CVPR 2025), Table 3, full method (docs/method.md#l-swag-per-task-paper-table-3).
def paper_table3() -> dict[str, float]:
    """The paper's L-SWAG rho per task (Table 3), from the one file of published values."""
    from .paper_tables import paper_values

    return dict(paper_values()["table3"]["methods"]["lswag"])


def window_of(settings: str) -> tuple[str, str]:
    """(window_lo, window_hi) as recorded in a settings string ('None' when unset)."""
    fields = dict(part.split("=", 1) for part in settings.split(";") if "=" in part)
    if "window_lo" not in fields or "window_hi" not in fields:
        raise ValueError(f"settings {settings!r} record no L-SWAG window")
    return fields["window_lo"], fields["window_hi"]


def _variant(proxy: str, lo: str, hi: str) -> str:
    every = (lo in ("0", "None")) and (hi in ("100", "None"))
    what = {"lswag": "L-SWAG", "lswag_lambda": "Lambda only", "lswag_psi": "Psi only"}[proxy]
    return f"{what} (all layers)" if every else f"{what} (window)"


def ablation_table(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per task: Spearman of each variant, the window used, n archs and the paper's value."""
    frame = frame[frame["proxy"].isin(["lswag", "lswag_lambda", "lswag_psi"])]
    table = correlation_table(frame)
    rows: dict[str, dict] = {}
    for rec in table.itertuples(index=False):
        lo, hi = window_of(rec.settings)
        row = rows.setdefault(rec.task, {"task": rec.task, "window": "-", "n_archs": rec.n_archs})
        variant = _variant(rec.proxy, lo, hi)
        row[variant] = rec.spearman_failed_last
        if variant.endswith("(window)"):
            row["window"] = f"{lo}-{hi}"
        row["n_archs"] = max(row["n_archs"], rec.n_archs)
    columns = ["task", "window", "L-SWAG (window)", "L-SWAG (all layers)", "Lambda only (window)",
               "Psi only (window)", "paper L-SWAG", "n_archs"]
    out = pd.DataFrame(list(rows.values()))
    out["paper L-SWAG"] = out["task"].map(paper_table3())
    for c in columns:
        if c not in out:
            out[c] = float("nan")
    return out[columns].sort_values("task").reset_index(drop=True)


def ablation_report(dirs: Sequence[str | Path]) -> tuple[pd.DataFrame, str]:
    """The ablation table of the runs in `dirs` (each holding a scores.h5) and its markdown page."""
    frames = [load_scores(Path(d) / "scores.h5") for d in dirs]
    table = ablation_table(pd.concat(frames, ignore_index=True))
    text = ("Spearman rho of L-SWAG variants (failures ranked last). The window was chosen by "
            "`zcbench-select-layers` on other architectures of the same task (results/layer_selection/); "
            "these scores are on a disjoint sample. 'paper' = L-SWAG paper Table 3 (1,000 archs).\n\n"
            + to_markdown(table) + "\n")
    return table, text
