"""Ground-truth readers: one function per on-disk file format.

Every reader takes the data root plus format-specific options and returns a
DataFrame with columns ``key`` (the architecture key string exactly as the file
writes it), ``accuracy`` (the file's ``val_accuracy``) and one ``ref_<proxy>``
column per proxy score stored in the file (NaN where an architecture lacks it;
``-inf`` kept as written).
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Callable

import pandas as pd

from ..errors import DataNotFoundError, UnknownNameError, ZcbenchError
from ..registry import Registry

Reader = Callable[..., pd.DataFrame]
READERS: Registry[Reader] = Registry("ground-truth reader")

#: Record fields that are neither ground truth nor a proxy score.
_META_FIELDS = frozenset({"idx", "arch"})
_ACC_FIELD = "val_accuracy"


class GroundTruthFormatError(ZcbenchError, ValueError):
    """A ground-truth file whose content does not have the expected structure."""


# --------------------------------------------------------------------------- helpers


def _load_json(path: Path) -> Any:
    """Parse one JSON file (bare -Infinity/NaN tokens allowed); name the file on failure."""
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise GroundTruthFormatError(f"{path}: not valid JSON ({exc})") from exc


def _to_float(value: Any, where: str) -> float:
    """A JSON number (bools excluded) or None (-> NaN) as a float."""
    if value is None:
        return math.nan
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise GroundTruthFormatError(f"{where}: expected a number, got {value!r}")
    return float(value)


def _parse_record(record: Any, where: str) -> tuple[float, dict[str, float]]:
    """Split one architecture record into (val_accuracy, {proxy: score}).

    Proxy values may be ``{"score": x, "time": t}`` dicts (newer files) or bare
    numbers (older files).
    """
    if not isinstance(record, dict):
        raise GroundTruthFormatError(f"{where}: expected an object, got {type(record).__name__}")
    if _ACC_FIELD not in record:
        raise GroundTruthFormatError(f"{where}: no {_ACC_FIELD!r} field")
    accuracy = _to_float(record[_ACC_FIELD], f"{where}.{_ACC_FIELD}")
    scores: dict[str, float] = {}
    for name, value in record.items():
        if name in _META_FIELDS or name == _ACC_FIELD:
            continue
        if isinstance(value, dict):
            if "score" not in value:
                raise GroundTruthFormatError(f"{where}.{name}: proxy entry has no 'score'")
            value = value["score"]
        scores[name] = _to_float(value, f"{where}.{name}")
    return accuracy, scores


def _frame(rows: list[tuple[str, float, dict[str, float]]]) -> pd.DataFrame:
    """Build the standard key/accuracy/ref_* frame from parsed rows."""
    proxies = sorted({p for _, _, scores in rows for p in scores})
    data: dict[str, list] = {"key": [r[0] for r in rows], "accuracy": [r[1] for r in rows]}
    for p in proxies:
        data[f"ref_{p}"] = [r[2].get(p, math.nan) for r in rows]
    frame = pd.DataFrame(data)
    frame["key"] = frame["key"].astype(object)
    return frame.astype({c: "float64" for c in frame.columns if c != "key"})


# ----------------------------------------------------------------------- suite_zero


def _suite_zero_hint(path: Path) -> str:
    return (f"This should be NAS-Bench-Suite-Zero's {path.name} from NASLib naslib/data/ "
            f"(automl/NASLib, branch zerocost), placed at {path}")


def _suite_zero_records(content: Any, dataset: str, path: Path) -> dict[str, Any]:
    """Find the {key: record} map for ``dataset`` in either Suite-Zero layout.

    Newer: ``{dataset: {key: record}}``. Older: ``{space: {dataset: {key: record}}}``.
    """
    if not isinstance(content, dict):
        raise GroundTruthFormatError(f"{path}: expected a JSON object at top level")
    if dataset in content:
        records = content[dataset]
    else:
        nested = {sp: v for sp, v in content.items()
                  if isinstance(v, dict) and dataset in v and isinstance(v[dataset], dict)}
        if len(nested) > 1:
            raise GroundTruthFormatError(
                f"{path}: dataset {dataset!r} appears under several spaces: {sorted(nested)}")
        if not nested:
            raise UnknownNameError(f"dataset in {path}", dataset, _suite_zero_datasets(content))
        records = next(iter(nested.values()))[dataset]
    if not isinstance(records, dict):
        raise GroundTruthFormatError(f"{path}: entry {dataset!r} is not an object of architectures")
    return records


def _suite_zero_datasets(content: dict) -> list[str]:
    """Dataset names a Suite-Zero file holds, for error messages (both layouts)."""
    names = []
    for top, value in content.items():
        first = next(iter(value.values()), None) if isinstance(value, dict) and value else None
        if isinstance(first, dict) and _ACC_FIELD in first:
            names.append(top)  # newer layout: top level is the dataset
        elif isinstance(value, dict):
            names.extend(value)  # older layout: top level is the space
    return names


@READERS.register("suite_zero")
def read_suite_zero(root: Path, *, file: str, dataset: str) -> pd.DataFrame:
    """Read one dataset of a NAS-Bench-Suite-Zero ``zc_<space>.json`` file."""
    path = Path(root) / file
    if not path.is_file():
        raise DataNotFoundError(f"NAS-Bench-Suite-Zero file {file!r}", [str(path)],
                                _suite_zero_hint(path))
    records = _suite_zero_records(_load_json(path), dataset, path)
    rows = [(key, *_parse_record(rec, f"{path}: {dataset}[{key!r}]"))
            for key, rec in records.items()]
    if not rows:
        raise GroundTruthFormatError(f"{path}: dataset {dataset!r} holds no architectures")
    return _frame(rows)


# ---------------------------------------------------------------- naslib_full_space


def _full_space_hint(directory: Path, pattern: str) -> str:
    return ("This should hold NASLib benchmark-creation outputs: JSON lists named like "
            f"{pattern!r}, unzipped from NASLib run/results/benchmarks/<name>.zip "
            f"(automl/NASLib, branch zerocost) into {directory}")


def _full_space_rows(path: Path) -> list[tuple[str, float, dict[str, float]]]:
    """Parse one NASLib benchmark JSON list into rows."""
    content = _load_json(path)
    if not isinstance(content, list):
        raise GroundTruthFormatError(f"{path}: expected a JSON list of records")
    rows = []
    for i, rec in enumerate(content):
        where = f"{path}: record {i}"
        if not isinstance(rec, dict) or not isinstance(rec.get("arch"), str):
            raise GroundTruthFormatError(f"{where}: no string 'arch' field")
        rows.append((rec["arch"], *_parse_record(rec, where)))
    return rows


def _merge_duplicates(rows: list[tuple[str, float, dict[str, float]]],
                      where: Path) -> list[tuple[str, float, dict[str, float]]]:
    """Keep the first row per key; raise if a repeated key has a different accuracy."""
    seen: dict[str, tuple[str, float, dict[str, float]]] = {}
    for row in rows:
        first = seen.setdefault(row[0], row)
        if first is not row and first[1] != row[1]:
            raise GroundTruthFormatError(
                f"{where}: architecture {row[0]!r} appears twice with different "
                f"val_accuracy ({first[1]} vs {row[1]})")
        if first is not row:  # same accuracy: fill in any proxy the first lacked
            for p, s in row[2].items():
                first[2].setdefault(p, s)
    return list(seen.values())


@READERS.register("naslib_full_space")
def read_naslib_full_space(root: Path, *, dir: str, pattern: str) -> pd.DataFrame:  # noqa: A002
    """Concatenate the NASLib ``benchmark--<space>--<task>--<n>.json`` lists matching ``pattern``."""
    directory = Path(root) / dir
    if not directory.is_dir():
        raise DataNotFoundError(f"NASLib full-space folder {dir!r}", [str(directory)],
                                _full_space_hint(directory, pattern))
    files = sorted(directory.glob(pattern))
    if not files:
        raise DataNotFoundError(f"files matching {pattern!r}", [str(directory / pattern)],
                                _full_space_hint(directory, pattern))
    rows = [row for path in files for row in _full_space_rows(path)]
    return _frame(_merge_duplicates(rows, directory / pattern))
