"""Ground truth of DARTS-space cells from SWAP's CSV (pym1024/SWAP, datasets/DARTS_archs_CIFAR10.csv).

The file has no header; each row is ``"<DARTS Genotype repr>",<CIFAR-10 validation
accuracy %>``: 1,000 cells sampled from the DARTS space (with 'none') and trained
for real (200 epochs, a reduced pipeline the SWAP authors did not document).
"""
from __future__ import annotations

import csv
import math
from pathlib import Path

import pandas as pd

from ..errors import DataNotFoundError
from .readers import READERS, GroundTruthFormatError


def _hint(path: Path) -> str:
    return ("This should be SWAP's DARTS_archs_CIFAR10.csv (pym1024/SWAP or pym1024/SWAP_Universal, "
            f"datasets/DARTS_archs_CIFAR10.csv): rows \"<Genotype repr>\",<accuracy %>, placed at {path}")


@READERS.register("swap_darts_csv")
def read_swap_darts_csv(root: Path, *, file: str) -> pd.DataFrame:
    """Columns key (the Genotype repr as written) and accuracy (%), one row per CSV line."""
    path = Path(root) / file
    if not path.is_file():
        raise DataNotFoundError(f"SWAP DARTS-space CSV {file!r}", [str(path)], _hint(path))
    keys, accuracies = [], []
    with open(path, newline="", encoding="utf-8") as f:
        for line, row in enumerate(csv.reader(f), start=1):
            if not row:
                continue
            if len(row) != 2:
                raise GroundTruthFormatError(f"{path}, line {line}: expected 2 fields "
                                             f"(genotype, accuracy), found {len(row)}")
            try:
                accuracy = float(row[1])
            except ValueError:
                raise GroundTruthFormatError(f"{path}, line {line}: accuracy {row[1]!r} "
                                             "is not a number") from None
            if not math.isfinite(accuracy):
                raise GroundTruthFormatError(f"{path}, line {line}: accuracy {row[1]!r} is not finite")
            keys.append(row[0])
            accuracies.append(accuracy)
    if not keys:
        raise GroundTruthFormatError(f"{path} holds no rows")
    frame = pd.DataFrame({"key": keys, "accuracy": accuracies})
    frame["key"] = frame["key"].astype(object)
    return frame
