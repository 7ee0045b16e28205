"""A Hydra callback that makes a multirun over shards one command with one result.

    python -m zcbench -m hydra/launcher=joblib proxy=all task=nb201_cifar10 \\
        'shard=0/4,1/4,2/4,3/4' out_dir=X

Any Hydra launcher runs the jobs (joblib on local cores, submitit on SLURM); each job scores
its shard into X/scores.shard-i-of-n.h5 as a plain `shard=i/n` run does. This callback
(registered in zcbench/conf/config.yaml under hydra.callbacks) adds what the launchers do not know:

- before the jobs start, it plans the sweep as Hydra's basic sweeper will (one config per
  job), refuses two parallel jobs writing one file, and copies into each shard file the rows
  that X/scores.h5 already holds for that shard's archs, so no shard recomputes what an earlier
  run (sharded or not) wrote;
- when the sweep ends, it folds each shard's journal, merges the shard files into X/scores.h5
  (zcbench.cache.merge) and checks every shard's archs x proxies against the merged file. A
  shard that failed or never ran is named with what it lacks and the command exits non-zero;
  rerunning the same command does only the missing work.

Hydra stops a sweep at the first failed job without calling on_multirun_end, so the callback
also merges at interpreter exit when the sweep ended early. Jobs may still be running then
(submitit), so that merge reads their checkpointed files only and leaves journals alone.
"""
from __future__ import annotations

import atexit
import contextlib
import io
import sys
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf, open_dict

from .errors import ZcbenchError

Key = tuple[str, str, str, int, str]  # task, proxy, arch, seed, settings (zcbench.cache.KEY)


def shard_path(out_dir: str | Path, index: int, count: int) -> Path:
    """Where `shard=index/count` writes its scores (the harness's naming)."""
    return Path(out_dir) / f"scores.shard-{index}-of-{count}.h5"


@dataclass
class ShardJob:
    """One job of the sweep that scores a shard: what it must leave in its file."""

    number: int  # Hydra's job number in the sweep
    overrides: list[str]
    out_dir: Path
    shard: tuple[int, int]
    archs: list[str]
    versions: dict[str, str]  # proxy -> registered version
    expected: list[Key] = field(default_factory=list)
    write_table: bool = True  # the job's write_table: false leaves correlations.csv to other runs

    @property
    def path(self) -> Path:
        return shard_path(self.out_dir, *self.shard)

    @property
    def name(self) -> str:
        return f"shard {self.shard[0]}/{self.shard[1]} (job #{self.number}: {' '.join(self.overrides)})"


# ------------------------------------------------------------------ planning
def sweep_overrides(config: DictConfig) -> list[list[str]]:
    """Each job's overrides, expanded from the command line as Hydra's basic sweeper does."""
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.core.override_parser.overrides_parser import OverridesParser

    params = config.hydra.sweeper.get("params") or {}
    arguments = [f"{k}={v}" for k, v in params.items()]
    arguments += list(OmegaConf.to_container(config.hydra.overrides.task, resolve=False))
    parsed = OverridesParser.create().parse_overrides(arguments)
    return [job for batch in BasicSweeper.split_arguments(parsed, None) for job in batch]


def plan_job(number: int, overrides: list[str], job_cfg: DictConfig, prepared: dict) -> ShardJob | None:
    """The ShardJob of one composed job config, or None for a job without `shard`.

    `prepared` memoises harness.prepare per config-without-shard: the shards of one task
    share their sample and batch.
    """
    from .tasks.task import Task
    from .harness import apply_task_options, applicable, parse_shard, prepare, resolve_proxies, settings_key
    from .proxies import PROXIES
    from .proxies.base import TaskTraits

    shard = parse_shard(job_cfg.get("shard"))
    if shard is None:
        return None
    whole = job_cfg.copy()
    with open_dict(whole):
        whole.shard = None
        whole.progress = False
    memo = OmegaConf.to_yaml(whole, resolve=True)
    if memo not in prepared:
        with contextlib.redirect_stdout(io.StringIO()):  # prepare() narrates; the jobs will too
            prepared[memo] = prepare(whole)
    setup = prepared[memo]
    task = Task.from_config(job_cfg.task)
    proxies = apply_task_options(resolve_proxies(job_cfg.proxy, task.has_truth), task)  # ensembles: members
    proxies, _ = applicable(proxies, TaskTraits.from_batch(task.name, setup.labels))  # as run() does
    settings = {p: settings_key(setup.batch, opts, task.space_options) for p, opts in proxies.items()}
    archs = setup.archs[shard[0]::shard[1]]
    job = ShardJob(number, list(overrides), Path(str(job_cfg.out_dir)), shard, archs,
                   {p: PROXIES.get(p).version for p in proxies},
                   write_table=bool(job_cfg.get("write_table", True)))
    job.expected = [(task.name, p, a, int(setup.seed), settings[p]) for a in archs for p in proxies]
    return job


