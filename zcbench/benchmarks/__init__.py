"""Benchmarks: ground-truth readers (and, later, the tasks built on them)."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from .readers import READERS, GroundTruthFormatError
from . import readers_built  # noqa: E402,F401  (registers zcbench_benchmark)


def read_ground_truth(reader: str, root: str | Path, **options) -> pd.DataFrame:
    """Read a ground-truth table with the named reader (see READERS) from data root ``root``."""
    return READERS.get(reader)(Path(root), **options)


__all__ = ["READERS", "GroundTruthFormatError", "read_ground_truth"]
