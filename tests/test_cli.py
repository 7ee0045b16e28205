"""The main command end to end: configs, outputs, resume, kill, errors."""
from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import torch
from hydra.errors import MissingConfigException
from omegaconf import open_dict

import zcbench
from zcbench.tasks.task import CONF_DIR, Task, load_task, task_names
from zcbench.errors import DataNotFoundError, InvalidArchError, ProxyFailure, UnknownNameError, ZcbenchError
from zcbench.harness import compose, resolve_proxies, run, sample_archs
from zcbench.proxies import PROXIES
from zcbench.proxies.registry import proxy
from zcbench.spaces import get_space

REPO = Path(__file__).resolve().parents[1]
TASKS = task_names()
PROXY_CONFIGS = sorted(p.stem for p in (CONF_DIR / "proxy").glob("*.yaml"))


def _cfg(tmp_path, real_data, *overrides):
    return compose([f"out_dir={tmp_path}", f"data_root={real_data}", "progress=false", *overrides])


# ------------------------------------------------------------------ configs
@pytest.mark.parametrize("task", TASKS)
def test_every_task_config_composes(task):
    cfg = compose([f"task={task}"])
    t = Task.from_config(cfg.task)
    assert t.name == task and t.num_classes > 0
    get_space(t.space)


@pytest.mark.parametrize("proxy_cfg", PROXY_CONFIGS)
def test_every_proxy_config_composes(proxy_cfg):
    names = resolve_proxies(compose([f"proxy={proxy_cfg}"]).proxy)
    assert names and all(n in PROXIES for n in names)


def test_proxy_all_selects_every_registered_proxy():
    assert sorted(resolve_proxies(compose(["proxy=all"]).proxy)) == sorted(PROXIES.names())
    assert sorted(resolve_proxies(compose(["proxy=[nwot,synflow]"]).proxy)) == ["nwot", "synflow"]


def test_load_task_matches_config():
    assert load_task("nb201_cifar100").num_classes == 100
    with pytest.raises(UnknownNameError, match="nb201_cifar10"):
        load_task("nb201_cifar1000")


# ------------------------------------------------------------------ errors
def test_unknown_proxy_and_task_list_valid_names():
    with pytest.raises(MissingConfigException, match="nwot"):
        compose(["proxy=nwto"])
    with pytest.raises(MissingConfigException, match="nb201_cifar10"):
        compose(["task=nb201_cifar"])
    with pytest.raises(UnknownNameError, match="valid proxy names: .*synflow"):
        resolve_proxies(["synflwo"])


def test_malformed_arch_file_names_the_line(tmp_path, real_data):
    archs = tmp_path / "archs.txt"
    archs.write_text("# two good, one bad\n(0, 2, 3, 2, 3, 1)\n\n|nor_conv_3x3~0|+|none~0|bogus~1|+|skip_connect~0|none~1|none~2|\n")
    with pytest.raises(InvalidArchError, match=r"archs.txt, line 4: .*bogus"):
        run(_cfg(tmp_path, real_data, f"archs={archs}", "proxy=params"))


def test_missing_ground_truth_says_where_and_what(tmp_path):
    empty = tmp_path / "data"
    empty.mkdir()
    with pytest.raises(DataNotFoundError, match=r"full_space/nb201_zen/zen"):
        run(compose([f"out_dir={tmp_path}", f"data_root={empty}", "proxy=params", "progress=false"]))
    with pytest.raises(ZcbenchError, match="ZCBENCH_DATA"):
        run(compose([f"out_dir={tmp_path}", "data_root=null", "proxy=params", "progress=false"]))


def test_bad_shard_is_named(tmp_path, real_data):
    with pytest.raises(ZcbenchError, match="shard='3/2'"):
        run(_cfg(tmp_path, real_data, "proxy=params", "shard='3/2'", "n_archs=2"))


