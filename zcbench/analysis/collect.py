"""Gather every task's cached scores for the leaderboard, scoring what the cache lacks.

Each task's scores accumulate in `<cache_dir>/<task>/scores.h5`, written by the
ordinary harness (`python -m zcbench ... out_dir=<cache_dir>/<task>`), so a rerun
adds only missing (arch, proxy, seed) rows and a proxy whose version changed is
recomputed. Every task gets a status line saying what was read from which file and how
many scores were computed; none is dropped silently. The leaderboard's scoring runs write
scores.h5 only (`write_table=false`): a cache's correlations.csv stays the table of the run
that wrote it, and a leaderboard with nothing new to compute leaves the caches untouched.
"""
from __future__ import annotations

import subprocess
import sys

import fnmatch
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import pandas as pd

from ..tasks.task import ground_truth, load_task, task_names
from ..cache import load_scores
from ..errors import UnknownNameError, ZcbenchError


@dataclass
class Collected:
    """All cached score rows of the chosen tasks, and one status line per task."""

    frame: pd.DataFrame
    status: dict[str, str]


def resolve_tasks(tasks: Any) -> list[str]:
    """'paper' (the paper's Table 1 tasks that have a config, in its order), 'all' (every
    zcbench/conf/task), or a list of task names checked against zcbench/conf/task."""
    known = task_names()
    if tasks in (None, "all"):
        return known
    if tasks == "paper":
        from .paper_tables import paper_values

        return [t for t in paper_values()["tasks"] if t in known]
    tasks = [tasks] if isinstance(tasks, str) else list(tasks)
    for t in tasks:
        if t not in known:
            raise UnknownNameError("task", t, known)
    return tasks


def protocol(cfg: Any) -> tuple[int, list[int], Any]:
    """(n_archs, seeds, proxies) of the chosen sample (zcbench/conf/sample/, `sample=default|full`)."""
    return int(cfg.n_archs), [int(s) for s in cfg.seeds], cfg.proxies


def task_overrides(task: str, cfg: Any) -> list[str]:
    """The overrides that the sample's task_overrides gives tasks matching `task`."""
    out = []
    for pattern, overrides in (cfg.get("task_overrides") or {}).items():
        if fnmatch.fnmatchcase(task, pattern):
            out.extend(str(o) for o in overrides)
    return out


def time_budget_s(cfg: Any) -> float | None:
    """Seconds after which no new scoring run starts (None = unlimited)."""
    minutes = cfg.get("time_budget_min")
    return None if minutes is None else 60.0 * float(minutes)


def _proxy_override(proxies: Any) -> str:
    if isinstance(proxies, str):
        return f"proxy={proxies}"
    return "proxy=[" + ",".join(proxies) + "]"


def _merge(base: list[str], extra: list[str]) -> list[str]:
    """Hydra overrides: `extra` replaces a `base` override of the same key (e.g. n_archs=30)."""
    keys = {o.split("=", 1)[0] for o in extra}
    return [o for o in base if o.split("=", 1)[0] not in keys] + extra


def sweep_command(overrides: Sequence[str], launcher: str, shards: int) -> list[str]:
    """`python -m zcbench -m hydra/launcher=<launcher> ... shard=0/n,...` for one task's scoring run.

    The sweep's callback (zcbench.launch.MergeShards) merges the shards into out_dir/scores.h5,
    so the leaderboard reads one cache whichever launcher computed it.
    """
    if shards < 1:
        raise ZcbenchError(f"shards={shards}; give a positive number of shards")
    shard = ",".join(f"{i}/{shards}" for i in range(shards))
    return [sys.executable, "-m", "zcbench", "-m", f"hydra/launcher={launcher}", *overrides, f"shard={shard}"]


def launch_sweep(overrides: Sequence[str], launcher: str, shards: int) -> None:
    """Run one task's scoring as a Hydra shard sweep; a failed sweep stops the leaderboard with its reason."""
    command = sweep_command(overrides, launcher, shards)
    done = subprocess.run(command, check=False)
    if done.returncode != 0:
        raise ZcbenchError(f"the {launcher} sweep {' '.join(command[1:])} failed (exit {done.returncode}); "
                           "rerun to resume it")


