"""python -m zcbench.ensembles SCORES [--ensemble libra] [--out FILE.h5]: an ensemble as a proxy.

Reads cached scores (a scores.h5 or a folder of them), chooses the ensemble's
members on the tuning half of each task and seed, scores the disjoint
evaluation half, prints the members and the Spearman rho, and with --out
writes the ensemble's scores as an ordinary score file (proxy = the ensemble's
name), which zcbench.load_scores and every analysis read like any proxy.
"""
from __future__ import annotations

import argparse
from typing import Sequence

from ..cache import ScoreCache, load_scores
from . import ENSEMBLES, as_score_rows, evaluate, score_tables, split_archs
from .table import kendall_failed_last, spearman_failed_last


def main(argv: Sequence[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("scores", help="a scores.h5 file or a folder of them")
    parser.add_argument("--ensemble", default="libra", help=f"one of: {', '.join(ENSEMBLES.names())}")
    parser.add_argument("--task", help="only this task")
    parser.add_argument("--tune-fraction", type=float, default=0.5)
    parser.add_argument("--out", help="write the ensemble's scores to this score file")
    args = parser.parse_args(argv)
    ensemble = ENSEMBLES.get(args.ensemble)
    frame = load_scores(args.scores)
    if args.task:
        frame = frame[frame["task"] == args.task]
    cache = ScoreCache(args.out) if args.out else None
    report = []
    for (task, seed), table in score_tables(frame).items():
        tune, held = split_archs(table.scores.index, args.tune_fraction)
        result = evaluate(ensemble, table, tune, held)
        acc = table.accuracy.loc[held].to_numpy()
        line = {"task": task, "seed": seed, "members": "+".join(result.selection.members),
                "n_tune": len(result.tuned_on), "n_eval": len(held),
                "spearman": spearman_failed_last(result.scores.to_numpy(), acc),
                "kendall": kendall_failed_last(result.scores.to_numpy(), acc)}
        report.append(line)
        print(f"{args.ensemble} on {task} seed {seed}: members {line['members']} (chosen on {line['n_tune']} "
              f"archs), rho {line['spearman']:.3f}, tau {line['kendall']:.3f} on {line['n_eval']} other archs")
        if cache is not None:
            cache.add(as_score_rows(result, table).drop(columns="accuracy").to_dict("records"))
            cache.set_truth(table.accuracy.loc[held].rename("accuracy").rename_axis("arch").reset_index()
                            .assign(task=task))
    if cache is not None:
        cache.checkpoint()
        print(f"[zcbench.ensembles] wrote {args.out}")
    return report


if __name__ == "__main__":
    main()
