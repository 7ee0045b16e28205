"""Plain markdown tables (no extra dependency)."""
from __future__ import annotations

import math

from pathlib import Path

import pandas as pd


def to_markdown(frame: pd.DataFrame, digits: int = 3) -> str:
    """A GitHub-flavoured markdown table; floats rounded to `digits`, NaN shown as '-'."""
    def cell(v) -> str:
        if isinstance(v, float):
            return "-" if math.isnan(v) else f"{v:.{digits}f}"
        return str(v)

    header = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *body])


def write_report(out: Path, text: str, table: pd.DataFrame) -> None:
    """Write a markdown report to `out` and its table beside it as CSV (same stem), then print it."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    table.to_csv(out.with_suffix(".csv"), index=False)
    print(text)