@pytest.mark.parametrize("override, key", [
    ("n_archs=-1", "n_archs"), ("batch_size=0", "batch_size"), ("seed=abc", "seed"),
    ("out_dir=/proc/zcbench-not-writable", "out_dir"), ("shard=3/2", "shard"), ("device=gpu", "device"),
])
def test_bad_option_is_one_line_naming_the_key_and_exit_2(override, key, tmp_path):
    """The CLI answers a bad value before Hydra makes out_dir: one line, no traceback, exit 2."""
    cmd = [sys.executable, "-m", "zcbench", "proxy=nwot", "task=nb201_cifar10", f"out_dir={tmp_path / 'out'}",
           override]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=120)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"zcbench: error: {key}="), done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    assert not (tmp_path / "out").exists() or key == "out_dir", "nothing is written for a bad option"


def test_n_archs_beyond_the_ground_truth_scores_all_and_says_so(tmp_path, real_data, capsys):
    from zcbench.harness import prepare

    cfg = _cfg(tmp_path, real_data, "proxy=params", "n_archs=20000", "batch_size=4")
    setup = prepare(cfg)
    assert len(setup.archs) == 15625 == len(set(setup.archs))
    assert "ground truth for only 15625 archs: scoring all 15625" in capsys.readouterr().out
    assert len(prepare(_cfg(tmp_path, real_data, "proxy=params", "n_archs=all", "batch_size=4")).archs) == 15625


# ------------------------------------------------------------------ runs
def test_run_writes_scores_and_correlations_and_resumes(tmp_path, real_data, capsys):
    cfg = _cfg(tmp_path, real_data, "proxy=[nwot,synflow,params]", "n_archs=6", "batch_size=8")
    first = run(cfg)
    assert first.n_computed == 6 and first.n_failed == 0
    out = capsys.readouterr().out
    assert "CIFAR-10 training images (real" in out and "spearman" in out
    frame = zcbench.load_scores(tmp_path / "scores.h5")
    assert len(frame) == 18 and frame["accuracy"].notna().all()
    assert set(frame["proxy"]) == {"nwot", "synflow", "params"}
    assert (frame["settings"].str.contains("batch=8x3x32x32")).all()
    corr = pd.read_csv(tmp_path / "correlations.csv")
    assert set(corr.columns) >= {"proxy", "spearman", "kendall", "pearson", "top10_precision", "n_archs"}
    assert (corr["n_archs"] == 6).all()
    second = run(cfg)
    assert second.n_computed == 0, "a finished run must recompute nothing"
    pd.testing.assert_frame_equal(zcbench.load_scores(tmp_path / "scores.h5"), frame)
    more = run(_cfg(tmp_path, real_data, "proxy=[nwot,swap]", "n_archs=6", "batch_size=8"))
    assert more.n_computed == 6  # swap is new; nwot is read from the cache
    assert len(zcbench.load_scores(tmp_path)) == 24


def _conv_count(net) -> int:
    return sum(isinstance(m, torch.nn.Conv2d) for m in net.modules())


def test_failures_are_counted_and_the_run_goes_on(tmp_path, real_data, capsys):
    @proxy("test_flaky", orientation="test only")
    def _flaky(probe):
        """Raises on an even number of conv layers, NaN on a multiple of 3, else 1."""
        n = _conv_count(probe.net)
        if n % 2 == 0:
            raise ProxyFailure("unsupported layer (test)")
        return float("nan") if n % 3 == 0 else 1.0

    cfg = _cfg(tmp_path, real_data, "proxy=params", "n_archs=12", "batch_size=8")
    with open_dict(cfg):
        cfg.proxy = {"test_flaky": {}, "params": {}}
    try:
        result = run(cfg)
    finally:
        PROXIES._items.pop("test_flaky")
    frame = zcbench.load_scores(tmp_path)
    flaky = frame[frame["proxy"] == "test_flaky"].set_index("arch")
    space = get_space("nb201")
    for arch, row in flaky.iterrows():
        n = _conv_count(space.build(arch, 10))
        if n % 2 == 0:
            assert row["error"] == "ProxyFailure: unsupported layer (test)"
        elif n % 3 == 0:
            assert row["error"].startswith("non-finite score")
        else:
            assert row["error"] == "" and row["score"] == 1.0
    assert result.n_computed == 12
    assert result.n_failed == (flaky["error"] != "").sum() > 0
    assert (frame[frame["proxy"] == "params"]["error"] == "").all()
    assert f"{result.n_failed} proxy failures" in capsys.readouterr().out
    corr = pd.read_csv(tmp_path / "correlations.csv").set_index("proxy")
    assert corr.loc["test_flaky", "n_failed"] == result.n_failed


