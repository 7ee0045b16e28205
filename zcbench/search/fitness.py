"""Fitness of architectures during a search: any proxy or ensemble, scored through the score cache.

`Scorer` builds, scores and caches networks with the harness's own functions (prepare,
score_arch, settings_key), so a search writes the same rows as `python -m zcbench` and reads
theirs: an arch scored once (by any run, strategy or earlier command) is never scored again.

Fitness kinds (`make_fitness`):
- a proxy name: the proxy's score (a failure ranks below every score);
- an ensemble name (az_nas, te_nas, libra, ...): ensembles rank a population, so the fitness of
  an arch is its ensemble score within the archs the run has scored so far (rank aggregation over
  the run's history, recomputed as the history grows). LIBRA chooses its members on a tuning
  sample of the task, whose archs the search then never visits (see tuning_sample);
- random: a fixed pseudo-random number per (seed, arch): picking at random, no network built;
- oracle: the ground-truth accuracy looked up (random search that trains every network, the
  baseline of NB201's table; also the tests' known-answer fitness).
"""
from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pandas as pd
from omegaconf import OmegaConf

from ..tasks.task import CONF_DIR
from ..cache import ScoreCache, read_h5
from ..ensembles import AZ_NAS_MEMBERS, ENSEMBLES, TE_NAS_MEMBERS, score_tables, split_archs
from ..errors import UnknownNameError, ZcbenchError
from ..harness import Setup, apply_task_options, sample_archs, score_arch, score_relevant_settings, settings_key
from ..proxies import PROXIES
from ..proxies.configs import config_options

BASELINES = ("random", "oracle")
FIXED_MEMBERS = {"az_nas": AZ_NAS_MEMBERS, "te_nas": TE_NAS_MEMBERS}  # the untuned ensembles' members


def fitness_names() -> list[str]:
    """Every valid fitness: registered proxies, ensembles, random and oracle."""
    return [*PROXIES.names(), *ENSEMBLES.names(), *BASELINES]


def all_proxy_names() -> list[str]:
    """The proxies of zcbench/conf/proxy/all.yaml (every registered, non-test proxy)."""
    return [str(n) for n in OmegaConf.load(CONF_DIR / "proxy" / "all.yaml")["defaults"]]


