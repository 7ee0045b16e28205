"""Scores keyed on what determines them: tasks that differ only in their ground truth share scores."""
from __future__ import annotations

import dataclasses
import json

import h5py
import pandas as pd
import pytest
from omegaconf import OmegaConf

import zcbench
from zcbench.cache import ScoreCache, read_h5
from zcbench.errors import BadOptionError
from zcbench.harness import compose, run
from zcbench.sharing import SharedScores
from zcbench.tasks.computation import task_computation
from zcbench.tasks.task import ground_truth, load_task

# the same CIFAR-10 networks and inputs as nb201_cifar10, correlated with another column: their CIFAR-100 accuracy
SUITE_ZERO_TRUTH = {"reader": "suite_zero", "file": "suite_zero/zc_nasbench201.json", "dataset": "cifar100",
                    "metric": "CIFAR-100 validation accuracy (%) (NAS-Bench-Suite-Zero)", "higher_is_better": True}


# ------------------------------------------------------------------ the key
def test_computation_key_leaves_out_name_truth_description_and_proxy_options():
    kd, base = load_task("autoprox_cifar100_kd"), load_task("autoprox_cifar100_base")
    assert kd.truth != base.truth and kd.computation == base.computation
    assert len(kd.computation) == 12
    same = dataclasses.replace(kd, name="x", description="y", truth={}, proxy_options={"nwot": {}})
    assert same.computation == kd.computation
    for change in ({"image_size": 112}, {"num_classes": 10}, {"dataset": "cifar10"}, {"target": "jigsaw"},
                   {"space_options": {**kd.space_options, "patch_size": 8}}, {"loss": "mse"}):
        assert dataclasses.replace(kd, **change).computation != kd.computation, change


def test_known_tasks_that_differ_only_in_truth_share_a_key():
    pairs = [("autoprox_cifar100_kd", "autoprox_cifar100_base"), ("ood_autoformer_t_imagenet", "autoformer_t_imagenet"),
             ("tnb101_micro_class_scene", "tnb101_micro_class_scene_best")]
    for a, b in pairs:
        assert task_computation(a) == task_computation(b) == load_task(a).computation != ""
    assert task_computation("nb201_cifar10") != task_computation("nb201_cifar100")
    assert task_computation("no_such_task") == ""


# ------------------------------------------------------------------ the cache column
def _row(task: str, arch: str, score: float = 1.0, **more) -> dict:
    return {"task": task, "proxy": "nwot", "arch": arch, "seed": 0, "settings": "s", "score": score,
            "seconds": 0.5, "error": "", "proxy_version": "1", **more}


def test_rows_written_before_the_column_get_their_tasks_key_on_read(tmp_path):
    path = tmp_path / "scores.h5"
    cache = ScoreCache(path)
    cache.add([_row("autoprox_cifar100_kd", "a"), _row("t", "b"), _row("t", "c", computation="k")])
    cache.checkpoint()
    assert list(read_h5(path)[0]["computation"]) == [task_computation("autoprox_cifar100_kd"), "", "k"]
    with h5py.File(path, "a") as f:  # as an older zcbench wrote it
        del f["scores/computation"], f["scores/computation__values"]
    journal = path.with_name(path.name + ".journal")
    journal.write_text(json.dumps(_row("autoprox_cifar100_base", "d")) + "\n")
    frame = zcbench.load_scores(path)
    key = task_computation("autoprox_cifar100_kd")
    assert list(frame["computation"]) == [key, "", "", key]  # base's row: the same key as kd's


def test_shared_scores_take_current_versions_and_prefer_successes(tmp_path):
    own = ScoreCache(tmp_path / "own" / "scores.h5")
    own.add([_row("a", "x", 1.0, computation="k"), _row("a", "y", 2.0, computation="k", proxy_version="0"),
             _row("a", "z", float("nan"), computation="k", error="boom"), _row("c", "w", 4.0, computation="other")])
    (tmp_path / "more").mkdir()
    more = ScoreCache(tmp_path / "more" / "scores.h5")
    more.add([_row("b", "z", 3.0, computation="k")])
    more.checkpoint()
    shared = SharedScores.gather("me", "k", own, tmp_path / "own", [str(tmp_path / "more")], {"nwot": "1"})
    settings = {"nwot": "s"}
    assert shared.take(["nwot"], "x", 0, settings)[0] == {**_row("me", "x", 1.0), "computation": "k"}
    assert shared.take(["nwot"], "y", 0, settings) == []  # computed by an older proxy version
    assert shared.take(["nwot"], "w", 0, settings) == []  # another computation
    assert shared.take(["nwot"], "x", 1, settings) == []  # another seed
    assert shared.take(["nwot"], "x", 0, {"nwot": "t"}) == []  # other settings
    assert shared.take(["nwot"], "z", 0, settings)[0]["score"] == 3.0  # b's success beats a's failure
    assert shared.report() == [
        f"[zcbench] reused 1 scores computed for task a (same computation) from {own.path}",
        f"[zcbench] reused 1 scores computed for task b (same computation) from {tmp_path / 'more'}"]


def test_share_from_must_exist(tmp_path):
    with pytest.raises(BadOptionError, match=r"share_from='.*nowhere' does not exist"):
        run(compose([f"out_dir={tmp_path}", "progress=false", f"share_from=[{tmp_path / 'nowhere'}]"]))


