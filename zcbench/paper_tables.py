"""python -m zcbench.paper_tables [key=value ...]: the paper's Tables 1, 3 and 4, ours beside the paper's.

Reads (and, with compute=true, first fills) the same caches as
zcbench.leaderboard, with the same zcbench/conf/leaderboard.yaml, and writes
results/paper_tables.md and results/paper_tables.csv.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Sequence

import pandas as pd

from .analysis.collect import collect
from .analysis.leaderboard import aggregate, leaderboard_rows
from .analysis.paper_tables import TABLE4_METHODS, comparison, paper_values, render
from .harness import compose
from .leaderboard import describe


def main(argv: Sequence[str] | None = None) -> str:
    argv = list(sys.argv[1:] if argv is None else argv)
    if {"-h", "--help"} & set(argv):
        print(__doc__.strip() + "\n\nOptions: key=value overrides of zcbench/conf/leaderboard.yaml (Hydra syntax).")
        return None
    cfg = compose(argv, config_name="leaderboard")
    collected = collect(cfg)
    wanted = sorted(set(cfg.ensembles) | {"libra", "az_nas", "te_nas", *TABLE4_METHODS})
    rows = leaderboard_rows(collected.frame, wanted, tune_fraction=float(cfg.tune_fraction),
                            n_boot=int(cfg.n_boot), min_coverage=float(cfg.min_coverage))
    agg = aggregate(rows)
    text = render(agg, collected.status, describe(cfg, "zcbench.paper_tables"))
    out = Path(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "paper_tables.md").write_text(text)
    values = paper_values()
    tasks = list(collected.status)
    long = pd.concat([comparison(agg, m, values[k].get("methods") or {}, tasks).assign(table=k)
                      for k, m in (("table1", ("libra", "az_nas", "te_nas")), ("table3", ("lswag",)),
                                   ("table4", TABLE4_METHODS))], ignore_index=True)
    long.to_csv(out / "paper_tables.csv", index=False)
    print(text)
    print(f"[zcbench.paper_tables] wrote {out / 'paper_tables.md'} and {out / 'paper_tables.csv'}")
    return text


if __name__ == "__main__":
    main()