def check_outputs(jobs: list[ShardJob], outputs: dict[Path, list[int]], parallel: bool) -> None:
    """Refuse a sweep in which parallel jobs would write one score file (it has one writer)."""
    if not parallel:
        return
    for path, numbers in outputs.items():
        if len(numbers) > 1:
            raise ZcbenchError(
                f"jobs {', '.join(f'#{n}' for n in numbers)} of this sweep all write {path}, and a "
                "parallel launcher would run them at once; give each its own out_dir or shard, "
                "or sweep them one after another without hydra/launcher")


def seed_shard(job: ShardJob) -> int:
    """Copy into the shard's file the rows of its expected keys that out_dir/scores.h5 holds and
    the shard file lacks (current proxy versions only); returns how many were copied."""
    from .cache import SCORE_COLUMNS, ScoreCache, load_scores

    merged_path = job.out_dir / "scores.h5"
    if not merged_path.exists():
        return 0
    frame = load_scores(merged_path)  # read-only, journal rows included
    if frame.empty:
        return 0
    wanted = set(job.expected)
    keys = list(zip(frame["task"], frame["proxy"], frame["arch"], frame["seed"].astype(int), frame["settings"]))
    current = frame["proxy"].map(job.versions) == frame["proxy_version"]
    rows = frame[np.array([k in wanted for k in keys]) & current.to_numpy()]
    if rows.empty:
        return 0
    shard = ScoreCache(job.path)
    fresh = [r for r in rows[SCORE_COLUMNS].to_dict("records")
             if not shard.has(r["task"], r["proxy"], r["arch"], r["seed"], r["settings"], r["proxy_version"])]
    if fresh:
        shard.add(fresh)
        shard.checkpoint()
    return len(fresh)


# ------------------------------------------------------------------ finishing
def merge_group(out_dir: Path, jobs: list[ShardJob], jobs_ended: bool) -> list[str]:
    """Merge the shard files of `jobs` into out_dir/scores.h5; a line per incomplete shard.

    With jobs_ended, each shard's leftover journal (a killed job's last rows) is folded into
    its file first; otherwise running jobs may still own them and only checkpointed files are read.
    """
    from .cache import ScoreCache, merge, read_h5
    from .errors import CacheError

    unreadable: dict[Path, str] = {}
    for job in jobs:
        journal = job.path.with_name(job.path.name + ".journal")
        try:
            if jobs_ended and (job.path.exists() or journal.exists()):
                ScoreCache(job.path).checkpoint()  # opening replays a leftover journal
            elif job.path.exists():
                read_h5(job.path)
        except CacheError as err:  # e.g. the cause of the job's failure: named, left out
            unreadable[job.path] = str(err)
    present = [job.path for job in jobs if job.path.exists() and job.path not in unreadable]
    target = out_dir / "scores.h5"
    if present:
        merged = merge(target, present)
    elif target.exists():
        merged = ScoreCache(target)
    else:
        merged = None
    held = {}
    if merged is not None:
        frame = merged.frame()
        held = dict(zip(zip(frame["task"], frame["proxy"], frame["arch"], frame["seed"].astype(int),
                            frame["settings"]), zip(frame["proxy_version"], frame["error"])))
    problems, n_rows, n_failed = [], 0, 0
    for job in jobs:
        found = {k: held[k][1] for k in job.expected if k in held and held[k][0] == job.versions[k[1]]}
        n_rows += len(found)
        n_failed += sum(bool(error) for error in found.values())
        lacking = sorted({k[2] for k in job.expected if k not in found}, key=job.archs.index)
        if lacking:
            where = ("its file is absent" if not job.path.exists() else unreadable.get(job.path)
                     or f"{job.path.name} is incomplete")
            problems.append(f"{job.name}: {len(lacking)} of {len(job.archs)} archs lack scores "
                            f"({where}; first: {lacking[0]}); the job failed, was killed or did not run")
    if merged is not None and not problems and all(job.write_table for job in jobs):
        write_tables(target, jobs)
    total = sum(len(j.expected) for j in jobs)
    status = "complete" if not problems else f"INCOMPLETE ({len(problems)} of {len(jobs)} shards)"
    print(f"[zcbench] merged {len(present)} of {len(jobs)} shard files into {target}: {n_rows} of "
          f"{total} (arch, proxy) scores of this sweep, {status}; {n_failed} of them are "
          "recorded proxy failures (error column)", file=sys.stderr)
    return problems


