"""Shard sweeps through Hydra launchers: presets, the merge callback, resume after a lost shard."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hydra import compose as hydra_compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra

from zcbench.tasks.task import CONF_DIR
from zcbench.cache import read_h5, write_h5
from zcbench.harness import compose
from zcbench.launch import merge_group, plan_job, shard_path

REPO = Path(__file__).resolve().parents[1]
SWEEP = ["proxy=[params]", "task=nb201_cifar10", "n_archs=8", "progress=false"]


def _hydra_cfg(*overrides: str):
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base=None):
        return hydra_compose(config_name="config", overrides=list(overrides), return_hydra_config=True)


def _sweep_in_process(monkeypatch, out: Path, *extra: str) -> None:
    """python -m zcbench -m ... run inside this process (Hydra's basic launcher runs jobs here)."""
    from zcbench.__main__ import main

    argv = ["zcbench", "-m", *SWEEP, "shard=0/2,1/2", f"out_dir={out}", f"hydra.sweep.dir={out}/multirun",
            "hydra/job_logging=none", "hydra/hydra_logging=none", *extra]
    monkeypatch.setattr(sys, "argv", argv)
    try:
        main()
    finally:
        GlobalHydra.instance().clear()


def _rows(path: Path) -> dict[tuple, float]:
    """(proxy, arch) -> seconds: a recomputed row gets a new timing."""
    scores, _ = read_h5(path)
    return {(p, a): s for p, a, s in zip(scores["proxy"], scores["arch"], scores["seconds"])}


# ------------------------------------------------------------------ configs
def test_merge_callback_is_registered():
    cfg = _hydra_cfg()
    assert cfg.hydra.callbacks.merge_shards._target_ == "zcbench.launch.MergeShards"


@pytest.mark.parametrize("preset, gpus", [("slurm_cpu", None), ("slurm_gpu", 1)])
def test_slurm_presets_compose(preset, gpus):
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher")
    launcher = _hydra_cfg(f"hydra/launcher={preset}").hydra.launcher
    assert launcher._target_.endswith("SlurmLauncher")
    assert launcher.gpus_per_task == gpus
    assert launcher.timeout_min > 0 and launcher.mem_gb > 0 and launcher.array_parallelism > 0
    assert launcher.partition  # from ZCBENCH_SLURM_*_PARTITION or the preset's default


def test_install_includes_the_cluster_extra():
    assert ".[test,cluster]" in (REPO / "Makefile").read_text()
    assert "hydra-submitit-launcher" in (REPO / "pyproject.toml").read_text()


# ------------------------------------------------------------------ the merge
def test_parallel_jobs_writing_one_file_are_refused(tmp_path):
    from zcbench.errors import ZcbenchError
    from zcbench.launch import check_outputs

    outputs = {tmp_path / "scores.shard-0-of-2.h5": [0, 2], tmp_path / "scores.shard-1-of-2.h5": [1]}
    with pytest.raises(ZcbenchError, match=r"jobs #0, #2 of this sweep all write .*scores.shard-0-of-2.h5"):
        check_outputs([], outputs, parallel=True)
    check_outputs([], outputs, parallel=False)  # one after another: no two writers at once


def _plan(out: Path, real_data: Path) -> list:
    prepared: dict = {}
    jobs = []
    for number, shard in enumerate(["0/2", "1/2"]):
        overrides = [*SWEEP, f"shard={shard}", f"out_dir={out}", f"data_root={real_data}"]
        jobs.append(plan_job(number, overrides, compose(overrides), prepared))
    return jobs


def test_plan_leaves_out_proxies_the_task_skips(real_data):
    """epe_nas does not apply to a dense-target task: run() writes no rows for it, so the merge
    must not wait for them."""
    overrides = ["proxy=[params,epe_nas]", "task=tnb101_micro_autoencoder", "task.image_size=32", "n_archs=4",
                 "shard=0/2", f"data_root={real_data}", "out_dir=unused"]
    job = plan_job(0, overrides, compose(overrides), {})
    assert {k[1] for k in job.expected} == {"params"} and len(job.expected) == len(job.archs) == 2


def test_merge_names_a_missing_shard_and_completes_after_it_runs(tmp_path, real_data, capsys):
    from zcbench.harness import run

    jobs = _plan(tmp_path, real_data)
    assert [len(j.archs) for j in jobs] == [4, 4] and not set(jobs[0].archs) & set(jobs[1].archs)
    run(compose(jobs[0].overrides))  # shard 1 never runs (its job was killed before writing)
    assert jobs[0].path == shard_path(tmp_path, 0, 2) and jobs[0].path.exists()

    problems = merge_group(tmp_path, jobs, jobs_ended=True)
    assert len(problems) == 1 and problems[0].startswith("shard 1/2") and "4 of 4 archs" in problems[0]
    assert "INCOMPLETE" in capsys.readouterr().err
    assert {a for _, a in _rows(tmp_path / "scores.h5")} == set(jobs[0].archs)

    run(compose(jobs[1].overrides))
    assert merge_group(tmp_path, jobs, jobs_ended=True) == []
    assert {a for _, a in _rows(tmp_path / "scores.h5")} == set(jobs[0].archs) | set(jobs[1].archs)


def test_sweep_merges_and_resumes_only_the_lost_rows(tmp_path, real_data, monkeypatch):
    """A multirun writes both shards and one merged file; after a shard loses rows (a kill) and the
    merged file is gone, the same command recomputes exactly the lost rows."""
    monkeypatch.setenv("ZCBENCH_DATA", str(real_data))
    _sweep_in_process(monkeypatch, tmp_path)
    merged = _rows(tmp_path / "scores.h5")
    assert len({a for _, a in merged}) == 8 and len(merged) == 8

    lost = shard_path(tmp_path, 1, 2)
    scores, truth = read_h5(lost)
    write_h5(lost, scores.iloc[:2], truth)  # shard 1 keeps its first 2 archs only
    (tmp_path / "scores.h5").unlink()
    kept = {k: v for k, v in merged.items() if k[1] not in set(scores["arch"].iloc[2:])}
    assert len(kept) == 6

    _sweep_in_process(monkeypatch, tmp_path)
    again = _rows(tmp_path / "scores.h5")
    assert again.keys() == merged.keys()
    assert {k: again[k] for k in kept} == kept  # not recomputed: same timings
    assert all(again[k] != merged[k] for k in merged.keys() - kept.keys())  # recomputed


def test_sweep_seeds_shards_from_an_unsharded_cache(tmp_path, real_data, monkeypatch):
    """Scores already in out_dir/scores.h5 (an earlier unsharded run) are not recomputed by shards."""
    from zcbench.harness import run

    monkeypatch.setenv("ZCBENCH_DATA", str(real_data))
    run(compose([*SWEEP, f"out_dir={tmp_path}", f"data_root={real_data}"]))
    before = _rows(tmp_path / "scores.h5")
    _sweep_in_process(monkeypatch, tmp_path)
    assert _rows(tmp_path / "scores.h5") == before
    for i in range(2):
        assert set(_rows(shard_path(tmp_path, i, 2)).items()) <= set(before.items())


# ------------------------------------------------------------------ real launchers (processes)
def _sweep(out: Path, launcher: str, real_data: Path, proxies: str = "[params]", n: int = 8):
    env = {**os.environ, "ZCBENCH_DATA": str(real_data), "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "zcbench", "-m", f"hydra/launcher={launcher}", f"proxy={proxies}",
           "task=nb201_cifar10", f"n_archs={n}", "shard=0/2,1/2", f"out_dir={out}",
           f"hydra.sweep.dir={out}/multirun", "progress=false"]
    return subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)


