"""n_runs independent searches of one strategy and fitness on one task, written to out_dir.

Seeds: `score_seed` is the harness's seed (image batch and each network's initialisation), the
same for every run, so all runs, strategies and earlier `python -m zcbench` commands share one
cache; `seed` drives the runs' own choices (run r draws from the stream (seed, r)).
"""
from __future__ import annotations

import dataclasses
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
from omegaconf import DictConfig, OmegaConf

from ..tasks.task import Task
from ..cache import ScoreCache, read_h5
from ..errors import BadOptionError, UnknownNameError, ZcbenchError
from ..harness import Setup, prepare, read_arch_file
from ..protocol import PROTOCOLS, proxy_input
from . import STRATEGIES
from .base import BudgetSpent, SearchRun
from .domain import Domain, whole_space
from .fitness import BASELINES, Fitness, Scorer, all_proxy_names, fitness_names, make_fitness, tuning_sample
from .report import (RUN_COLUMNS, incumbent_curve, mean_curve, percentile, plot_curves, summary_row)


@dataclass
class SearchResult:
    """What a search wrote and found: per-step rows, per-run answers, the summary row."""

    out_dir: Path
    runs: pd.DataFrame
    found: pd.DataFrame
    summary: dict
    fitness: Fitness


def check_names(cfg: DictConfig) -> None:
    """Fail fast, in one line, on an unknown strategy or fitness or an unusable number."""
    STRATEGIES.get(str(cfg.strategy.name))
    if str(cfg.fitness) not in fitness_names():
        raise UnknownNameError("fitness", str(cfg.fitness), fitness_names())
    for key, minimum in (("budget", 1), ("n_runs", 1), ("seed", 0), ("score_seed", 0)):
        value = cfg.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise BadOptionError(f"{key}={value!r} is not valid; {key} must be a whole number >= {minimum}")
    if str(cfg.get("protocol", "cheap")) not in PROTOCOLS:
        raise BadOptionError(f"protocol={cfg.get('protocol')!r} is not valid; valid values: {', '.join(PROTOCOLS)}")
    limit = cfg.get("max_params")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, (int, float)) or limit <= 0):
        raise BadOptionError(f"max_params={limit!r} is not valid; max_params must be null or a number of "
                             "millions > 0")


def _prepare(cfg: DictConfig, given: tuple[int | None, int] | None, what: str) -> Setup:
    """The harness's Setup of the search's task (one arch: the search picks its own), at the task's
    input or at `given` (image_size, batch_size)."""
    task = OmegaConf.to_container(cfg.task, resolve=False)
    batch_size = cfg.get("batch_size")
    if given is not None:
        task["image_size"], batch_size = given
    return prepare(OmegaConf.create({
        "task": task, "data_root": cfg.get("data_root"),
        "device": cfg.get("device", "cpu"), "batch_size": batch_size, "seed": int(cfg.score_seed),
        "n_archs": 1, "archs": None, "exclude_archs": None, "checkpoint_every": 25, "retry_failed": False,
        "progress": False}), what=what)


def _input_setups(cfg: DictConfig, setup: Setup) -> Callable[[str], Setup]:
    """Per proxy, the Setup of the input it is scored on: under protocol=cheap (the default, as in
    `python -m zcbench`) its calibrated cheaper input (results/protocol.md), so a search reads and
    writes the same cache rows as the main command; one Setup per distinct input, made on first use."""
    protocol = str(cfg.get("protocol", "cheap"))
    own = (setup.task.image_size, int(setup.batch.inputs.shape[0]))
    made = {own: setup}

    def input_setup(name: str) -> Setup:
        given = proxy_input(setup.task.space, *own, name, protocol)
        if given not in made:
            made[given] = dataclasses.replace(
                _prepare(cfg, given, f" (scoring seed; {name} and any proxy validated at this input)"),
                computation=setup.computation)
            print(f"[zcbench.search] protocol=cheap: {name} scored at {given[0]} px, batch {given[1]} (ranks like "
                  f"the paper's {own[0]} px, batch {own[1]}: results/protocol.md; protocol=paper to score it there)")
        return made[given]

    return input_setup


