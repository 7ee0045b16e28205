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


def test_prune_keeps_only_the_current_settings_of_one_proxy(tmp_path):
    from zcbench.cache import prune
    from zcbench.cli.merge import run
    from zcbench.harness import compose

    path = tmp_path / "scores.h5"
    cache = ScoreCache(path)
    cache.add([_row("a", "swap_reg"), _row("b", "swap_reg"), _row("a", "nwot")])
    cache.add([{**_row(a, "swap_reg", score=2.0), "settings": "bs=8;mu=9"} for a in ("a", "b")])
    cache.add([{**_row("a", "nwot"), "settings": "bs=16"}])  # another proxy's other settings stay
    cache.checkpoint()
    run(compose([f"cache={path}", "prune=swap_reg", "keep_settings='bs=8;mu=9'"], config_name="merge"))
    frame = load_scores(path)
    swap = frame[frame["proxy"] == "swap_reg"]
    assert sorted(swap["arch"]) == ["a", "b"] and (swap["score"] == 2.0).all()
    assert sorted(frame.loc[frame["proxy"] == "nwot", "settings"]) == ["bs=16", "bs=8"]
    with pytest.raises(CacheError, match="no swap_reg row with settings 'bs=4'"):
        prune(path, "swap_reg", "bs=4")
    assert len(load_scores(path)) == 4  # nothing dropped by the refused call


def _write_version_1(path, rows: list[dict]) -> None:
    """A score file as zcbench wrote it before format version 2: one string per row."""
    string = h5py.string_dtype("utf-8")
    frame = pd.DataFrame(rows)
    with h5py.File(path, "w") as f:
        f.attrs["format"], f.attrs["format_version"] = "zcbench-scores", 1
        g = f.create_group("scores")
        for c in ["task", "proxy", "arch", "seed", "settings", "score", "seconds", "error", "proxy_version"]:
            values = frame[c].to_numpy()
            if c in ("seed", "score", "seconds"):
                g.create_dataset(c, data=values.astype("int64" if c == "seed" else "float64"))
            else:
                g.create_dataset(c, data=np.asarray(values, dtype=object), dtype=string)
        t = f.create_group("truth")
        t.create_dataset("task", data=np.asarray(["t"], dtype=object), dtype=string)
        t.create_dataset("arch", data=np.asarray(["a"], dtype=object), dtype=string)
        t.create_dataset("accuracy", data=np.array([90.0]))


def test_version_1_files_are_read_and_rewritten_as_version_2(tmp_path):
    path = tmp_path / "scores.h5"
    rows = [_row("a", score=1.5), _row("b", proxy="synflow", score=2.0), _row("c", error="boom", score=float("nan"))]
    _write_version_1(path, rows)
    old, truth = read_h5(path)
    assert list(old["arch"]) == ["a", "b", "c"] and list(old["error"]) == ["", "", "boom"]
    cache = ScoreCache(path)
    cache.add([_row("d", score=3.0)])
    cache.checkpoint()
    with h5py.File(path, "r") as f:
        assert f.attrs["format_version"] == 2 and f["scores/arch"].dtype == np.int32
        assert sorted(v.decode() for v in f["scores/arch__values"][()]) == ["a", "b", "c", "d"]
    new, truth2 = read_h5(path)
    pd.testing.assert_frame_equal(new.iloc[:3], old)
    pd.testing.assert_frame_equal(truth2, truth)
    assert new.iloc[3]["arch"] == "d" and new.iloc[3]["score"] == 3.0


def test_damaged_codes_and_empty_files(tmp_path):
    path = tmp_path / "scores.h5"
    cache = ScoreCache(path)
    cache.checkpoint()  # an empty file round-trips
    assert read_h5(path)[0].empty
    cache.add([_row("a")])
    cache.checkpoint()
    with h5py.File(path, "r+") as f:
        f["scores/arch"][0] = 7
    with pytest.raises(CacheError, match="codes outside its 1 values"):
        read_h5(path)


def test_a_cache_with_nothing_new_is_not_rewritten(tmp_path):
    path = tmp_path / "scores.h5"
    cache = ScoreCache(path)
    cache.add([_row("a"), _row("b")])
    cache.set_truth(pd.DataFrame({"task": ["t", "t"], "arch": ["a", "b"], "accuracy": [90.0, 80.0]}))
    cache.checkpoint()
    stamp = path.stat().st_mtime_ns
    again = ScoreCache(path)
    again.set_truth(pd.DataFrame({"task": ["t"], "arch": ["b"], "accuracy": [80.0]}))  # already held
    again.checkpoint()
    assert path.stat().st_mtime_ns == stamp
    again.set_truth(pd.DataFrame({"task": ["t"], "arch": ["b"], "accuracy": [81.0]}))  # a real change
    again.checkpoint()
    assert path.stat().st_mtime_ns != stamp
    assert read_h5(path)[1].set_index("arch").loc["b", "accuracy"] == 81.0


