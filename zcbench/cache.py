"""HDF5 store of proxy scores: resumable, crash-safe, mergeable across shards.

Layout of a score file (format "zcbench-scores", version 2):

    /            attrs: format, format_version
    /scores/     one 1-D dataset per column of SCORE_COLUMNS (a tidy table)
    /truth/      task, arch, accuracy: the ground truth joined for those archs

Version 2 stores each text column dictionary-encoded: `<column>` holds int32
codes (gzip) into `<column>__values`, the column's distinct strings, since a
few settings strings and architectures repeat over thousands of rows (about
10x smaller than version 1's one string per row). Version 1 files are read.

A row's key is (task, proxy, arch, seed, settings). `settings` spells out
everything else that changes a score (batch size, input images, resolution,
proxy options); `proxy_version` is the version of the proxy code that computed
it, and a row whose version differs from the registered proxy is recomputed.
`computation` is the task's computation key (zcbench/tasks/computation.py): rows of
two tasks with the same key and the same (proxy, arch, seed, settings) hold the same
score, so a run reuses them (zcbench/sharing.py). The column is optional in version 2:
files and journals written before it existed (or by an older zcbench, which ignores
and drops it) lack it, and reading fills it from the row's task name where that task
is still defined (else "").

Crash safety: new rows go first to an append-only journal next to the file
(`<file>.journal`, one JSON line per row, flushed and fsynced per network).
Checkpoints fold the journal into a new HDF5 file written beside the old one
and moved over it atomically, so the HDF5 file is always complete and a kill
at any moment loses at most the row being written. Opening a cache replays a
leftover journal.

Concurrent writers: several processes may write one file (two commands on one
out_dir, a Hydra multirun over proxies or seeds). Every journal append and every
checkpoint holds an exclusive lock (`<file>.lock`, filelock), and a checkpoint
writes the union of what is on disk now (the file and the journal, with rows other
writers added since this one opened it) and this writer's new rows, which win on
an equal key; so no writer's rows are lost. Shards still write their own files
(one lock each, no contention) and `merge()` combines them.
"""
from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path
from typing import Iterable, Mapping

import h5py
import numpy as np
import pandas as pd
from filelock import FileLock

from .errors import CacheError

FORMAT, FORMAT_VERSION = "zcbench-scores", 2
READABLE_VERSIONS = (1, 2)
KEY = ["task", "proxy", "arch", "seed", "settings"]
SCORE_COLUMNS = KEY + ["score", "seconds", "error", "proxy_version", "computation"]
TRUTH_COLUMNS = ["task", "arch", "accuracy"]
_STRING = {"task", "proxy", "arch", "settings", "error", "proxy_version", "computation"}
_OPTIONAL = {"computation"}  # absent from older files and journals: filled on read (_fill_computation)


def _empty(columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object if c in _STRING else
                                      ("int64" if c == "seed" else "float64")) for c in columns})