@pytest.mark.slow
@pytest.mark.parametrize("launcher", ["submitit_local", "joblib"])
def test_launcher_sweep_leaves_one_merged_file(tmp_path, real_data, launcher):
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher")
    pytest.importorskip("hydra_plugins.hydra_joblib_launcher")
    done = _sweep(tmp_path, launcher, real_data, "[params,nwot]", 16)
    assert done.returncode == 0, done.stderr[-2000:]
    scores, truth = read_h5(tmp_path / "scores.h5")
    assert scores["arch"].nunique() == 16 and len(scores) == 32 and len(truth) == 16
    assert (scores["error"] == "").all()


@pytest.mark.slow
def test_failed_shard_is_named_merged_around_and_redone_alone(tmp_path, real_data):
    """Shard 1's job fails (its file is not a score cache), which stops the sweep (Hydra's rule;
    joblib also stops shard 0). The callback still merges what was written, names shard 1 and
    the command exits non-zero; once the cause is gone, the rerun keeps every row shard 0 wrote."""
    from zcbench.cache import load_scores

    pytest.importorskip("hydra_plugins.hydra_joblib_launcher")
    shard_path(tmp_path, 1, 2).write_text("not a score file")
    failed = _sweep(tmp_path, "joblib", real_data)
    assert failed.returncode != 0
    assert "shard 1/2" in failed.stderr and "not a readable HDF5 file" in failed.stderr, failed.stderr[-3000:]
    assert "INCOMPLETE" in failed.stderr
    written = load_scores(shard_path(tmp_path, 0, 2))  # checkpointed and journaled rows of shard 0
    first = {(p, a): s for p, a, s in zip(written["proxy"], written["arch"], written["seconds"])}

    shard_path(tmp_path, 1, 2).unlink()
    done = _sweep(tmp_path, "joblib", real_data)
    assert done.returncode == 0, done.stderr[-3000:]
    again = _rows(tmp_path / "scores.h5")
    assert len(again) == 8 and {k: again[k] for k in first} == first