def test_shards_cover_the_sample_and_merge(tmp_path, real_data):
    for i in range(2):
        run(_cfg(tmp_path, real_data, "proxy=params", "n_archs=5", f"shard='{i}/2'"))
    shards = ",".join(map(str, sorted(tmp_path.glob("scores.shard-*.h5"))))
    subprocess.run([sys.executable, "-m", "zcbench.cli.merge", f"cache={tmp_path / 'scores.h5'}", f"inputs=[{shards}]"],
                   check=True)
    whole = _cfg(tmp_path / "whole", real_data, "proxy=params", "n_archs=5")
    run(whole)
    merged = zcbench.load_scores(tmp_path / "scores.h5").sort_values("arch").reset_index(drop=True)
    single = zcbench.load_scores(tmp_path / "whole" / "scores.h5").sort_values("arch").reset_index(drop=True)
    pd.testing.assert_frame_equal(merged.drop(columns="seconds"), single.drop(columns="seconds"))


def test_cli_killed_mid_run_resumes_without_loss(tmp_path, real_data):
    """SIGKILL the real command mid-run; what was written survives and the rerun does the rest."""
    cmd = [sys.executable, "-m", "zcbench", "proxy=[synflow,params]", "task=nb201_cifar10", "n_archs=40",
           "batch_size=8", "checkpoint_every=1000", "progress=false", f"out_dir={tmp_path}",
           f"data_root={real_data}"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=REPO)
    journal = tmp_path / "scores.h5.journal"
    deadline = time.time() + 120
    while time.time() < deadline and (not journal.exists() or journal.read_text().count("\n") < 6):
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    saved = zcbench.load_scores(tmp_path)  # folds the journal into scores.h5
    done = saved["arch"].nunique()
    assert 3 <= done < 40
    rerun = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, check=True)
    assert f"computed {40 - done} of 40 networks" in rerun.stdout
    final = zcbench.load_scores(tmp_path)
    assert final["arch"].nunique() == 40 and len(final) == 80
    kept = final.merge(saved, on=["arch", "proxy"], suffixes=("", "_before"))
    assert len(kept) == len(saved) and (kept["score"] == kept["score_before"]).all()


def test_synthetic_inputs_are_announced(tmp_path, real_data, capsys):
    """Ground truth present, no image files: the run goes on with a synthetic batch and says so."""
    root = tmp_path / "data"
    (root / "full_space").mkdir(parents=True)
    (root / "full_space" / "nb201_zen").symlink_to(real_data / "full_space" / "nb201_zen")
    result = run(compose([f"out_dir={tmp_path / 'out'}", f"data_root={root}", "proxy=nwot",
                          "n_archs=3", "batch_size=8", "progress=false"]))
    out = capsys.readouterr().out
    assert "SYNTHETIC" in out and "WARNING" in out
    assert "SYNTHETIC" in result.batch_source
    assert (zcbench.load_scores(tmp_path / "out")["settings"].str.contains("input=synthetic")).all()


def test_stand_in_images_are_announced(tmp_path, real_data, capsys):
    run(_cfg(tmp_path, real_data, "task=nb201_imagenet16_120", "proxy=params", "n_archs=2", "batch_size=8"))
    out = capsys.readouterr().out
    assert "STAND-IN for ImageNet16-120" in out and "16x16" in out


