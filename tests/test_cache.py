"""The HDF5 score cache: round trip, journal replay, corruption, versions, merge."""
from __future__ import annotations

import h5py
import numpy as np
import pandas as pd
import pytest

from zcbench.cache import ScoreCache, load_scores, merge, read_h5
from zcbench.errors import CacheError


def _row(arch: str, proxy: str = "nwot", score: float = 1.0, seed: int = 0, version: str = "1", error: str = ""):
    return {"task": "t", "proxy": proxy, "arch": arch, "seed": seed, "settings": "bs=8",
            "score": score, "seconds": 0.5, "error": error, "proxy_version": version}


def test_round_trip_and_truth_join(tmp_path):
    path = tmp_path / "scores.h5"
    cache = ScoreCache(path)
    cache.add([_row("a", score=1.5), _row("b", score=float("nan"), error="boom")])
    cache.set_truth(pd.DataFrame({"task": ["t"], "arch": ["a"], "accuracy": [91.0]}))
    cache.checkpoint()
    frame = load_scores(path)
    assert list(frame.columns[:7]) == ["task", "arch", "proxy", "seed", "score", "seconds", "accuracy"]
    a = frame.set_index("arch")
    assert a.loc["a", "score"] == 1.5 and a.loc["a", "accuracy"] == 91.0
    assert np.isnan(a.loc["b", "accuracy"]) and a.loc["b", "error"] == "boom"
    again = ScoreCache(path)
    assert again.has("t", "nwot", "a", 0, "bs=8", "1")
    assert not again.has("t", "nwot", "a", 1, "bs=8", "1")       # other seed
    assert not again.has("t", "nwot", "a", 0, "bs=16", "1")      # other settings
    assert not again.has("t", "nwot", "a", 0, "bs=8", "2")       # proxy code changed
    assert again.has("t", "nwot", "b", 0, "bs=8", "1")
    assert not again.has("t", "nwot", "b", 0, "bs=8", "1", retry_failed=True)


def test_non_finite_score_becomes_a_failure(tmp_path):
    cache = ScoreCache(tmp_path / "s.h5")
    cache.add([_row("a", score=float("inf"))])
    cache.checkpoint()
    assert "non-finite" in load_scores(tmp_path / "s.h5").loc[0, "error"]


def test_journal_survives_a_kill_and_a_torn_last_line(tmp_path):
    path = tmp_path / "scores.h5"
    cache = ScoreCache(path)
    cache.add([_row("a")])
    cache.checkpoint()
    cache.add([_row("b"), _row("c")])          # journaled, never checkpointed (as if killed)
    with open(cache.journal, "a") as fh:
        fh.write('{"task": "t", "proxy": "nw')  # the kill tore the row being written
    reopened = ScoreCache(path)
    assert sorted(reopened.frame()["arch"]) == ["a", "b", "c"]
    assert not reopened.journal.exists()
    assert sorted(read_h5(path)[0]["arch"]) == ["a", "b", "c"]


def test_damaged_journal_in_the_middle_is_an_error(tmp_path):
    path = tmp_path / "scores.h5"
    cache = ScoreCache(path)
    cache.add([_row("a")])
    lines = cache.journal.read_text()
    cache.journal.write_text("garbage\n" + lines)
    with pytest.raises(CacheError, match="line 1 is damaged"):
        ScoreCache(path)


def test_corrupt_file_is_reported_not_overwritten(tmp_path):
    path = tmp_path / "scores.h5"
    path.write_bytes(b"this is not hdf5")
    with pytest.raises(CacheError, match="not a readable HDF5 file"):
        ScoreCache(path)
    assert path.read_bytes() == b"this is not hdf5"


def test_foreign_hdf5_is_reported(tmp_path):
    path = tmp_path / "other.h5"
    with h5py.File(path, "w") as f:
        f["x"] = [1, 2, 3]
    with pytest.raises(CacheError, match="not a zcbench score cache"):
        ScoreCache(path)


def test_newer_row_replaces_older_version(tmp_path):
    path = tmp_path / "s.h5"
    cache = ScoreCache(path)
    cache.add([_row("a", score=1.0, version="1")])
    cache.checkpoint()
    cache.add([_row("a", score=2.0, version="2")])
    cache.checkpoint()
    frame = load_scores(path)
    assert len(frame) == 1 and frame.loc[0, "score"] == 2.0 and frame.loc[0, "proxy_version"] == "2"


def test_merge_shards(tmp_path):
    for i, archs in enumerate([["a", "c"], ["b"]]):
        shard = ScoreCache(tmp_path / f"scores.shard-{i}-of-2.h5")
        shard.add([_row(a) for a in archs])
        shard.set_truth(pd.DataFrame({"task": "t", "arch": archs, "accuracy": [1.0] * len(archs)}))
        shard.checkpoint()
    merged = merge(tmp_path / "scores.h5",
                   sorted(tmp_path.glob("scores.shard-*.h5")))
    frame = load_scores(merged.path)
    assert sorted(frame["arch"]) == ["a", "b", "c"] and frame["accuracy"].notna().all()
