"""Tests for the ground-truth readers in zcbench.tasks."""
from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pandas as pd
import pytest

from zcbench.tasks import READERS, GroundTruthFormatError, read_ground_truth
from zcbench.errors import DataNotFoundError, UnknownNameError, ZcbenchError

REPO = Path(__file__).resolve().parents[1]
NB201_SUITE = "suite_zero/zc_nasbench201.json"
NB201_FULL = "full_space/nb201_zen/zen"


@pytest.fixture(scope="module")
def root() -> Path:
    path = Path(os.environ.get("ZCBENCH_DATA") or REPO.parent / "shared" / "data")
    if not (path / NB201_SUITE).is_file():
        from conftest import missing_data

        missing_data(f"real ground-truth files not found under {path} (set ZCBENCH_DATA)")
    return path


@pytest.fixture(scope="module")
def nb201_c10(root: Path) -> pd.DataFrame:
    return read_ground_truth("suite_zero", root, file=NB201_SUITE, dataset="cifar10")


@pytest.fixture(scope="module")
def nb201_full_c10(root: Path) -> pd.DataFrame:
    return read_ground_truth("naslib_full_space", root, dir=NB201_FULL,
                             pattern="benchmark--nasbench201--cifar10--*.json")


# ------------------------------------------------------------------------ real files


def test_registry_names() -> None:
    assert {"suite_zero", "naslib_full_space"} <= set(READERS.names())


def test_suite_zero_nb201_cifar10(nb201_c10: pd.DataFrame) -> None:
    df = nb201_c10
    assert len(df) == 725 and df["key"].is_unique
    assert list(df.columns[:2]) == ["key", "accuracy"]
    proxies = {c[4:] for c in df.columns if c.startswith("ref_")}
    assert proxies == {"epe_nas", "fisher", "flops", "grad_norm", "grasp", "jacov", "l2_norm",
                       "nwot", "params", "plain", "snip", "synflow"}
    row = df.set_index("key").loc["(0, 2, 3, 2, 3, 1)"]
    assert row["accuracy"] == 86.06
    assert row["ref_params"] == 0.615386


def test_suite_zero_keeps_missing_and_minus_inf(nb201_c10: pd.DataFrame) -> None:
    df = nb201_c10.set_index("key")
    assert math.isnan(df.loc["(3, 2, 4, 0, 4, 4)", "ref_synflow"])  # README §3 caveat
    assert df["ref_synflow"].isna().sum() == 1
    assert df.loc["(1, 0, 1, 4, 0, 1)", "ref_nwot"] == -math.inf


def test_suite_zero_imagenet16(root: Path) -> None:
    df = read_ground_truth("suite_zero", root, file=NB201_SUITE, dataset="ImageNet16-120")
    assert len(df) == 724
    assert df["accuracy"].max() <= 47.33 + 1e-9


def test_suite_zero_older_nb101_format(root: Path) -> None:
    df = read_ground_truth("suite_zero", root, file="suite_zero/zc_nasbench101.json",
                           dataset="cifar10")
    assert len(df) == 500
    assert len(df["key"].iloc[0].strip("()").split(",")) == 56
    assert "ref_synflow" in df and "ref_nwot" not in df
    assert df.drop(columns="key").notna().all().all()


def test_full_space_nb201_cifar10(nb201_full_c10: pd.DataFrame) -> None:
    df = nb201_full_c10
    assert len(df) == 15_625 and df["key"].nunique() == 15_625
    assert list(df.columns) == ["key", "accuracy", "ref_zen"]
    assert (df["accuracy"] == 10.0).sum() == 341  # disconnected cells (README §1)


def test_full_space_agrees_with_suite_zero(nb201_c10: pd.DataFrame,
                                           nb201_full_c10: pd.DataFrame) -> None:
    merged = nb201_c10.merge(nb201_full_c10, on="key", suffixes=("_sz", "_fs"))
    assert len(merged) == 725
    assert (merged["accuracy_sz"] == merged["accuracy_fs"]).all()


# ---------------------------------------------------------------- tiny written files