def compute_missing(task: str, cfg: Any) -> str:
    """Score what the cache lacks of the configured sample of `task`; returns what the sample was
    (or why nothing was scored). The runs write scores.h5 only, never the cache's correlations.csv."""
    from ..harness import compose, run

    n_archs, seeds, proxies = protocol(cfg)
    data_root = cfg.get("data_root")
    t = load_task(task)
    if not t.has_truth:
        return "no ground truth: not ranked"
    if not data_root:
        return "not computed: no data root (set ZCBENCH_DATA or data_root=)"
    try:
        pool = len(ground_truth(t, data_root))
    except ZcbenchError as err:
        return f"not computed: {err}"
    extra = task_overrides(task, cfg)
    for o in extra:
        if o.startswith("n_archs="):
            n_archs = int(o.split("=", 1)[1])
    n = min(n_archs, pool)
    extra = [o for o in extra if not o.startswith("n_archs=")]
    out = Path(cfg.cache_dir) / task
    for seed in seeds:
        overrides = [f"task={task}", _proxy_override(proxies), f"n_archs={n}", f"seed={seed}",
                     f"out_dir={out}", f"data_root={data_root}", "progress=false", "write_table=false",
                     f"device={cfg.get('device', 'cpu')}"]
        if cfg.get("batch_size"):
            overrides.append(f"batch_size={cfg.batch_size}")
        launcher = cfg.get("launcher")
        if launcher:  # the same scoring as a Hydra shard sweep (joblib, submitit_local, slurm_cpu, ...)
            launch_sweep(_merge(overrides, extra), str(launcher), int(cfg.get("shards") or 1))
        else:
            run(compose(_merge(overrides, extra)))
    return f"sample: {n} archs x seeds {seeds}" + (f", {', '.join(extra)}" if extra else "")


def score_files(folder: Path) -> list[Path]:
    """The score files load_scores reads in `folder` (a file killed before its first checkpoint
    exists only as its journal)."""
    return sorted(set(folder.glob("*.h5")) | {j.with_suffix("") for j in folder.glob("*.h5.journal")})


def _row_keys(frame: pd.DataFrame, task: str) -> set[tuple]:
    """What identifies one computed score of `task`: its cache key, proxy version and outcome."""
    rows = frame[frame["task"] == task]
    return set(zip(rows["proxy"], rows["arch"], rows["seed"], rows["settings"], rows["proxy_version"],
                   rows["error"]))


def read_note(frame: pd.DataFrame, task: str, source: str) -> str:
    """'read 1,000 archs x 28 proxies from <source>' for the rows of `task` in `frame`."""
    rows = frame[frame["task"] == task]
    return f"read {rows['arch'].nunique():,} archs x {rows['proxy'].nunique()} proxies from {source}"


def collect(cfg: Any, tasks: Sequence[str] | None = None) -> Collected:
    """Compute what is missing (cfg.compute), then read every task's cache and cfg.extra_scores.

    Each task's status says what was read from which files and how many scores this run computed
    (rows new to the cache), then in parentheses the sample it scored or why it scored none
    (compute=false, not in this run's sample, the time budget, no data, a failure).
    """
    to_score = resolve_tasks(cfg.tasks) if tasks is None else list(tasks)
    listed = resolve_tasks(cfg.list_tasks) if cfg.get("list_tasks") else []
    tasks = listed + [t for t in to_score if t not in listed]
    extras = [(Path(e), load_scores(e)) for e in cfg.get("extra_scores") or [] if Path(e).exists()]
    status, frames = {}, []
    budget, start = time_budget_s(cfg), time.monotonic()
    for task in tasks:
        folder = Path(cfg.cache_dir) / task
        spent = time.monotonic() - start
        before: set[tuple] | None = None  # the task's scores before this run computed any
        try:
            if task not in to_score:
                why = "not in this run's sample"
            elif not cfg.get("compute", True):
                why = "compute=false"
            elif budget is not None and spent > budget:
                why = (f"not computed: the time budget ({budget / 60:.0f} min) was spent; rerun to "
                       "continue (scores accumulate in the cache)")
            else:
                before = _row_keys(load_scores(folder), task) if score_files(folder) else set()
                why = compute_missing(task, cfg)
        except Exception as err:  # one broken task must not hide the others; its status says why
            why = f"scoring failed: {type(err).__name__}: {err}"
            print(f"[zcbench.leaderboard] task {task}: {why}")
        reads, computed = [], 0
        files = score_files(folder)
        if files:
            cached = load_scores(folder)
            frames.append(cached)
            reads.append(read_note(cached, task, ", ".join(str(f) for f in files)))
            computed = len(_row_keys(cached, task) - before) if before is not None else 0
        for path, extra in extras:
            if (extra["task"] == task).any():
                reads.append(read_note(extra, task, f"{path} (extra_scores)"))
        read = "; ".join(reads) if reads else f"no scores yet in {folder}"
        status[task] = f"{read}, computed {computed:,} ({why})"
    frames += [extra for _, extra in extras]
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=["task", "arch", "proxy", "seed", "score", "seconds", "accuracy", "error", "settings",
                 "proxy_version"])
    frame = frame[frame["task"].isin(tasks)]
    frame = frame.drop_duplicates(["task", "proxy", "arch", "seed", "settings"], keep="first")
    return Collected(frame.reset_index(drop=True), status)
