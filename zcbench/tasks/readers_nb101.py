"""NAS-Bench-101 ground truth: one row per distinct cell.

NB101 files list raw specs, and many raw specs are the same cell (dangling
vertices, isomorphic vertex orders, repeated draws), so these readers key rows
by the nb101 canonical string and combine the rows of one cell:

- ``mlfe_nb101``: MLFE's npy triple (keep_matrix_list_all, keep_arc_all,
  keep_indi_all): 2,000 rows, 846 cells. Each row holds one of NB101's three
  108-epoch training repeats; ``repeat="mean"`` (default) averages a cell's
  rows, ``repeat="first"`` takes its first row in file order.
- ``suite_zero_nb101``: NAS-Bench-Suite-Zero's zc_nasbench101.json: 500 raw
  specs, 292 cells. Its val_accuracy is one randomly drawn repeat per row, so
  duplicates differ; accuracy and stored ref_* scores are averaged per cell.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import DataNotFoundError, InvalidArchError
from ..spaces.nb101_spec import parse
from .readers import READERS, GroundTruthFormatError, read_suite_zero

#: keep_indi_all.npy columns (accuracies are fractions; the reader returns %).
MLFE_COLUMNS = ("trainable_parameters", "training_time", "train_acc", "valid_acc", "test_acc")
MLFE_FILES = ("keep_matrix_list_all.npy", "keep_arc_all.npy", "keep_indi_all.npy")
REPEATS = ("mean", "first")


def _load_npy(path: Path) -> np.ndarray:
    try:
        return np.load(path, allow_pickle=False)
    except ValueError as exc:
        raise GroundTruthFormatError(f"{path}: not a plain .npy array ({exc})") from exc


def _combine(frame: pd.DataFrame, repeat: str) -> pd.DataFrame:
    """One row per key: the mean of its rows, or its first row (file order kept)."""
    if repeat not in REPEATS:
        raise GroundTruthFormatError(f"repeat={repeat!r}; valid values: {', '.join(REPEATS)}")
    grouped = frame.groupby("key", sort=False)
    return (grouped.mean() if repeat == "mean" else grouped.first()).reset_index()


@READERS.register("mlfe_nb101")
def read_mlfe_nb101(root: Path, *, dir: str = "nb101", column: str = "valid_acc",  # noqa: A002
                    repeat: str = "mean") -> pd.DataFrame:
    """Read MLFE's NB101 arrays: key = canonical cell, accuracy = ``column`` in %, ref_params in M.

    column: the keep_indi_all.npy accuracy column (train_acc, valid_acc, test_acc); named
    ``column``, not ``metric``, because a task's ``truth.metric`` is its description.
    """
    directory = Path(root) / dir
    missing = [str(directory / f) for f in MLFE_FILES if not (directory / f).is_file()]
    if missing:
        raise DataNotFoundError("MLFE NAS-Bench-101 arrays", missing,
                                "These are keep_matrix_list_all.npy, keep_arc_all.npy and keep_indi_all.npy "
                                f"from NingW3028/MLFE ProxyEval-NAS101/data/, placed in {directory}")
    accuracy_columns = [c for c in MLFE_COLUMNS if c.endswith("_acc")]
    if column not in accuracy_columns:
        raise GroundTruthFormatError(f"column={column!r}; valid columns: {', '.join(accuracy_columns)}")
    matrices, ops, indi = (_load_npy(directory / f) for f in MLFE_FILES)
    if indi.ndim != 2 or indi.shape[1] != len(MLFE_COLUMNS) or not len(matrices) == len(ops) == len(indi):
        raise GroundTruthFormatError(f"{directory}: expected N x 7 x 7 matrices, N x 7 ops and N x "
                                     f"{len(MLFE_COLUMNS)} metrics, got {matrices.shape}, {ops.shape}, {indi.shape}")
    keys = []
    for i, (m, o) in enumerate(zip(matrices, ops)):
        try:
            keys.append(parse({"matrix": m.tolist(), "ops": o.tolist()}).to_string())
        except InvalidArchError as err:
            raise GroundTruthFormatError(f"{directory}: row {i}: {err}") from None
    frame = pd.DataFrame({"key": keys,
                          "accuracy": 100.0 * indi[:, MLFE_COLUMNS.index(column)],
                          "ref_params": indi[:, 0] / 1e6})
    spread = frame.groupby("key")["ref_params"].nunique()
    if (spread > 1).any():
        raise GroundTruthFormatError(f"{directory}: cell {spread.idxmax()} has rows with different "
                                     "trainable_parameters; the rows do not describe one network")
    out = _combine(frame, repeat)
    out["key"] = out["key"].astype(object)
    return out


@READERS.register("suite_zero_nb101")
def read_suite_zero_nb101(root: Path, *, file: str = "suite_zero/zc_nasbench101.json",
                          dataset: str = "cifar10", repeat: str = "mean") -> pd.DataFrame:
    """Suite-Zero NB101 rows combined per canonical cell (mean, or first row with repeat="first")."""
    frame = read_suite_zero(root, file=file, dataset=dataset)
    frame["key"] = [parse(k).to_string() for k in frame["key"]]
    out = _combine(frame, repeat)
    out["key"] = out["key"].astype(object)
    return out
