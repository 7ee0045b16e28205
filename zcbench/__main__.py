"""`python -m zcbench proxy=<name|[a,b]|all> task=<task> [key=value ...]`: score (zcbench/cli/score.py).

The stable entry point of the scoring command; the console script `zcbench` points here.
"""
from __future__ import annotations

from .cli.score import main

if __name__ == "__main__":
    main()