@pytest.mark.slow
def test_killed_sweep_resumes_without_recomputing(tmp_path, real_data):
    """SIGKILL to the whole sweep (main process and both shard jobs) once rows are on disk; the
    rerun keeps every row written before the kill (same timings) and completes the merged file."""
    import signal
    import time

    from zcbench.cache import load_scores

    pytest.importorskip("hydra_plugins.hydra_joblib_launcher")
    env = {**os.environ, "ZCBENCH_DATA": str(real_data), "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "zcbench", "-m", "hydra/launcher=joblib", "proxy=[params,nwot]",
           "task=nb201_cifar10", "n_archs=16", "shard=0/2,1/2", f"out_dir={tmp_path}",
           f"hydra.sweep.dir={tmp_path}/multirun", "progress=false", "checkpoint_every=3"]
    sweep = subprocess.Popen(cmd, cwd=REPO, env=env, start_new_session=True,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    journals = [shard_path(tmp_path, i, 2).with_name(shard_path(tmp_path, i, 2).name + ".journal")
                for i in range(2)]
    deadline = time.time() + 300
    while time.time() < deadline and sweep.poll() is None:
        if all(shard_path(tmp_path, i, 2).exists() for i in range(2)) and any(j.exists() for j in journals):
            break
        time.sleep(0.2)
    assert sweep.poll() is None, "the sweep ended before it could be killed"
    os.killpg(sweep.pid, signal.SIGKILL)
    sweep.wait()
    written = {}
    for i in range(2):
        rows = load_scores(shard_path(tmp_path, i, 2))  # checkpointed and journaled rows
        written.update({(p, a): s for p, a, s in zip(rows["proxy"], rows["arch"], rows["seconds"])})
    assert 0 < len(written) < 32 and not (tmp_path / "scores.h5").exists()

    done = _sweep(tmp_path, "joblib", real_data, "[params,nwot]", 16)
    assert done.returncode == 0, done.stderr[-3000:]
    again = _rows(tmp_path / "scores.h5")
    assert len(again) == 32 and {k: again[k] for k in written} == written
