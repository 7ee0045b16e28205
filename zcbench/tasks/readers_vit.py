"""Ground-truth readers for the public ViT-space benchmarks (data/README.md section 10).

* ``autoprox``: Auto-Prox's ``gt_autoformer*.pth`` (torch zip archives holding a
  list of ``{'arch': {...}, '<dataset>_<base|kd>_acc': float|None, ...}``),
  read with ``torch.load(weights_only=True)``: nothing but plain containers and
  numbers is unpickled.
* ``ood_vit_nas``: OoD-ViT-NAS's ``1k_Vit_Architecture_from_AutoFM_*.json``
  (``{"<i>": {"net_setting": {...}, "performance": {"Imagenet": {...}},
  "params": M, "flops": MFLOPs}}``).

Keys are the architecture dicts as JSON (sorted keys); the AutoFormer spaces
parse them. Records recorded with a parameter count get ``ref_params`` (in
millions), which the space's networks are checked against.
"""
from __future__ import annotations

import json
import math
import pickle
import zipfile
from pathlib import Path
from typing import Any, Sequence

import pandas as pd
import torch

from ..errors import DataNotFoundError, UnknownNameError
from .readers import READERS, GroundTruthFormatError, _load_json, _to_float

_AUTOPROX_HINT = ("This should be Auto-Prox's gt_results/{name} (lliai/Auto-Prox-AAAI24), "
                  "placed at {path}")
_OOD_HINT = ("This should be OoD-ViT-NAS's architecture_infors/{name} (vovantuan1999a/OoD-ViT-NAS), "
             "placed at {path}")


def _arch_key(arch: Any, where: str) -> str:
    if not isinstance(arch, dict):
        raise GroundTruthFormatError(f"{where}: architecture should be a dict, got {type(arch).__name__}")
    return json.dumps(arch, sort_keys=True)


# -------------------------------------------------------------------- Auto-Prox
def load_autoprox_file(path: Path) -> list[dict]:
    """The record list of one Auto-Prox .pth file (weights_only load: plain data only)."""
    try:
        records = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, zipfile.BadZipFile, EOFError, OSError) as exc:
        raise GroundTruthFormatError(f"{path}: not a readable Auto-Prox ground-truth file "
                                     f"({type(exc).__name__}: {exc})") from exc
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise GroundTruthFormatError(f"{path}: expected a list of records (dicts)")
    return records


def autoprox_columns(records: Sequence[dict]) -> list[str]:
    """Accuracy columns present in the records (every key but 'arch')."""
    return sorted({k for r in records for k in r if k != "arch"})


@READERS.register("autoprox")
def read_autoprox(root: Path, *, files: Sequence[str], column: str) -> pd.DataFrame:
    """One accuracy column of Auto-Prox's files; records where it is None are left out."""
    rows: dict[str, float] = {}
    for file in files:
        path = Path(root) / file
        if not path.is_file():
            raise DataNotFoundError(f"Auto-Prox ground-truth file {file!r}", [str(path)],
                                    _AUTOPROX_HINT.format(name=path.name, path=path))
        records = load_autoprox_file(path)
        columns = autoprox_columns(records)
        if column not in columns:
            raise UnknownNameError(f"accuracy column in {path}", column, columns)
        for i, rec in enumerate(records):
            where = f"{path}: record {i}"
            key = _arch_key(rec.get("arch"), where)
            value = _to_float(rec.get(column), f"{where}.{column}")
            if math.isnan(value):
                continue
            if key in rows and rows[key] != value:
                raise GroundTruthFormatError(f"{where}: architecture {key} appears twice with "
                                             f"{column} {rows[key]} and {value}")
            rows[key] = value
    if not rows:
        raise GroundTruthFormatError(f"column {column!r} is None in every record of {list(files)}")
    frame = pd.DataFrame({"key": list(rows), "accuracy": list(rows.values())})
    frame["key"] = frame["key"].astype(object)
    return frame


# ------------------------------------------------------------------- OoD-ViT-NAS
def _metric_value(performance: Any, path: Sequence[str], where: str) -> float:
    node = performance
    for i, step in enumerate(path):
        if not isinstance(node, dict) or step not in node:
            valid = sorted(node) if isinstance(node, dict) else []
            raise GroundTruthFormatError(f"{where}: no {'/'.join(path[:i + 1])!r} in performance; "
                                         f"keys there: {valid}")
        node = node[step]
    return _to_float(node, where)


@READERS.register("ood_vit_nas")
def read_ood_vit_nas(root: Path, *, file: str, field: Sequence[str] = ("Imagenet", "clean")) -> pd.DataFrame:
    """ImageNet top-1 (``field`` is its path inside ``performance``) plus ref_params/ref_flops."""
    path = Path(root) / file
    if not path.is_file():
        raise DataNotFoundError(f"OoD-ViT-NAS file {file!r}", [str(path)],
                                _OOD_HINT.format(name=path.name, path=path))
    content = _load_json(path)
    if not isinstance(content, dict) or not content:
        raise GroundTruthFormatError(f"{path}: expected a JSON object of architectures")
    keys, acc, params, flops = [], [], [], []
    for idx, rec in content.items():
        where = f"{path}: [{idx!r}]"
        if not isinstance(rec, dict) or "net_setting" not in rec or "performance" not in rec:
            raise GroundTruthFormatError(f"{where}: needs 'net_setting' and 'performance'")
        keys.append(_arch_key(rec["net_setting"], where))
        acc.append(_metric_value(rec["performance"], list(field), where))
        params.append(_to_float(rec.get("params"), f"{where}.params"))
        flops.append(_to_float(rec.get("flops"), f"{where}.flops"))
    if len(set(keys)) != len(keys):
        raise GroundTruthFormatError(f"{path}: an architecture is listed twice")
    frame = pd.DataFrame({"key": keys, "accuracy": acc, "ref_params": params, "ref_flops": flops})
    frame["key"] = frame["key"].astype(object)
    return frame