@dataclass
class Scorer:
    """Scores proxies on archs through one ScoreCache; keeps every score it has seen in memory."""

    setup: Setup
    cache: ScoreCache
    checkpoint_every: int = 25
    allow_compute: bool = True  # False: a score the caches lack is an error, never computed
    #: the Setup (input batch) a proxy is scored on, e.g. its protocol=cheap input; None: `setup` for all
    input_setup: Callable[[str], Setup] | None = None
    known: dict[tuple[str, str], tuple[float, float, str]] = field(default_factory=dict)
    computed: int = 0
    _options: dict[str, dict] = field(default_factory=dict)
    _settings: dict[str, str] = field(default_factory=dict)
    _loaded: set[str] = field(default_factory=set)

    def add_proxies(self, names: Sequence[str]) -> None:
        """Make `names` scorable: their options (task options filled in) and cache settings."""
        new = [n for n in names if n not in self._options]
        if not new:
            return
        opts = apply_task_options({n: config_options(n) for n in new}, self.setup.task)
        for n in new:
            setup = self.setup_for(n)
            self._options[n] = opts[n]
            self._settings[n] = settings_key(setup.batch, opts[n], setup.task.space_options)
        self._load(self.cache.frame(), new)

    def setup_for(self, name: str) -> Setup:
        """The Setup (task at its input size, batch) that `name` is scored with."""
        return self.input_setup(name) if self.input_setup is not None else self.setup

    def settings(self, name: str) -> str:
        return self._settings[name]

    def import_rows(self, path: str | Path, proxies: Sequence[str], archs: set[str] | None = None) -> int:
        """Copy into this cache the rows of another score file that match our keys (read only there)."""
        self.add_proxies(proxies)
        scores, _ = read_h5(path)
        rows = self._matching(scores, proxies)
        if archs is not None:
            rows = rows[rows["arch"].isin(archs)]
        rows = rows[[(p, a) not in self.known for p, a in zip(rows["proxy"], rows["arch"])]]
        if len(rows):
            self.cache.add(rows.to_dict("records"))
            self._load(rows, proxies)
        return len(rows)

    def score(self, arch: str, proxies: Sequence[str]) -> float:
        """Scores of `proxies` on `arch` (computed only where the cache lacks them); returns their
        seconds (the cost of scoring this arch, whether computed now or earlier)."""
        self.add_proxies(proxies)
        missing = [p for p in proxies if (p, arch) not in self.known]
        if missing and not self.allow_compute:
            raise ZcbenchError(f"compute=false, and the caches hold no current {', '.join(missing)} score of "
                               f"{arch} (task {self.setup.task.name}, settings and proxy version as now)")
        if missing:
            by_input: dict[int, tuple[Setup, list[str]]] = {}
            for p in missing:
                setup = self.setup_for(p)
                by_input.setdefault(id(setup), (setup, []))[1].append(p)
            for setup, names in by_input.values():  # one network build per input
                results = score_arch(setup, self.cache, arch, {p: self._options[p] for p in names},
                                     self._settings, {p: PROXIES.get(p).version for p in names})
                for p, (s, t, e) in results.items():
                    self.known[(p, arch)] = (float(s) if not e else math.nan, float(t), e)
            self.computed += 1
            if self.computed % self.checkpoint_every == 0:
                self.cache.checkpoint()
        return float(sum(self.known[(p, arch)][1] for p in proxies))

    def table(self, archs: Sequence[str], proxies: Sequence[str]) -> pd.DataFrame:
        """Scores (NaN = failed), index arch, one column per proxy, for archs already scored."""
        return pd.DataFrame({p: [self.known[(p, a)][0] for a in archs] for p in proxies}, index=list(archs))

    def rows(self, archs: Sequence[str], proxies: Sequence[str], truth: pd.Series) -> pd.DataFrame:
        """load_scores()-style rows of scored (proxy, arch) pairs, with accuracy (for ensembles' tuning)."""
        out = []
        for p in proxies:
            for a in archs:
                if (p, a) in self.known:
                    s, t, e = self.known[(p, a)]
                    out.append({"task": self.setup.task.name, "arch": a, "proxy": p, "seed": self.setup.seed,
                                "score": s, "seconds": t, "accuracy": truth.get(a, math.nan), "error": e,
                                "settings": self._settings[p], "proxy_version": PROXIES.get(p).version})
        return pd.DataFrame(out)

    def _matching(self, frame: pd.DataFrame, proxies: Sequence[str]) -> pd.DataFrame:
        """Rows of `proxies` at our task, seed, version and settings; for a proxy that reads no
        batch (params) or only one input's size (flops, synflow), settings that differ only in what
        it does not read match too (e.g. the data-free rows a ViT run scored at batch 16)."""
        version = {p: PROXIES.get(p).version for p in proxies}
        reads = {p: PROXIES.get(p).needs.inputs for p in proxies}
        keep = ((frame["task"] == self.setup.task.name) & (frame["seed"] == self.setup.seed)
                & frame["proxy"].isin(list(proxies)))
        rows = frame[keep]
        wanted = {p: score_relevant_settings(self._settings[p], reads[p]) for p in proxies}
        same = [score_relevant_settings(s, reads[p]) == wanted[p] for p, s in zip(rows["proxy"], rows["settings"])]
        ok = pd.Series(same, index=rows.index, dtype=bool) & (rows["proxy_version"] == rows["proxy"].map(version))
        return rows[ok]

    def _load(self, frame: pd.DataFrame, proxies: Sequence[str]) -> None:
        rows = self._matching(frame, proxies)
        for p, a, s, t, e in rows[["proxy", "arch", "score", "seconds", "error"]].itertuples(index=False, name=None):
            self.known[(p, a)] = (float(s) if not e else math.nan, float(t), str(e))


