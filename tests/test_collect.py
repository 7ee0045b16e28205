"""The leaderboard's collection step (zcbench/analysis/collect.py): each task's status says what was read
from which file and how many scores were computed, and a run with nothing new to compute changes no file."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from zcbench.analysis.collect import collect
from zcbench.analysis.pages import leaderboard_page
from zcbench.cache import ScoreCache
from zcbench.harness import compose
from zcbench.proxies import PROXIES

PROXY_SET = ["params", "nwot", "synflow"]


def _write_cache(path: Path, task: str, n: int) -> None:
    """A score file like the harness writes: n archs x PROXY_SET, noisy in accuracy, current versions."""
    rng = np.random.default_rng(0)
    acc = rng.normal(70, 5, size=n)
    archs = [f"({i % 5}, {i // 5 % 5}, {i // 25}, 0, 0, 0)" for i in range(n)]
    path.parent.mkdir(parents=True, exist_ok=True)
    cache = ScoreCache(path)
    cache.add({"task": task, "proxy": p, "arch": a, "seed": 0, "settings": "input=cifar10;batch=8x3x32x32",
               "score": float(acc[i] + rng.normal(0, 3)), "seconds": 0.1, "error": "",
               "proxy_version": PROXIES.get(p).version} for p in PROXY_SET for i, a in enumerate(archs))
    cache.set_truth(pd.DataFrame({"task": task, "arch": archs, "accuracy": acc}))
    cache.checkpoint()


def _snapshot(root: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under root: its bytes and modification time (ns)."""
    return {str(f.relative_to(root)): (f.read_bytes(), f.stat().st_mtime_ns)
            for f in sorted(root.rglob("*")) if f.is_file()}


def _config(tmp_path: Path, *extra: str):
    return compose([f"cache_dir={tmp_path / 'cache'}", f"out_dir={tmp_path / 'out'}",
                    f"figures_dir={tmp_path / 'out' / 'figures'}", "figures=false", "n_boot=10",
                    "tasks=[nb201_cifar10]", "list_tasks=[nb201_cifar10,nb201_cifar100]", "extra_scores=[]",
                    *extra], config_name="leaderboard")


def test_status_names_the_file_read_and_says_nothing_was_computed(tmp_path):
    cache = tmp_path / "cache" / "nb201_cifar10" / "scores.h5"
    _write_cache(cache, "nb201_cifar10", 40)
    extra = tmp_path / "vit" / "scores.h5"
    _write_cache(extra, "nb201_cifar100", 30)
    got = collect(_config(tmp_path, "compute=false", f"extra_scores=[{extra}]"))
    assert got.status == {
        "nb201_cifar10": f"read 40 archs x 3 proxies from {cache}, computed 0 (compute=false)",
        "nb201_cifar100": f"read 30 archs x 3 proxies from {extra} (extra_scores), computed 0 "
                          "(not in this run's sample)"}
    assert len(got.frame) == 70 * 3
    missing = collect(_config(tmp_path, "compute=false", "list_tasks=[nb201_imagenet16_120]"))
    assert missing.status["nb201_imagenet16_120"] == (
        f"no scores yet in {tmp_path / 'cache' / 'nb201_imagenet16_120'}, computed 0 (not in this run's sample)")


def test_a_rerun_with_nothing_new_changes_no_file(tmp_path):
    _write_cache(tmp_path / "cache" / "nb201_cifar10" / "scores.h5", "nb201_cifar10", 60)
    cfg = _config(tmp_path, "compute=false")
    first = leaderboard_page(cfg)
    before = _snapshot(tmp_path)
    assert {"out/leaderboard.md", "out/leaderboard.csv", "out/leaderboard_libra_choices.csv"} <= set(before)
    second = leaderboard_page(cfg)
    assert _snapshot(tmp_path) == before                      # same bytes, not even rewritten
    pd.testing.assert_frame_equal(first.rows, second.rows)
    assert "read 60 archs x 3 proxies from" in (tmp_path / "out" / "leaderboard.md").read_text()


def test_scoring_from_a_full_cache_computes_nothing_and_leaves_the_cache_alone(tmp_path, real_data):
    """compute=true: the harness fills the cache (scores.h5 only: a cache's correlations.csv belongs to
    the run that wrote it), and a second run over the full cache computes 0 and touches no file."""
    cfg = _config(tmp_path, f"data_root={real_data}", "n_archs=6", "batch_size=8", "proxies=[params,nwot]",
                  "list_tasks=[]")
    folder = tmp_path / "cache" / "nb201_cifar10"
    first = collect(cfg)
    assert first.status["nb201_cifar10"] == (f"read 6 archs x 2 proxies from {folder / 'scores.h5'}, "
                                             "computed 12 (sample: 6 archs x seeds [0])")
    assert sorted(f.name for f in folder.iterdir()) == ["scores.h5", "scores.h5.lock"]
    (folder / "correlations.csv").write_text("task,proxy\nnb201_cifar10,params\n")  # another run's table
    before = _snapshot(folder)
    second = collect(cfg)
    assert second.status["nb201_cifar10"].endswith("computed 0 (sample: 6 archs x seeds [0])")
    assert _snapshot(folder) == before
    pd.testing.assert_frame_equal(first.frame, second.frame)


def test_scoring_runs_compose_inside_the_running_leaderboard_command():
    """zcbench-leaderboard is a Hydra app, and compute=true composes each scoring run inside it."""
    from hydra import compose as hydra_compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from zcbench.harness import CONF_DIR

    with initialize_config_dir(config_dir=str(CONF_DIR), version_base=None):
        run_cfg = compose(["task=nb201_cifar10", "n_archs=6", "write_table=false"])
        assert run_cfg.n_archs == 6 and run_cfg.write_table is False
        assert GlobalHydra.instance().is_initialized()              # the command's own Hydra is back
        assert hydra_compose(config_name="leaderboard").n_archs == 60
