"""`python -m zcbench.search task=<task> strategy=<name> fitness=<proxy|ensemble|random|oracle> [key=value ...]`.

The stable entry point of the search command (zcbench/cli/search.py; console script zcbench-search).
"""
from __future__ import annotations

from ..cli.search import main

if __name__ == "__main__":
    main()