def _write(path: Path, content: object | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


def test_suite_zero_both_layouts_tiny(tmp_path: Path) -> None:
    newer = {"cifar10": {"(0, 1)": {"idx": "0", "arch": "(0, 1)", "val_accuracy": 50.0,
                                    "snip": {"score": 2.5, "time": 0.1}},
                         "(1, 1)": {"idx": "1", "arch": "(1, 1)", "val_accuracy": 60.0,
                                    "snip": {"score": 3.0, "time": 0.1},
                                    "nwot": {"score": -math.inf, "time": 0.1}}}}
    older = {"nasbench301": {"cifar10": {"[[(0, 1)]]": {"snip": 1.5, "val_accuracy": 91.0}}}}
    _write(tmp_path / "new.json", json.dumps(newer))  # json writes the bare -Infinity token
    _write(tmp_path / "old.json", older)
    assert "-Infinity" in (tmp_path / "new.json").read_text()
    df = read_ground_truth("suite_zero", tmp_path, file="new.json", dataset="cifar10")
    assert df["key"].tolist() == ["(0, 1)", "(1, 1)"]
    assert df["ref_snip"].tolist() == [2.5, 3.0]
    assert math.isnan(df["ref_nwot"][0]) and df["ref_nwot"][1] == -math.inf
    old = read_ground_truth("suite_zero", tmp_path, file="old.json", dataset="cifar10")
    assert old.to_dict("records") == [{"key": "[[(0, 1)]]", "accuracy": 91.0, "ref_snip": 1.5}]


def test_suite_zero_unknown_dataset_lists_valid(tmp_path: Path) -> None:
    _write(tmp_path / "z.json", {"cifar10": {"(0,)": {"val_accuracy": 1.0}}})
    with pytest.raises(UnknownNameError, match="cifar10"):
        read_ground_truth("suite_zero", tmp_path, file="z.json", dataset="cifar100")


def test_full_space_duplicates(tmp_path: Path) -> None:
    rec = {"idx": "0", "arch": "(0, 1)", "zen": {"score": 1.0, "time": 0.1}, "val_accuracy": 5.0}
    _write(tmp_path / "d" / "benchmark--s--t--0.json", [rec])
    _write(tmp_path / "d" / "benchmark--s--t--1.json", [rec])
    df = read_ground_truth("naslib_full_space", tmp_path, dir="d", pattern="benchmark--s--t--*.json")
    assert len(df) == 1
    _write(tmp_path / "d" / "benchmark--s--t--2.json", [{**rec, "val_accuracy": 6.0}])
    with pytest.raises(GroundTruthFormatError, match=r"\(0, 1\)"):
        read_ground_truth("naslib_full_space", tmp_path, dir="d", pattern="benchmark--s--t--*.json")


# ---------------------------------------------------------------------------- errors


def test_missing_suite_zero_file(tmp_path: Path) -> None:
    with pytest.raises(DataNotFoundError) as info:
        read_ground_truth("suite_zero", tmp_path, file=NB201_SUITE, dataset="cifar10")
    msg = str(info.value)
    assert str(tmp_path / NB201_SUITE) in msg
    assert "NAS-Bench-Suite-Zero" in msg and "naslib/data/" in msg


def test_missing_full_space_dir_and_no_matches(tmp_path: Path) -> None:
    with pytest.raises(DataNotFoundError, match="nb201_zen"):
        read_ground_truth("naslib_full_space", tmp_path, dir=NB201_FULL, pattern="*.json")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataNotFoundError, match=r"benchmark--nasbench201--cifar10--\*\.json"):
        read_ground_truth("naslib_full_space", tmp_path, dir="empty",
                          pattern="benchmark--nasbench201--cifar10--*.json")


def test_unknown_reader_lists_valid(tmp_path: Path) -> None:
    with pytest.raises(UnknownNameError) as info:
        read_ground_truth("nope", tmp_path)
    assert "suite_zero" in str(info.value) and "naslib_full_space" in str(info.value)


@pytest.mark.parametrize("reader, options, name", [
    ("suite_zero", {"file": "bad.json", "dataset": "cifar10"}, "bad.json"),
    ("naslib_full_space", {"dir": "fs", "pattern": "*.json"}, "fs/x.json"),
])
def test_malformed_json_names_file(tmp_path: Path, reader: str, options: dict, name: str) -> None:
    path = _write(tmp_path / name, '{"cifar10": {"(0, 1)": {"val_accuracy": 5.0,')
    with pytest.raises(ZcbenchError) as info:
        read_ground_truth(reader, tmp_path, **options)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("content, match", [
    ({"cifar10": {"(0,)": {"snip": 1.0}}}, "val_accuracy"),
    ({"cifar10": {"(0,)": {"val_accuracy": "high"}}}, "expected a number"),
    ({"cifar10": {"(0,)": {"val_accuracy": 1.0, "snip": {"time": 1}}}}, "score"),
    ([1, 2], "top level"),
])
def test_malformed_structure(tmp_path: Path, content: object, match: str) -> None:
    _write(tmp_path / "s.json", content)
    with pytest.raises(GroundTruthFormatError, match=match):
        read_ground_truth("suite_zero", tmp_path, file="s.json", dataset="cifar10")
