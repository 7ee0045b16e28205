"""Gather every task's cached scores for the leaderboard, scoring what the cache lacks.

Each task's scores accumulate in `<cache_dir>/<task>/scores.h5`, written by the
ordinary harness (`python -m zcbench ... out_dir=<cache_dir>/<task>`), so a rerun
adds only missing (arch, proxy, seed) rows and a proxy whose version changed is
recomputed. Every task gets a status line; none is dropped silently.
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

from ..benchmarks.tasks import ground_truth, load_task, task_names
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
    """(n_archs, seeds, proxies) of the default sample, or of the paper protocol with full=true."""
    src = cfg.full_protocol if cfg.get("full") else cfg
    return int(src.n_archs), [int(s) for s in src.seeds], src.proxies


def task_overrides(task: str, cfg: Any) -> list[str]:
    """The overrides that cfg.task_overrides (or full_protocol's) gives tasks matching `task`."""
    src = cfg.full_protocol if cfg.get("full") else cfg
    out = []
    for pattern, overrides in (src.get("task_overrides") or {}).items():
        if fnmatch.fnmatchcase(task, pattern):
            out.extend(str(o) for o in overrides)
    return out


def time_budget_s(cfg: Any) -> float | None:
    """Seconds after which no new scoring run starts (None = unlimited)."""
    src = cfg.full_protocol if cfg.get("full") else cfg
    minutes = src.get("time_budget_min")
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
    """Score the configured sample of `task` into its cache; returns a status line."""
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
                     f"out_dir={out}", f"data_root={data_root}", "progress=false",
                     f"device={cfg.get('device', 'cpu')}"]
        if cfg.get("batch_size"):
            overrides.append(f"batch_size={cfg.batch_size}")
        launcher = cfg.get("launcher")
        if launcher:  # the same scoring as a Hydra shard sweep (joblib, submitit_local, slurm_cpu, ...)
            launch_sweep(_merge(overrides, extra), str(launcher), int(cfg.get("shards") or 1))
        else:
            run(compose(_merge(overrides, extra)))
    return f"scored: {n} archs x seeds {seeds}" + (f" ({', '.join(extra)})" if extra else "")


def collect(cfg: Any, tasks: Sequence[str] | None = None) -> Collected:
    """Compute what is missing (cfg.compute), then read every task's cache and cfg.extra_scores."""
    sample = cfg.full_protocol if cfg.get("full") else cfg
    to_score = resolve_tasks(sample.tasks) if tasks is None else list(tasks)
    listed = resolve_tasks(cfg.list_tasks) if cfg.get("list_tasks") else []
    tasks = listed + [t for t in to_score if t not in listed]
    status, frames = {}, []
    budget, start = time_budget_s(cfg), time.monotonic()
    for task in tasks:
        spent = time.monotonic() - start
        try:
            if task not in to_score:
                note = "not in this run's sample"
            elif not cfg.get("compute", True):
                note = "read only"
            elif budget is not None and spent > budget:
                note = (f"not computed: the time budget ({budget / 60:.0f} min) was spent; rerun to "
                        "continue (scores accumulate in the cache)")
            else:
                note = compute_missing(task, cfg)
        except Exception as err:  # one broken task must not hide the others; its status says why
            note = f"scoring failed: {type(err).__name__}: {err}"
            print(f"[zcbench.leaderboard] task {task}: {note}")
        path = Path(cfg.cache_dir) / task
        if path.is_dir() and (any(path.glob("*.h5")) or any(path.glob("*.h5.journal"))):
            cached = load_scores(path)
            frames.append(cached)
            if task not in to_score:
                note = "read from the cache (" + note + ")"
            n_cached = cached.loc[cached["task"] == task, "arch"].nunique()
            note += f"; the cache holds {n_cached} archs, all read"
        elif not note.startswith(("no ground truth", "not computed", "scoring failed")):
            note = f"no scores yet in {path}" + (" (not in this run's sample)" if task not in to_score else "")
        status[task] = note
    for extra in cfg.get("extra_scores") or []:
        if Path(extra).exists():
            frames.append(load_scores(extra))
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=["task", "arch", "proxy", "seed", "score", "seconds", "accuracy", "error", "settings",
                 "proxy_version"])
    frame = frame[frame["task"].isin(tasks)]
    for task in set(frame["task"]):
        if status[task].startswith("no scores yet"):
            status[task] = "read from extra_scores only"
    frame = frame.drop_duplicates(["task", "proxy", "arch", "seed", "settings"], keep="first")
    return Collected(frame.reset_index(drop=True), status)