# ------------------------------------------------------------------ runs
def _cfg(out_dir, real_data, *overrides, truth=None):
    cfg = compose([f"out_dir={out_dir}", f"data_root={real_data}", "progress=false", "proxy=[nwot,params]",
                   "batch_size=8", *overrides])
    if truth is not None:
        OmegaConf.update(cfg, "task.truth", truth, merge=False)
    return cfg


def test_a_task_differing_only_in_truth_computes_nothing(tmp_path, real_data, capsys):
    base = load_task("nb201_cifar10")
    other = dataclasses.replace(base, name="nb201_cifar10_c100_truth", truth=SUITE_ZERO_TRUTH)
    assert other.computation == base.computation
    shared = sorted(set(ground_truth(other, real_data)["arch"]) & set(ground_truth(base, real_data)["arch"]))
    archs = tmp_path / "archs.txt"
    archs.write_text("\n".join(shared[:4]) + "\n")
    runs = tmp_path / "runs"
    first = run(_cfg(runs / "nb201_cifar10", real_data, f"archs={archs}"))
    assert first.n_computed == 4
    capsys.readouterr()

    # a sibling folder named after a task of the same key: found without being named
    second = run(_cfg(runs / "mine", real_data, f"archs={archs}", "task.name=nb201_cifar10_c100_truth",
                      truth=SUITE_ZERO_TRUTH))
    out = capsys.readouterr().out
    assert second.n_computed == 0, out
    assert (f"reused 8 scores computed for task nb201_cifar10 (same computation) from {runs / 'nb201_cifar10'}"
            in out)
    a, b = zcbench.load_scores(runs / "nb201_cifar10"), zcbench.load_scores(runs / "mine")
    assert set(b["task"]) == {"nb201_cifar10_c100_truth"} and len(b) == 8
    pairs = a.merge(b, on=["proxy", "arch", "seed", "settings"])
    assert len(pairs) == 8 and (pairs["score_x"] == pairs["score_y"]).all()
    assert (pairs["computation_x"] == pairs["computation_y"]).all()
    assert not (pairs["accuracy_x"] == pairs["accuracy_y"]).all(), "two ground truths were read"

    # the same scores.h5: a third task of the same key reuses the rows now stored under the second
    third = run(_cfg(runs / "mine", real_data, f"archs={archs}", "task.name=nb201_cifar10_third",
                     "task.truth.higher_is_better=false"))
    assert third.n_computed == 0
    assert "reused 8 scores computed for task nb201_cifar10_c100_truth (same computation)" in capsys.readouterr().out


@pytest.mark.parametrize("change", ["task.image_size=16", "task.num_classes=100"])
def test_a_task_differing_in_image_size_or_classes_computes(tmp_path, real_data, change, capsys):
    archs = tmp_path / "archs.txt"
    archs.write_text("\n".join(sorted(ground_truth(load_task("nb201_cifar10"), real_data)["arch"])[:3]) + "\n")
    run(_cfg(tmp_path / "nb201_cifar10", real_data, f"archs={archs}"))
    again = run(_cfg(tmp_path / "nb201_cifar10", real_data, f"archs={archs}", "task.name=other", change))
    assert again.n_computed == 3
    assert "reused" not in capsys.readouterr().out


# ------------------------------------------------------------------ runs at another image size
def test_the_key_of_a_run_at_another_image_size_and_of_its_older_rows():
    """A TNB run at task.image_size=64 has the key of that size; rows it wrote before the column existed
    get the same key from the batch shape their settings record."""
    name = "tnb101_micro_class_object"
    at64 = compose([f"task={name}", "task.image_size=64"])
    from zcbench.tasks.task import Task

    key64 = Task.from_config(at64.task).computation
    assert key64 == task_computation(name, 64) != task_computation(name) == load_task(name).computation
    assert task_computation("nb201_cifar10", 64) == task_computation("nb201_cifar10")  # size left to the dataset
    settings = "input=cifar10;batch=32x3x64x64;space.head=class_object;space.image_size=64"
    frame = pd.DataFrame([{**_row(name, "a"), "settings": settings, "computation": ""},
                          {**_row(name, "b"), "settings": "s", "computation": ""}])
    from zcbench.cache import _fill_computation

    assert list(_fill_computation(frame)["computation"]) == [key64, task_computation(name)]


def test_sibling_of_the_same_family_is_found_when_both_run_at_another_size(tmp_path):
    """tnb101_micro_class_object_best (best-epoch truth) at 64 px finds the final-epoch task's 64-px rows."""
    key64 = task_computation("tnb101_micro_class_object", 64)
    sibling = ScoreCache(tmp_path / "tnb101_micro_class_object" / "scores.h5")
    sibling.add([_row("tnb101_micro_class_object", "x", 7.0, computation=key64)])
    sibling.checkpoint()
    own_dir = tmp_path / "tnb101_micro_class_object_best"
    own = ScoreCache(own_dir / "scores.h5")
    shared = SharedScores.gather("tnb101_micro_class_object_best", key64, own, own_dir, [], {"nwot": "1"})
    assert shared.take(["nwot"], "x", 0, {"nwot": "s"})[0]["score"] == 7.0
