"""Tasks: what a run measures (task.py), its ground-truth readers, losses and loss targets.

Importing the package registers every reader and target builder, so a lookup by
name never depends on which module happened to be imported first.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from .readers import READERS, GroundTruthFormatError
from . import readers_built  # noqa: E402,F401  (registers zcbench_benchmark)
from . import readers_nb101  # noqa: E402,F401  (registers mlfe_nb101, suite_zero_nb101)
from . import readers_darts  # noqa: E402,F401  (registers swap_darts_csv)
from . import readers_vit  # noqa: E402,F401  (registers autoprox, ood_vit_nas)
from . import tnb101_targets  # noqa: E402,F401  (TransNAS-Bench-101 losses and targets)


def read_ground_truth(reader: str, root: str | Path, **options) -> pd.DataFrame:
    """Read a ground-truth table with the named reader (see READERS) from data root ``root``."""
    return READERS.get(reader)(Path(root), **options)


__all__ = ["READERS", "GroundTruthFormatError", "read_ground_truth"]
