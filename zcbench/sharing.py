"""Reuse scores another task computed: tasks with the same computation key share them.

Two tasks whose configs differ only in their ground truth (Auto-Prox's `_kd` and `_base`
columns, TransNAS-Bench's final- and best-epoch tasks, OoD-ViT-NAS's clean and corrupted
accuracies) build the same networks and feed them the same inputs, so a score keyed by
(proxy, arch, seed, settings) is the same number for both (zcbench/tasks/computation.py).
Before a run computes a network, it looks for the missing scores among the rows of the
same computation key and the current proxy version, in

- its own score file (rows of other tasks, e.g. a cache several tasks share),
- the score files of the sibling folders of out_dir that are named after a task with the
  same key (the layout runs/<task>/ and results/cache/<task>/), and
- the files or folders named in `share_from=[...]`,

and copies each found row under its own task, so that its cache stands alone. Only the
folders of tasks with the same key are read, never every cache next to out_dir.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping, NamedTuple, Sequence

import pandas as pd

from .cache import ScoreCache, load_scores
from .errors import CacheError
from .tasks.computation import task_computation


class _Found(NamedTuple):
    task: str
    score: float
    seconds: float
    error: str
    proxy_version: str
    source: str


@dataclass
class SharedScores:
    """Rows of the same computation key that a run may copy instead of computing them."""

    task: str
    computation: str
    found: dict[tuple[str, str, int, str], _Found] = field(default_factory=dict)
    reused: Counter = field(default_factory=Counter)  # (source task, source file) -> rows copied

    @classmethod
    def gather(cls, task: str, computation: str, own: ScoreCache, out_dir: str | Path,
               share_from: Sequence[str | Path], versions: Mapping[str, str]) -> "SharedScores":
        """The rows with key `computation` and the current `versions` in `own`'s other tasks, in the
        sibling folders of `out_dir` named after a task with that key, and in `share_from`."""
        shared = cls(task, computation)
        if not computation:
            return shared
        frames = [_matching(own.frame(), computation, versions, str(own.path), skip_task=task)]
        for folder in sibling_folders(out_dir, task_computation(task) or computation):
            try:
                frames.append(_matching(load_scores(folder), computation, versions, str(folder)))
            except CacheError as err:  # a sibling's damaged file is its owner's problem: say so, go on
                print(f"[zcbench] not reusing scores from {folder}: {err}")
        for path in share_from:
            frames.append(_matching(load_scores(path), computation, versions, str(path)))
        rows = pd.concat(frames, ignore_index=True)
        rows = rows.assign(failed=rows["error"] != "").sort_values("failed", kind="stable")  # successes first
        for r in rows.drop_duplicates(["proxy", "arch", "seed", "settings"]).itertuples(index=False):
            shared.found[(r.proxy, r.arch, int(r.seed), r.settings)] = _Found(
                r.task, r.score, r.seconds, r.error, r.proxy_version, r.source)
        return shared

    def take(self, proxies: Iterable[str], arch: str, seed: int, settings: Mapping[str, str],
             retry_failed: bool = False) -> list[dict]:
        """Score rows under this run's task for those of `proxies` found on `arch` (with retry_failed,
        found failures are not taken: they are computed again)."""
        rows = []
        for proxy in proxies:
            hit = self.found.get((proxy, arch, int(seed), settings[proxy]))
            if hit is None or (retry_failed and hit.error):
                continue
            rows.append({"task": self.task, "proxy": proxy, "arch": arch, "seed": int(seed),
                         "settings": settings[proxy], "score": hit.score, "seconds": hit.seconds,
                         "error": hit.error, "proxy_version": hit.proxy_version, "computation": self.computation})
            self.reused[(hit.task, hit.source)] += 1
        return rows

    def report(self) -> list[str]:
        """One line per source task and file of the rows this run reused."""
        return [f"[zcbench] reused {n} scores computed for task {task} (same computation) from {source}"
                for (task, source), n in sorted(self.reused.items())]


def sibling_folders(out_dir: str | Path, family: str) -> list[Path]:
    """Folders beside out_dir named after a task whose config's own computation key is `family` (this
    run's task's, before any override: runs of both at task.image_size=64 then match by their rows'
    keys) and holding score files (or a journal of one)."""
    out_dir = Path(out_dir).resolve()
    if not out_dir.parent.is_dir():
        return []
    return sorted(d for d in out_dir.parent.iterdir()
                  if d.is_dir() and d.resolve() != out_dir and task_computation(d.name) == family
                  and (any(d.glob("*.h5")) or any(d.glob("*.h5.journal"))))


def _matching(frame: pd.DataFrame, computation: str, versions: Mapping[str, str], source: str,
              skip_task: str | None = None) -> pd.DataFrame:
    """Rows of `frame` with this computation key, of a proxy in `versions` at that version."""
    keep = (frame["computation"] == computation) & (frame["proxy"].map(versions) == frame["proxy_version"])
    if skip_task is not None:
        keep &= frame["task"] != skip_task
    columns = ["task", "proxy", "arch", "seed", "settings", "score", "seconds", "error", "proxy_version"]
    return frame.loc[keep, columns].assign(source=source)
