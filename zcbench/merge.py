"""Merge score files (e.g. the shards of a cluster run) into one, or prune superseded scores.

python -m zcbench.merge OUT.h5 IN.h5 [IN.h5 ...]    (rows of later inputs win on equal keys)
python -m zcbench.merge --prune PROXY --keep-settings SETTINGS CACHE.h5
                                                    (drop PROXY's rows scored under any other settings)
python -m zcbench.merge --drop PROXY --task TASK CACHE.h5
                                                    (drop PROXY's rows on TASK, e.g. failures cached before
                                                     the proxy was declared not to apply there)
python -m zcbench.merge --relabel PROXY --from-version V --evidence FRESH.h5 CACHE.h5
                                                    (version-V rows of PROXY become the current version
                                                     where FRESH.h5, written by the current code, shows
                                                     them bit-identical on >= 3 of the same archs)
"""
from __future__ import annotations

import argparse
from pathlib import Path

from .cache import drop, merge, prune, relabel_verified
from .proxies import PROXIES


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("inputs", type=Path, nargs="*")
    parser.add_argument("--prune", metavar="PROXY", help="drop this proxy's rows under other settings")
    parser.add_argument("--keep-settings", help="with --prune: the settings string whose rows stay")
    parser.add_argument("--drop", metavar="PROXY", help="drop this proxy's rows on --task")
    parser.add_argument("--task", help="with --drop: the task whose rows of PROXY go")
    parser.add_argument("--relabel", metavar="PROXY", help="relabel PROXY's --from-version rows shown unchanged")
    parser.add_argument("--from-version", help="with --relabel: the version whose rows are checked")
    parser.add_argument("--evidence", type=Path, help="with --relabel: scores the current code wrote")
    args = parser.parse_args(argv)
    if args.relabel:
        if not (args.from_version and args.evidence) or args.inputs:
            parser.error("--relabel takes one cache, --from-version and --evidence")
        new = PROXIES.get(args.relabel).version
        done = relabel_verified(args.out, args.relabel, args.from_version, new, args.evidence)
        for (task, settings), n in sorted(done.items()):
            print(f"{args.out}: {task}: {n} {args.relabel} rows v{args.from_version} -> v{new} ({settings})")
        if not done:
            print(f"{args.out}: nothing relabelled (no group with >= 3 matching archs in {args.evidence})")
        return
    if args.drop:
        if not args.task or args.inputs or args.prune:
            parser.error("--drop takes one cache and --task")
        dropped = drop(args.out, args.drop, args.task)
        print(f"{args.out}: dropped {dropped} {args.drop} rows on task {args.task}")
        return
    if args.prune:
        if not args.keep_settings or args.inputs:
            parser.error("--prune takes one cache and --keep-settings")
        dropped = prune(args.out, args.prune, args.keep_settings)
        print(f"{args.out}: dropped {dropped} {args.prune} rows scored under other settings")
        return
    if not args.inputs:
        parser.error("give the files to merge into OUT")
    cache = merge(args.out, args.inputs)
    print(f"{args.out}: {len(cache.scores)} scores, {len(cache.truth)} ground-truth rows")


if __name__ == "__main__":
    main()