def run_search(cfg: DictConfig) -> SearchResult:
    """Run the configured search; see zcbench/conf/search/config.yaml for the knobs."""
    check_names(cfg)
    task = Task.from_config(cfg.task)
    strategy = STRATEGIES.get(str(cfg.strategy.name))
    options = {k: v for k, v in OmegaConf.to_container(cfg.strategy, resolve=True).items() if k not in ("name", "label")}
    budget, n_runs, seed = int(cfg.budget), int(cfg.n_runs), int(cfg.seed)
    out_dir = Path(cfg.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    setup = _prepare(cfg, None, " (the scoring seed of every search run)")
    cache_path = Path(cfg.cache) if cfg.get("cache") else out_dir / "scores.h5"
    cache_path.parent.mkdir(parents=True, exist_ok=True)
    scorer = Scorer(setup, ScoreCache(cache_path), allow_compute=bool(cfg.get("compute", True)),
                    input_setup=_input_setups(cfg, setup))
    reuse = [Path(p) for p in (cfg.get("reuse") or []) if Path(p).exists() and Path(p).resolve() != cache_path.resolve()]
    truth = setup.truth[["arch", "accuracy"]]
    name = str(cfg.fitness)

    tune = []
    if name not in BASELINES and _tuned(name):
        if cfg.get("tune_file"):
            with_truth = set(truth["arch"])
            tune = [a for a in read_arch_file(cfg.tune_file, setup.space) if a in with_truth]
        else:
            tune = tuning_sample(truth, int(cfg.tune_archs), int(cfg.score_seed)) if len(truth) else []
        for path in reuse:
            scorer.import_rows(path, all_proxy_names(), set(tune))
    fitness = make_fitness(name, scorer, truth, seed, tune)
    needed = list(fitness.members) + (["params"] if cfg.get("max_params") is not None else [])
    for path in reuse:
        scorer.import_rows(path, needed)
    scorer.cache.checkpoint()
    if tune:
        print(f"[zcbench.search] {name}: members {', '.join(fitness.members)} chosen on {fitness.details['tuned_on']} "
              f"tuning archs ({fitness.details['tuning_seconds']:.0f} s of proxy time to score them); the search "
              "never visits those archs")

    domain = _domain(cfg, setup, truth, scorer, fitness, reuse, set(tune))
    accuracy = truth.set_index("arch")["accuracy"]
    in_domain = accuracy[[a in domain for a in accuracy.index]] if len(accuracy) else accuracy
    best_possible = float(in_domain.max()) if len(in_domain) else float("nan")
    label = str(cfg.strategy.get("label") or cfg.strategy.name)

    rows, found = [], []
    for r in range(n_runs):
        start, computed_before = time.perf_counter(), scorer.computed
        rng = random.Random(f"zcbench-search:{seed}:{r}")
        run_fitness = dataclasses.replace(fitness, seed=seed * 1000 + r) if fitness.kind == "random" else fitness
        run = SearchRun(domain, run_fitness, scorer if fitness.members or cfg.get("max_params") is not None else None,
                        budget, cfg.get("max_params"), rng=rng)
        try:
            answer = strategy(run, rng, **options)
        except BudgetSpent:
            answer = None
        if not run.history:
            raise ZcbenchError(f"run {r} scored no architecture (is the domain empty or the parameter budget "
                               "below every arch?)")
        answer = answer or run.best()
        scorer.cache.checkpoint()
        values = run.fitness_values()
        acc = [float(accuracy.get(a, np.nan)) for a in run.history]
        curve = incumbent_curve([run.fitness.values(run.scorer, run.history[:k + 1]) if fitness.kind == "ensemble"
                                 else values[:k + 1] for k in range(len(run.history))], acc)  # ranks as of step k
        rows += [{"run": r, "step": k + 1, "arch": a, "fitness": float(values[k]), "accuracy": acc[k],
                  "seconds": run.seconds[k], "best_so_far": curve[k]} for k, a in enumerate(run.history)]
        found_acc = float(accuracy.get(answer, np.nan))
        found.append({"run": r, "arch": answer, "accuracy": found_acc,
                      "percentile": percentile(found_acc, in_domain.to_numpy(dtype=float)),
                      "fitness": float(run.fitness_values([answer])[0]) if answer in run.history else float("nan"),
                      "networks": len(run.history), "computed": scorer.computed - computed_before,
                      "seconds": float(sum(run.seconds)), "wall_seconds": time.perf_counter() - start})
        f = found[-1]
        lookup = f": accuracy {found_acc:.2f} (percentile {f['percentile']:.1f})" if task.has_truth else ""
        print(f"[zcbench.search] run {r + 1}/{n_runs}: {f['networks']} networks scored, {f['computed']} of them (or "
              f"their params) computed now, the rest read from the cache; {f['seconds']:.1f} s of proxy time; "
              f"found {answer}{lookup}")
    runs = pd.DataFrame(rows, columns=RUN_COLUMNS)
    found_frame = pd.DataFrame(found)
    extra = {"members": "+".join(fitness.members), "tuning_archs": len(tune),
             "tuning_not_cached": "+".join(fitness.details.get("not_cached", [])),
             "tuning_seconds": float(fitness.details.get("tuning_seconds", 0.0)),
             "pool": domain.size if domain.size is not None else "space",
             "metric": task.truth.get("metric", "") if task.has_truth else "no ground truth",
             "wall_seconds": float(found_frame["wall_seconds"].mean())}
    summary = summary_row(task.name, label, name, budget, found_frame, best_possible, extra)
    runs.to_csv(out_dir / str(cfg.get("runs_file") or "runs.csv"), index=False)  # .gz: compressed
    found_frame.to_csv(out_dir / "found.csv", index=False)
    pd.DataFrame([summary]).to_csv(out_dir / "summary.csv", index=False)
    if not task.has_truth:
        _describe_found(scorer, found_frame)  # no accuracy to look up: say what was found instead
    elif cfg.get("plot", True):
        _plot(out_dir, runs, label, name, domain, accuracy, budget, n_runs, seed, best_possible, task.name)
    _print_summary(summary)
    return SearchResult(out_dir, runs, found_frame, summary, fitness)


def _tuned(name: str) -> bool:
    from ..ensembles import ENSEMBLES
    return name in ENSEMBLES and ENSEMBLES.get(name).tuned


def _domain(cfg: DictConfig, setup, truth: pd.DataFrame, scorer: Scorer, fitness: Fitness,
            reuse: list[Path], tune: set[str]) -> Domain:
    """The archs the search may visit (zcbench/conf/search/config.yaml, `pool`)."""
    pool = str(cfg.get("pool") or "truth")
    space = setup.space
    if pool == "truth":
        if not len(truth) or whole_space(space, truth["arch"]):
            return Domain(space, None, frozenset(tune))
        return Domain(space, list(truth["arch"]), frozenset(tune))
    if pool == "cached":
        if not fitness.members:
            raise ZcbenchError("pool=cached keeps the archs whose fitness is cached, and fitness="
                               f"{fitness.name} scores no proxy; use pool=truth")
        held = set()
        for path in [scorer.cache.path, *reuse]:
            if path.exists():
                held |= set(read_h5(path)[0]["arch"])
        archs = [a for a in held if all((p, a) in scorer.known for p in fitness.members)]
        if len(truth):
            archs = sorted(set(archs) & set(truth["arch"]))
        print(f"[zcbench.search] pool=cached: {len(archs)} archs with cached {'+'.join(fitness.members)} scores")
        return Domain(space, archs, frozenset(tune))
    return Domain(space, read_arch_file(pool, space), frozenset(tune))


def _plot(out_dir: Path, runs: pd.DataFrame, label: str, name: str, domain: Domain, accuracy: pd.Series,
          budget: int, n_runs: int, seed: int, best_possible: float, task: str) -> None:
    """plot.png: this search against random search (best-of-N by looked-up accuracy), same domain."""
    from .best_of_n import best_of_n

    curves = {f"{label} / {name}": mean_curve(runs)}
    for base in ("oracle",):
        fit = make_fitness(base, None, accuracy.rename("accuracy").rename_axis("arch").reset_index(), seed)
        rows = []
        for r in range(n_runs):
            rng = random.Random(f"zcbench-search-baseline:{seed}:{r}")
            run = SearchRun(domain, dataclasses.replace(fit, seed=seed * 1000 + r), None, budget, rng=rng)
            try:
                best_of_n(run, rng)
            except BudgetSpent:
                pass
            values = run.fitness_values()
            acc = [float(accuracy.get(a, np.nan)) for a in run.history]
            curve = incumbent_curve([values[:k + 1] for k in range(len(acc))], acc)
            rows += [{"run": r, "step": k + 1, "best_so_far": c} for k, c in enumerate(curve)]
        curves["random search (trains every net: accuracy lookup)"] = mean_curve(pd.DataFrame(rows))
    plot_curves(curves, out_dir / "plot.png", f"{task}: {n_runs} runs", best_possible,
                baselines=[k for k in curves if k.startswith("random")])


def _describe_found(scorer: Scorer, found: pd.DataFrame) -> None:
    """For a task without ground truth: each run's subnet with params and FLOPs (cached proxies)."""
    for _, f in found.iterrows():
        scorer.score(f["arch"], ["params", "flops"])
        params, flops = scorer.known[("params", f["arch"])][0], scorer.known[("flops", f["arch"])][0]
        print(f"[zcbench.search] run {int(f['run']) + 1}: {f['arch']}\n    params {params / 1e6:.2f} M, "
              f"FLOPs {flops / 1e9:.2f} G, fitness {f['fitness']:.4g}; the run took {f['wall_seconds']:.1f} s "
              f"on this CPU ({f['seconds']:.1f} s of it proxy time)")
    scorer.cache.checkpoint()


def _print_summary(summary: dict) -> None:
    if summary["metric"] == "no ground truth":
        print(f"[zcbench.search] {summary['task']} {summary['strategy']} fitness={summary['fitness']} "
              f"budget={summary['budget']}: no ground truth to look up; {summary['seconds']:.1f} s of proxy time per run")
        return
    print(f"[zcbench.search] {summary['task']} {summary['strategy']} fitness={summary['fitness']} "
          f"budget={summary['budget']}: accuracy {summary['mean_accuracy']:.2f} +- {summary['std_accuracy']:.2f} "
          f"over {summary['n_runs']} runs (best possible {summary['best_possible']:.2f}, mean percentile "
          f"{summary['mean_percentile']:.1f}), {summary['seconds']:.1f} s of proxy time per run")