def _typed(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    frame = frame[columns].copy()
    for c in columns:
        if c in _STRING:
            frame[c] = frame[c].fillna("").astype(str).astype(object)
        elif c == "seed":
            frame[c] = frame[c].astype("int64")
        else:
            frame[c] = frame[c].astype("float64")
    if "computation" in columns:
        frame = _fill_computation(frame)
    return frame.reset_index(drop=True)


def _fill_computation(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows without a computation key get their task's, where that task is still defined, at the
    image size their settings record (batch=BxCxHxW: a run at task.image_size=64 has the key of
    that size, as the rows it writes now do)."""
    blank = frame["computation"] == ""
    if blank.any():
        from .tasks.computation import task_computation  # only for rows written before the column

        pairs = frame.loc[blank, ["task", "settings"]]
        frame.loc[blank, "computation"] = [task_computation(task, _image_side(settings))
                                           for task, settings in pairs.itertuples(index=False)]
    return frame


_BATCH_SHAPE = re.compile(r"(?:^|;)batch=\d+x\d+x(\d+)x\d+(?:;|$)")


def _image_side(settings: str) -> int | None:
    """H of the batch shape a row's settings record, None if they record none."""
    match = _BATCH_SHAPE.search(settings)
    return int(match.group(1)) if match else None


def read_h5(path: str | Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read (scores, truth) tables from a zcbench score file; CacheError if it is not one."""
    path = Path(path)
    try:
        f = h5py.File(path, "r")
    except OSError as err:
        raise CacheError(f"{path} is not a readable HDF5 file ({err}); it may be corrupt. "
                         "zcbench will not overwrite it: move it away, or choose another out_dir") from None
    with f:
        if f.attrs.get("format") != FORMAT:
            raise CacheError(f"{path} is an HDF5 file but not a zcbench score cache "
                             f"(format attribute {f.attrs.get('format')!r}, expected {FORMAT!r}); "
                             "zcbench will not overwrite it: choose another out_dir")
        version = int(f.attrs.get("format_version", -1))
        if version not in READABLE_VERSIONS:
            raise CacheError(f"{path} has cache format version {version}; this zcbench reads "
                             f"versions {', '.join(map(str, READABLE_VERSIONS))}")
        tables = []
        for group, columns in (("scores", SCORE_COLUMNS), ("truth", TRUTH_COLUMNS)):
            stored = [c for c in columns if c not in _OPTIONAL or c in f[group]]
            try:
                data = {c: f[group][c][()] for c in stored}
                uniques = {c: f[group][f"{c}__values"][()] for c in stored if c in _STRING and version >= 2}
            except KeyError as err:
                raise CacheError(f"{path} is missing {group}/{err.args[0]}: the file is damaged") from None
            for c in set(columns) - set(stored):
                data[c] = np.full(len(data[columns[0]]), "", dtype=object)
            for c in columns:
                if c in _STRING:
                    text = uniques.get(c, data[c])
                    text = np.array([v.decode() if isinstance(v, bytes) else str(v) for v in text], dtype=object)
                    if c in uniques:
                        codes = np.asarray(data[c], dtype=np.int64)
                        if len(codes) and (codes.min() < 0 or codes.max() >= len(text)):
                            raise CacheError(f"{path}: {group}/{c} has codes outside its {len(text)} values: "
                                             "the file is damaged")
                        text = text[codes] if len(codes) else np.array([], dtype=object)
                    data[c] = list(text)
            tables.append(_typed(pd.DataFrame(data), columns) if len(data[columns[0]]) else _empty(columns))
    return tables[0], tables[1]


def write_h5(path: str | Path, scores: pd.DataFrame, truth: pd.DataFrame) -> None:
    """Write both tables to `path` atomically (temporary file, fsync, rename)."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    string = h5py.string_dtype("utf-8")
    with h5py.File(tmp, "w") as f:
        f.attrs["format"], f.attrs["format_version"] = FORMAT, FORMAT_VERSION
        for group, frame, columns in (("scores", scores, SCORE_COLUMNS), ("truth", truth, TRUTH_COLUMNS)):
            g = f.create_group(group)
            packed = {"compression": "gzip", "shuffle": True} if len(frame) else {}
            for c in columns:
                values = frame[c].to_numpy()
                if c in _STRING:
                    codes, uniques = pd.factorize(pd.Series(values, dtype=object), sort=True)
                    g.create_dataset(c, data=codes.astype("int32"), **packed)
                    g.create_dataset(f"{c}__values", data=np.asarray(uniques, dtype=object), dtype=string)
                else:
                    g.create_dataset(c, data=values.astype("int64" if c == "seed" else "float64"), **packed)
    with open(tmp, "rb+") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _combine(old: pd.DataFrame, new: pd.DataFrame, key: list[str]) -> pd.DataFrame:
    """Rows of both; for a key present twice the newer row wins."""
    if new.empty:
        return old
    if old.empty:
        return new.drop_duplicates(key, keep="last").reset_index(drop=True)
    both = pd.concat([old, new], ignore_index=True)
    return both.drop_duplicates(key, keep="last").reset_index(drop=True)


class ScoreCache:
    """Scores of one output file, with a crash-safe journal for rows not yet checkpointed."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.journal = self.path.with_name(self.path.name + ".journal")
        self.lock = FileLock(str(self.path.with_name(self.path.name + ".lock")))  # reentrant
        self.scores, self.truth = _empty(SCORE_COLUMNS), _empty(TRUTH_COLUMNS)
        self._pending: list[dict] = []
        self._dirty = False  # truth changed in memory since the file was written
        with self.lock:
            if self.path.exists():
                self.scores, self.truth = read_h5(self.path)
            self._replay_journal()
        self._index = self._build_index()

    # -------------------------------------------------------------- look-ups
    def _build_index(self) -> dict[tuple, tuple[str, str]]:
        return {tuple(r[:5]): (r[5], r[6]) for r in
                self.scores[KEY + ["proxy_version", "error"]].itertuples(index=False, name=None)}

    def has(self, task: str, proxy: str, arch: str, seed: int, settings: str, version: str,
            retry_failed: bool = False) -> bool:
        """True if this key was computed by proxy code of this version (and, with
        retry_failed, did not fail)."""
        hit = self._index.get((task, proxy, arch, int(seed), settings))
        return hit is not None and hit[0] == version and not (retry_failed and hit[1])

    # -------------------------------------------------------------- writes
    def add(self, rows: Iterable[Mapping]) -> None:
        """Append rows durably (journal, fsync) before returning."""
        rows = [self._row(r) for r in rows]
        if not rows:
            return
        with self.lock, open(self.journal, "a", encoding="utf-8") as fh:  # not folded away mid-write
            for r in rows:
                fh.write(json.dumps(r, allow_nan=True) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        self._pending.extend(rows)
        for r in rows:
            self._index[tuple(r[k] for k in KEY)] = (r["proxy_version"], r["error"])

    def set_truth(self, truth: pd.DataFrame) -> None:
        """Record ground truth (task, arch, accuracy) for archs in this file (rows already held are no change)."""
        truth = _typed(truth, TRUTH_COLUMNS)
        held = self.truth.set_index(["task", "arch"])["accuracy"]
        before = held.reindex(pd.MultiIndex.from_frame(truth[["task", "arch"]])).to_numpy()
        changed = ~(before == truth["accuracy"].to_numpy())  # new archs compare as NaN: changed
        if changed.any():
            self.truth = _combine(self.truth, truth[changed], ["task", "arch"])
            self._dirty = True

    def checkpoint(self) -> None:
        """Write what the file and journal hold now plus this writer's new rows (atomic replace),
        then drop the journal; under the lock, so rows of other writers are kept.

        A cache with nothing new is not rewritten, so rerunning a finished command leaves the
        file as it was. Afterwards `scores` (and has()) include the other writers' rows too.
        """
        if not (self._pending or self._dirty or not self.path.exists()):
            return
        with self.lock:
            scores, truth = self._current()
            if self._pending:
                scores = _combine(scores, _typed(pd.DataFrame(self._pending), SCORE_COLUMNS), KEY)
            self._write(scores, _combine(truth, self.truth, ["task", "arch"]))

    def _current(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """(scores, truth) as the file and its journal hold them now; call with the lock held.

        A file not written yet (or moved away) counts as what this writer last held.
        """
        scores, truth = read_h5(self.path) if self.path.exists() else (self.scores, self.truth)
        if self.journal.exists():
            rows = read_journal(self.journal)
            if rows:
                scores = _combine(scores, _typed(pd.DataFrame(rows), SCORE_COLUMNS), KEY)
        return scores, truth

    def _write(self, scores: pd.DataFrame, truth: pd.DataFrame) -> None:
        """Make (scores, truth) the file's content and this writer's view; call with the lock held."""
        write_h5(self.path, scores, truth)
        if self.journal.exists():
            self.journal.unlink()
        self.scores, self.truth, self._pending, self._dirty = scores, truth, [], False
        self._index = self._build_index()

    def frame(self) -> pd.DataFrame:
        """All scores, checkpointed and pending."""
        if self._pending:
            return _combine(self.scores, _typed(pd.DataFrame(self._pending), SCORE_COLUMNS), KEY)
        return self.scores

    # -------------------------------------------------------------- internals
    @staticmethod
    def _row(r: Mapping) -> dict:
        missing = [c for c in SCORE_COLUMNS if c not in r and c not in _OPTIONAL]
        if missing:
            raise ValueError(f"score row lacks columns {missing}")
        row = {c: r.get(c, "") for c in SCORE_COLUMNS}
        row["seed"] = int(row["seed"])
        row["score"] = float(row["score"])
        row["seconds"] = float(row["seconds"])
        if not row["error"] and not math.isfinite(row["score"]):
            row["error"] = f"non-finite score ({row['score']})"
        return row

    def _replay_journal(self) -> None:  # with the lock held
        if self.journal.exists():
            self._write(*self._current())


def read_journal(journal: Path) -> list[dict]:
    """Rows of a journal; a torn last line (a kill mid-write) is dropped, damage elsewhere is an error."""
    lines = journal.read_text(encoding="utf-8").splitlines()
    rows = []
    for i, line in enumerate(lines):
        try:
            rows.append(ScoreCache._row(json.loads(line)))
        except (json.JSONDecodeError, ValueError, TypeError) as err:
            if i == len(lines) - 1:  # a row cut short by a kill: it was never complete
                break
            raise CacheError(f"{journal} line {i + 1} is damaged ({err}); "
                             "it is not the last line, so this is not an interrupted write. "
                             "Inspect or remove the journal") from None
    return rows


def prune(path: str | Path, proxy: str, settings_other_than: str) -> int:
    """Drop `proxy`'s rows whose settings differ from `settings_other_than`.

    For scores a changed option superseded (e.g. a new size prior): the tables pick one
    settings string per proxy, and two with the same coverage would tie. The journal is
    folded in first. Returns the number of rows dropped.
    """
    cache = ScoreCache(path)
    with cache.lock:
        frame, truth = cache._current()
        stale = (frame["proxy"] == proxy) & (frame["settings"] != settings_other_than)
        if not ((frame["proxy"] == proxy) & ~stale).any():
            raise CacheError(f"{path} has no {proxy} row with settings {settings_other_than!r}; nothing would be "
                             "left of it, so nothing was dropped")
        cache._write(frame[~stale].reset_index(drop=True), truth)
    return int(stale.sum())


def drop(path: str | Path, proxy: str, task: str) -> int:
    """Drop every row of `proxy` on `task` (e.g. failures cached before the proxy was declared
    not to apply to the task: the harness now skips it there). Returns the number dropped."""
    cache = ScoreCache(path)
    with cache.lock:
        frame, truth = cache._current()
        gone = (frame["proxy"] == proxy) & (frame["task"] == task)
        if not gone.any():
            raise CacheError(f"{path} has no {proxy} row on task {task!r}; nothing was dropped")
        cache._write(frame[~gone].reset_index(drop=True), truth)
    return int(gone.sum())


def relabel_verified(path: str | Path, proxy: str, old: str, new: str, evidence: str | Path,
                     min_archs: int = 3) -> dict[tuple[str, str], int]:
    """Relabel `proxy`'s version-`old` rows as version `new` where a recomputation showed them unchanged.

    A version bump recomputes every cached row of a proxy, also on networks where the
    changed code computes the same thing (e.g. a BatchNorm fix on ViTs, which have none).
    `evidence` is a score file that the current code wrote for some of the same archs
    (same task, seed and settings). Per (task, settings) of the cache, the version-`old`
    rows are relabelled only if the evidence holds >= `min_archs` of those archs at
    version `new` with bit-identical scores (failures: the same reason) and none that
    differs; other groups are left for recomputation. Returns {(task, settings): rows relabelled}.
    """
    fresh, _ = read_h5(evidence)
    fresh = fresh[(fresh["proxy"] == proxy) & (fresh["proxy_version"] == new)]
    cache = ScoreCache(path)
    done: dict[tuple[str, str], int] = {}
    with cache.lock:
        frame, truth = cache._current()
        stale = (frame["proxy"] == proxy) & (frame["proxy_version"] == old)
        for (task, settings), rows in frame[stale].groupby(["task", "settings"]):
            check = rows.merge(fresh, on=["task", "arch", "seed", "settings"], suffixes=("", "_new"))
            if len(check) < min_archs:
                continue
            same = (check["score"].to_numpy() == check["score_new"].to_numpy()) | (
                check["score"].isna().to_numpy() & check["score_new"].isna().to_numpy())
            if not (same & (check["error"] == check["error_new"]).to_numpy()).all():
                raise CacheError(f"{proxy} v{new} differs from the cached v{old} on task {task} under {settings!r} "
                                 f"({int((~same).sum())} of {len(check)} archs): these rows must be recomputed")
            frame.loc[rows.index, "proxy_version"] = new
            done[(task, settings)] = len(rows)
        if done:
            cache._write(frame, truth)
    return done


def merge(target: str | Path, sources: Iterable[str | Path]) -> ScoreCache:
    """Combine score files (e.g. shards) into `target`; rows of later sources win on equal keys."""
    cache = ScoreCache(target)
    with cache.lock:
        scores, truth = cache._current()
        for src in sources:
            if Path(src).resolve() == Path(target).resolve():
                continue
            more, more_truth = read_h5(src)
            scores = _combine(scores, more, KEY)
            truth = _combine(truth, more_truth, ["task", "arch"])
        cache._write(scores, truth)
    return cache


def load_scores(path: str | Path) -> pd.DataFrame:
    """All scores of a file (or of every *.h5 in a directory) joined with ground truth.

    Columns: task, arch, proxy, seed, score, seconds, accuracy (NaN where no
    ground truth), error ("" when the proxy succeeded), settings, proxy_version,
    computation (the task's computation key, "" where unknown). Rows still in a journal
    (a running or killed run) are included; nothing is written.
    """
    path = Path(path)
    if path.is_dir():  # a file killed before its first checkpoint exists only as a journal
        files = sorted(set(path.glob("*.h5")) | {j.with_suffix("") for j in path.glob("*.h5.journal")})
    else:
        files = [path]
    if not files:
        raise CacheError(f"no score files (*.h5) in {path}")
    scores, truth = [], []
    for f in files:
        journal = f.with_name(f.name + ".journal")
        if not f.exists() and not journal.exists():
            raise CacheError(f"score file {f} does not exist")
        s, t = read_h5(f) if f.exists() else (_empty(SCORE_COLUMNS), _empty(TRUTH_COLUMNS))
        if journal.exists():  # read, not folded in: a running process may still own it
            s = _combine(s, _typed(pd.DataFrame(read_journal(journal), columns=SCORE_COLUMNS), SCORE_COLUMNS), KEY)
        scores.append(s)
        truth.append(t)
    s = _combine(_empty(SCORE_COLUMNS), pd.concat(scores, ignore_index=True), KEY)
    t = pd.concat(truth, ignore_index=True).drop_duplicates(["task", "arch"], keep="last")
    out = s.merge(t, on=["task", "arch"], how="left")
    front = ["task", "arch", "proxy", "seed", "score", "seconds", "accuracy"]
    return out[front + [c for c in out.columns if c not in front]]