def test_two_writers_of_one_file_lose_nothing(tmp_path):
    """Two caches open on one file (two commands on one out_dir): each checkpoint keeps the other's rows."""
    path = tmp_path / "scores.h5"
    a, b = ScoreCache(path), ScoreCache(path)
    for i in range(6):
        a.add([_row(f"x{i}", proxy="params")])
        b.add([_row(f"x{i}", proxy="flops", seed=1)])
        if i % 2:
            a.checkpoint()
        if i % 3 == 2:
            b.checkpoint()
    a.checkpoint()
    b.checkpoint()
    frame = load_scores(path)
    assert frame.groupby("proxy")["arch"].nunique().to_dict() == {"flops": 6, "params": 6}
    assert a.has("t", "flops", "x5", 1, "bs=8", "1"), "a checkpoint also shows the other writer's rows"


def test_a_cache_opened_mid_run_folds_the_other_writers_journal_without_loss(tmp_path):
    path = tmp_path / "scores.h5"
    running = ScoreCache(path)
    running.add([_row("a"), _row("b")])            # in the journal, not checkpointed
    ScoreCache(path).add([_row("c", proxy="flops")])  # opening folds a, b into the file
    running.add([_row("d")])
    running.checkpoint()
    assert sorted(load_scores(path)["arch"]) == ["a", "b", "c", "d"]


def test_prune_and_merge_under_the_lock_keep_other_rows(tmp_path):
    path = tmp_path / "scores.h5"
    writer = ScoreCache(path)
    writer.add([_row("a", proxy="p", version="1"), _row("b", proxy="q")])
    writer.checkpoint()
    stale = {**_row("a", proxy="p"), "settings": "old"}
    writer.add([stale])                             # journal only: prune must still see it
    from zcbench.cache import prune

    assert prune(path, "p", "bs=8") == 1
    assert sorted(load_scores(path)["settings"]) == ["bs=8", "bs=8"]
    other = tmp_path / "other.h5"
    extra = ScoreCache(other)
    extra.add([_row("z", proxy="q")])
    extra.checkpoint()
    merge(path, [other])
    assert sorted(load_scores(path)["arch"]) == ["a", "b", "z"]


def test_drop_removes_one_proxy_on_one_task(tmp_path):
    """For failures cached before a proxy was declared not to apply to a task (epe_nas on room layout)."""
    import subprocess
    import sys

    path = tmp_path / "scores.h5"
    cache = ScoreCache(path)
    cache.add([_row("a", proxy="epe_nas", error="ValueError: not defined here"), _row("a", proxy="params"),
               {**_row("a", proxy="epe_nas"), "task": "other"}])
    cache.checkpoint()
    done = subprocess.run([sys.executable, "-m", "zcbench.cli.merge", f"cache={path}", "drop=epe_nas", "drop_task=t"],
                          capture_output=True, text=True)
    assert done.returncode == 0 and "dropped 1 epe_nas rows on task t" in done.stdout, done.stderr
    frame = load_scores(path)
    assert sorted(zip(frame["task"], frame["proxy"])) == [("other", "epe_nas"), ("t", "params")]
    from zcbench.cache import drop

    with pytest.raises(CacheError, match="no epe_nas row on task 't'"):
        drop(path, "epe_nas", "t")


def _rows(version: str, scores: dict[str, float], settings: str = "batch=2x3x8x8", task: str = "t"):
    return [{"task": task, "proxy": "p", "arch": a, "seed": 0, "settings": settings, "score": s,
             "seconds": 0.1, "error": "", "proxy_version": version} for a, s in scores.items()]


def _write(path, rows):
    from zcbench.cache import ScoreCache
    cache = ScoreCache(path)
    cache.add(rows)
    cache.checkpoint()


def test_relabel_verified_only_where_recomputation_matches(tmp_path):
    from zcbench.cache import CacheError, load_scores, relabel_verified

    old = {f"a{i}": float(i) for i in range(6)}
    cache = tmp_path / "cache.h5"
    _write(cache, _rows("1", old) + _rows("1", old, settings="batch=4x3x8x8"))
    evidence = tmp_path / "fresh.h5"
    _write(evidence, _rows("2", {a: old[a] for a in ("a0", "a1", "a2")})
           + _rows("2", {a: old[a] for a in ("a0", "a1")}, settings="batch=4x3x8x8"))
    done = relabel_verified(cache, "p", "1", "2", evidence)
    assert done == {("t", "batch=2x3x8x8"): 6}  # the other settings had only 2 archs of evidence
    frame = load_scores(cache)
    assert set(frame[frame.settings == "batch=2x3x8x8"].proxy_version) == {"2"}
    assert set(frame[frame.settings == "batch=4x3x8x8"].proxy_version) == {"1"}

    changed = tmp_path / "changed.h5"
    _write(changed, _rows("2", {"a0": 0.0, "a1": 1.0, "a2": 2.5}, settings="batch=4x3x8x8"))
    with pytest.raises(CacheError, match="must be recomputed"):
        relabel_verified(cache, "p", "1", "2", changed)
    assert set(load_scores(cache).query("settings == 'batch=4x3x8x8'").proxy_version) == {"1"}
