"""Merge score files (e.g. the shards of a cluster run) into one.

python -m zcbench.merge OUT.h5 IN.h5 [IN.h5 ...]    (rows of later inputs win on equal keys)
"""
from __future__ import annotations

import argparse
from pathlib import Path

from .cache import merge


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("inputs", type=Path, nargs="+")
    args = parser.parse_args(argv)
    cache = merge(args.out, args.inputs)
    print(f"{args.out}: {len(cache.scores)} scores, {len(cache.truth)} ground-truth rows")


if __name__ == "__main__":
    main()