def write_tables(target: Path, jobs: list[ShardJob]) -> None:
    """The merged sweep's table beside its file, as one unsharded run writes it: correlations.csv
    (score_summary.csv for a task without ground truth), over the rows this sweep asked for."""
    from .analysis import correlation_table, score_summary
    from .cache import load_scores

    frame = load_scores(target)
    wanted = {k for job in jobs for k in job.expected}
    keys = zip(frame["task"], frame["proxy"], frame["arch"], frame["seed"].astype(int), frame["settings"])
    rows = frame[[k in wanted for k in keys]]
    if rows["accuracy"].notna().any():
        table, name = correlation_table(rows), "correlations.csv"
        shown = ["task", "proxy", "spearman", "kendall", "n_archs", "n_failed"]
    else:
        table, name = score_summary(rows), "score_summary.csv"
        shown = ["task", "proxy", "n_archs", "n_failed", "score_min", "score_max"]
    table.to_csv(target.parent / name, index=False)
    print(table[shown].to_string(index=False, float_format=lambda v: f"{v:.3f}"), file=sys.stderr)


class MergeShards(Callback):
    """Plans a shard sweep at its start and merges its shards into one scores.h5 at its end."""

    def __init__(self) -> None:
        self.jobs: list[ShardJob] = []
        self.finished = True

    def on_multirun_start(self, config: DictConfig, config_name: str | None = None, **kwargs: Any) -> None:
        try:
            self.jobs = self._plan(config, config_name)
            copied = sum(seed_shard(job) for job in self.jobs)
        except ZcbenchError as err:
            print(f"zcbench: error: {err}", file=sys.stderr)
            sys.exit(2)
        except Exception:  # Hydra would turn it into a warning and sweep without the merge
            traceback.print_exc()
            sys.exit(1)
        if not self.jobs:
            return
        groups = {job.out_dir for job in self.jobs}
        print(f"[zcbench] sweep of {len(self.jobs)} shard jobs into {len(groups)} output folder(s); "
              f"{copied} scores already in their scores.h5 copied into the shard files", file=sys.stderr)
        self.finished = False
        atexit.register(self._finish_early)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        if self.finished:
            return
        atexit.unregister(self._finish_early)
        try:
            problems = self._finish(jobs_ended=True)
        except ZcbenchError as err:
            print(f"zcbench: error: {err}", file=sys.stderr)
            sys.exit(2)
        except Exception:  # not a warning: the command's one result would be missing
            traceback.print_exc()
            sys.exit(1)
        if problems:
            print(f"zcbench: error: {len(problems)} shard(s) incomplete; rerun the same command to "
                  "finish them (only the missing work is done)", file=sys.stderr)
            sys.exit(1)

    # -------------------------------------------------------------- internals
    def _plan(self, config: DictConfig, config_name: str | None) -> list[ShardJob]:
        from hydra import compose

        sweeper = str(config.hydra.sweeper.get("_target_", ""))
        if not sweeper.endswith("BasicSweeper"):
            print(f"[zcbench] sweeper {sweeper} is not Hydra's basic sweeper: shards are not merged "
                  "(zcbench-merge does it by hand)", file=sys.stderr)
            return []
        launcher = str(config.hydra.launcher.get("_target_", ""))
        parallel = not launcher.endswith("BasicLauncher")
        jobs, outputs, prepared = [], {}, {}
        for number, overrides in enumerate(sweep_overrides(config)):
            job_cfg = compose(config_name=config_name or "config", overrides=overrides)
            job = plan_job(number, overrides, job_cfg, prepared)
            path = job.path if job else Path(str(job_cfg.out_dir)) / "scores.h5"
            outputs.setdefault(path.resolve(), []).append(number)
            if job:
                jobs.append(job)
        check_outputs(jobs, outputs, parallel)
        return jobs

    def _finish(self, jobs_ended: bool) -> list[str]:
        self.finished = True
        groups: dict[Path, list[ShardJob]] = {}
        for job in self.jobs:
            groups.setdefault(job.out_dir, []).append(job)
        problems = []
        for out_dir, jobs in groups.items():
            problems += merge_group(out_dir, jobs, jobs_ended)
        for line in problems:
            print(f"[zcbench]   {line}", file=sys.stderr)
        return problems

    def _finish_early(self) -> None:
        if self.finished:
            return
        print("[zcbench] the sweep stopped early (a job failed or was killed): merging what the "
              "shards checkpointed (rows still in a shard's journal are merged by the rerun)", file=sys.stderr)
        try:
            problems = self._finish(jobs_ended=False)
        except ZcbenchError as err:
            print(f"zcbench: error: {err}", file=sys.stderr)
            return
        if problems:
            print(f"zcbench: error: {len(problems)} shard(s) incomplete; rerun the same command to "
                  "finish them (only the missing work is done)", file=sys.stderr)