@dataclass
class Fitness:
    """What a search maximises. `members`: proxies scored per arch ([] for random/oracle)."""

    name: str
    kind: str
    members: tuple[str, ...] = ()
    fuse: object = None
    seed: int = 0
    truth: pd.Series | None = None
    details: dict = field(default_factory=dict)

    def values(self, scorer: Scorer | None, archs: Sequence[str]) -> np.ndarray:
        """Fitness of each of `archs` (all scored) within that population: higher = better."""
        archs = list(archs)
        if not archs:
            return np.array([])
        if self.kind == "random":
            return np.array([_hash_uniform(self.seed, a) for a in archs])
        if self.kind == "oracle":
            assert self.truth is not None
            return self.truth.reindex(archs).to_numpy(dtype=float)
        table = scorer.table(archs, self.members)
        if self.kind == "proxy":
            v = table[self.members[0]].to_numpy(dtype=float)
            return np.where(np.isfinite(v), v, -np.inf)
        return np.asarray(self.fuse(table), dtype=float)  # ensemble: ranks within `archs`


def _hash_uniform(seed: int, arch: str) -> float:
    digest = hashlib.sha256(f"random-fitness:{seed}:{arch}".encode()).digest()
    return int.from_bytes(digest[:8], "little") / 2**64


def tuning_sample(truth: pd.DataFrame, n: int, seed: int, fraction: float = 0.5) -> list[str]:
    """LIBRA's tuning archs: the tuning side (ensembles.split_archs) of the harness's seed-`seed`
    sample of n archs with ground truth. With n=1000, seed 0 these are the tuning half of the
    archs the committed NB201 caches hold, so their scores are already there."""
    drawn = sample_archs(list(truth["arch"]), min(n, len(truth)), seed)
    return split_archs(drawn, fraction)[0]


def make_fitness(name: str, scorer: Scorer | None, truth: pd.DataFrame, seed: int,
                 tune_archs: Sequence[str] = ()) -> Fitness:
    """The fitness called `name`; a tuned ensemble chooses its members on `tune_archs` here."""
    truth_series = truth.set_index("arch")["accuracy"] if len(truth) else pd.Series(dtype=float)
    if name in BASELINES:
        if name == "oracle" and truth_series.empty:
            raise ZcbenchError("fitness=oracle looks up ground truth, and this task has none")
        return Fitness(name, name, seed=seed, truth=truth_series)
    if name in PROXIES:
        return Fitness(name, "proxy", (name,))
    if name not in ENSEMBLES:
        raise UnknownNameError("fitness", name, fitness_names())
    ensemble = ENSEMBLES.get(name)
    if not ensemble.tuned:
        return Fitness(name, "ensemble", FIXED_MEMBERS[name], ensemble.fuse)
    if truth_series.empty:
        raise ZcbenchError(f"fitness={name} chooses its members against ground truth on a tuning sample, "
                           "and this task has none; use a proxy or a fixed ensemble (az_nas, te_nas)")
    if len(tune_archs) < 5:
        raise ZcbenchError(f"fitness={name} needs a tuning sample of at least 5 archs, got {len(tune_archs)}")
    candidates = all_proxy_names()
    scorer.add_proxies(candidates)
    stale = []
    if not scorer.allow_compute:  # only what the caches hold at the current proxy versions
        stale = [p for p in candidates if not all((p, a) in scorer.known for a in tune_archs)]
        candidates = [p for p in candidates if p not in stale]
    seconds = sum(scorer.score(a, candidates) for a in tune_archs)
    frame = scorer.rows(list(tune_archs), candidates, truth_series)
    table = next(iter(score_tables(frame).values()))
    selection = ensemble.choose(table)
    details = {"tuned_on": len(table.scores), "tuning_seconds": seconds, "members": selection.members,
               "left_out": sorted(table.left_out), "not_cached": stale}
    return Fitness(name, "ensemble", tuple(selection.members), ensemble.fuse, details=details)