# ------------------------------------------------------- tasks without truth
def test_task_without_ground_truth_samples_the_space_and_reports_scores_only(tmp_path, capsys):
    cfg = compose([f"out_dir={tmp_path}", "data_root=null", "progress=false", "proxy=params",
                   "n_archs=3", "~task.truth"])
    result = run(cfg)
    out = capsys.readouterr().out
    assert "has no ground truth" in out
    frame = zcbench.load_scores(result.scores_path)
    assert len(frame) == 3 and frame["accuracy"].isna().all() and frame["score"].notna().all()
    # no NaN correlation rows: a per-proxy summary of what was scored, printed and written
    assert "no correlations: per proxy" in out and "spearman" not in out
    summary = result.correlations.set_index("proxy")
    assert summary.loc["params", "n_archs"] == 3 and summary.loc["params", "n_failed"] == 0
    assert summary.loc["params", "score_min"] == frame["score"].min()
    assert (tmp_path / "score_summary.csv").exists() and not (tmp_path / "correlations.csv").exists()


def test_score_summary_names_failures():
    import pandas as pd
    from zcbench.analysis import score_summary

    frame = pd.DataFrame({"task": "t", "proxy": "p", "seed": 0, "settings": "s", "arch": list("abcd"),
                          "score": [1.0, 3.0, float("nan"), float("nan")], "seconds": 0.5,
                          "error": ["", "", "NaN score", "NaN score"]})
    row = score_summary(frame).iloc[0]
    assert (row.n_archs, row.n_failed, row.score_min, row.score_max) == (4, 2, 1.0, 3.0)
    assert row.top_failure == "NaN score (x2)"


def test_space_options_typo_and_unknown_target_are_named():
    with pytest.raises(ZcbenchError, match="does not take options \\['hed'\\]"):
        get_space("nb201").build("(0, 2, 3, 4, 2, 0)", 10, hed="x")
    with pytest.raises(UnknownNameError, match="valid target names: .*classes"):
        Task.from_config({"name": "t", "space": "nb201", "dataset": "cifar10", "num_classes": 10,
                          "target": "segmentaton"})


def test_task_proxy_options_fill_only_null_proxy_options():
    from zcbench.harness import apply_task_options

    task = Task(name="t", space="nb201", dataset="cifar10", num_classes=10,
                proxy_options={"lswag": {"window_lo": 30, "window_hi": 60}})
    chosen = apply_task_options({"lswag": {"window_lo": None, "window_hi": 90}, "nwot": {}}, task)
    assert chosen["lswag"]["window_lo"] == 30 and chosen["lswag"]["window_hi"] == 90
    assert chosen["nwot"] == {}
    bad = Task(name="t", space="nb201", dataset="cifar10", num_classes=10,
               proxy_options={"lswag": {"windw_lo": 30}})
    with pytest.raises(ZcbenchError, match="windw_lo.*valid options"):
        apply_task_options({"lswag": {}}, bad)


def test_exclude_archs_keeps_the_sample_disjoint(tmp_path, real_data):
    first = run(_cfg(tmp_path / "a", real_data, "proxy=params", "n_archs=5", "seed=3"))
    chosen = zcbench.load_scores(first.scores_path)["arch"].tolist()
    listing = tmp_path / "seen.txt"
    listing.write_text("\n".join(chosen) + "\n")
    second = run(_cfg(tmp_path / "b", real_data, "proxy=params", "n_archs=5", "seed=3",
                      f"exclude_archs={listing}"))
    assert not set(zcbench.load_scores(second.scores_path)["arch"]) & set(chosen)


@pytest.mark.parametrize("pool_size", [292, 725, 3256, 4096, 15625])
def test_samples_are_nested_so_small_caches_start_large_ones(pool_size):
    pool = [f"arch{i}" for i in range(pool_size)]
    big = sample_archs(pool, min(1000, pool_size), 3)
    for n in (1, 30, 100, min(700, pool_size)):
        assert sample_archs(pool, n, 3) == big[:n]
    assert len(set(big)) == len(big) and set(big) <= set(pool)
    assert sample_archs(pool, 30, 4) != sample_archs(pool, 30, 3)


def test_nb201_samples_are_unchanged_so_existing_caches_still_match():
    # random.sample drew NB201's samples with its index-rejection branch; sample_archs keeps those draws
    pool = [f"arch{i}" for i in range(15625)]
    for n in (60, 200, 1000):
        assert sample_archs(pool, n, 0) == random.Random(0).sample(sorted(pool), n)
