"""The searches of results/search.md, then the report itself (zcbench-search-table, zcbench/cli/search_table.py).

Two kinds of rows:
- whole space (NB201, every cell has ground truth): networks are scored as the search goes, so
  only cheap fitness (nwot, synflow) and the free baselines (random, oracle) are run;
- inside a scored pool: the archs the committed caches (results/cache/<task>, results/vit/scores)
  hold, where every cached proxy and ensemble costs nothing. The pool is the evaluation half of
  those archs (ensembles.split_archs); LIBRA chooses its members on the other half, so every
  fitness searches the same archs and none of them informed LIBRA's choice.

Whole-space searches resume from results/search/cache/<task>/scores.h5 (committed), so a rerun
computes nothing new; pool searches copy their rows from the committed caches into runs/search_pools/. `skip_computed=true` runs only what the caches already answer (no network is built).
"""
from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..cache import load_scores
from ..ensembles import score_tables, split_archs
from ..errors import ZcbenchError
from .fitness import BASELINES, FIXED_MEMBERS
from .proxy_tail import sample_tail, visited_tail
from .report import mean_curve, plot_curves

OUT = Path("results/search")
POOL_CACHE = Path("runs/search_pools")  # pool searches only copy committed rows: their cache is scratch


@dataclass
class Block:
    """One task's searches: fitness x (strategy, budget), n_runs each, in the whole space or a pool."""

    task: str
    fitness: list[str]
    plans: list[tuple[str, int]]
    n_runs: int = 10
    cached: str | None = None            # the committed cache whose archs form the pool (None: whole space)
    overrides: list[str] = field(default_factory=list)
    computed: bool = False               # scores networks as it goes (else: cached scores only)

    @property
    def tag(self) -> str:
        return "pool" if self.cached else "space"


FREE_FITNESS = ["nwot", "synflow", "meco", "lswag", "az_nas", "te_nas", "libra", "random", "oracle"]
VIT_FITNESS = ["nwot", "synflow", "meco", "lswag", "libra", "random", "oracle"]  # AZ-NAS and TE-NAS: CNN-only members
NB201 = ["nb201_cifar10", "nb201_cifar100", "nb201_imagenet16_120"]
GRID = [
    Block("nb201_cifar10", ["nwot"], [("best_of_n", 100)], 5, computed=True),
    Block("nb201_cifar10", ["nwot"], [("best_of_n", 200), ("evolution", 200)], 10, computed=True),
    *[Block(t, ["synflow"], [("best_of_n", 100), ("evolution", 100), ("pruning", 100)], 10, computed=True)
      for t in NB201],
    *[Block(t, ["random", "oracle"], [("best_of_n", 100), ("best_of_n", 1000), ("evolution", 100), ("pruning", 100)], 10)
      for t in NB201],
    *[Block(t, FREE_FITNESS, [("best_of_n", 10), ("best_of_n", 100), ("evolution", 100)], 10,
            cached=f"results/cache/{t}/scores.h5") for t in NB201],
    *[Block(t, FREE_FITNESS, [("best_of_n", 10), ("evolution", 25)], 10, cached=f"results/cache/{t}/scores.h5")
      for t in ("tnb101_micro_class_scene", "tnb101_macro_class_scene")],
    *[Block(t, FREE_FITNESS, [("best_of_n", 10)], 10, cached=f"results/cache/{t}/scores.h5")
      for t in ("nb101_cifar10", "nb301_cifar10")],
    *[Block(f"ood_autoformer_{s}_imagenet", VIT_FITNESS,
            [("best_of_n", 10), ("evolution", 25)], 10, cached=f"results/vit/scores/ood_autoformer_{s}_imagenet/scores.h5")
      for s in ("t", "s", "b")],
]


def members(fitness: str) -> list[str]:
    if fitness in BASELINES:
        return []
    if fitness in FIXED_MEMBERS:
        return list(FIXED_MEMBERS[fitness])
    if fitness == "libra":
        return []  # chosen on the tuning half; checked when the search runs
    return [fitness]


def pool_file(block: Block) -> tuple[Path, int]:
    """The evaluation half of the cached archs, and how many archs that halves: the archs of the
    task's leaderboard table (score_tables: every kept proxy scored them, at validated inputs), so a
    proxy cached on a few more archs than the others does not widen the pool past them."""
    frame = load_scores(block.cached)
    table = score_tables(frame).get((block.task, 0))
    archs = sorted(table.scores.index) if table is not None else []
    path = OUT / "pools" / f"{block.task}.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    tune, held = split_archs(archs)
    path.write_text("\n".join(held) + "\n")
    path.with_name(f"{block.task}_tune.txt").write_text("\n".join(tune) + "\n")
    return path, len(archs)


def covered(block: Block, fitness: str, pool: Path) -> bool:
    """True if the cache holds every member's current score for every pool arch (a quick pre-check;
    the searches run with compute=false, so a score that does not match in settings fails them)."""
    from ..proxies import PROXIES

    need = members(fitness)
    if not need:
        return True
    frame = load_scores(block.cached)
    archs = set(pool.read_text().splitlines()) - {""}  # one arch per line (NB301's strings hold spaces)
    for proxy in need:
        rows = frame[(frame["proxy"] == proxy) & (frame["proxy_version"] == PROXIES.get(proxy).version)]
        if not archs <= set(rows["arch"]):
            return False
    return True


def run_block(block: Block, skip_computed: bool) -> list[dict]:
    """Run a block's searches (each resumes from the task's search cache); their summary rows."""
    from .config import compose
    from .driver import run_search

    if block.computed and skip_computed:
        return _read_existing(block)
    cache = OUT / "cache" / block.task / "scores.h5" if not block.cached else POOL_CACHE / block.task / "scores.h5"
    base = [f"task={block.task}", f"n_runs={block.n_runs}", f"cache={cache}", *block.overrides]
    if block.cached:
        pool, _ = pool_file(block)
        base += ["compute=false", f"pool={pool}", f"reuse=[{block.cached}]", f"tune_file={pool.with_name(block.task + '_tune.txt')}"]
    rows = []
    for fitness in block.fitness:
        if block.cached and not covered(block, fitness, pool):
            print(f"[search.table] {block.task}: {fitness} is not cached (current version) for the whole pool; skipped")
            SKIPPED.append(f"{block.task} (pool): {fitness}, not cached at its current version for every pool arch")
            continue
        for strategy, budget in block.plans:
            if fitness == "random" and strategy != "best_of_n":
                continue  # picking at random: one strategy says it all
            out = _out_dir(block, strategy, fitness, budget)
            cfg = compose([*base, "plot=false", "runs_file=runs.csv.gz", f"strategy={strategy}", f"fitness={fitness}", f"budget={budget}", f"out_dir={out}"])
            log = io.StringIO()
            try:
                with contextlib.redirect_stdout(log):
                    result = run_search(cfg)
            except ZcbenchError as err:  # e.g. a member not cached: the report says why the row is missing
                print(f"[search.table] {block.task} {strategy} {fitness}: {err}")
                SKIPPED.append(f"{block.task} ({block.tag}): {strategy} {fitness}: {err}")
                continue
            (out / "search.log").write_text(log.getvalue())
            rows.append({**result.summary, "where": block.tag, "out_dir": str(out)})
            print(f"[search.table] {block.task} {block.tag} {strategy} {fitness} b{budget}: "
                  f"{result.summary['mean_accuracy']:.2f} +- {result.summary['std_accuracy']:.2f}")
    return rows


def _out_dir(block: Block, strategy: str, fitness: str, budget: int) -> Path:
    return OUT / block.task / block.tag / f"{strategy}-{fitness}-b{budget}-r{block.n_runs}"


def _read_existing(block: Block) -> list[dict]:
    """Summary rows of a computed block's earlier outputs; a missing one is listed as not run."""
    rows = []
    for fitness in block.fitness:
        for strategy, budget in block.plans:
            out = _out_dir(block, strategy, fitness, budget)
            if fitness == "random" and strategy != "best_of_n":
                continue
            if (out / "summary.csv").exists():
                rows.append({**pd.read_csv(out / "summary.csv").iloc[0].to_dict(), "where": block.tag,
                             "out_dir": str(out)})
            elif block.computed:
                NOT_RUN.append(f"{block.task} {strategy} fitness={fitness} budget={budget} n_runs={block.n_runs}")
    return rows


NOT_RUN: list[str] = []
SKIPPED: list[str] = []


def plot_task(task: str, where: str, rows: pd.DataFrame) -> Path | None:
    """One figure per task and place: the mean incumbent curve of each (strategy, fitness, budget)."""
    curves, best = {}, None
    rows = rows.sort_values("budget").drop_duplicates(["strategy", "fitness"], keep="last")  # N=10 is N=100's start
    for _, r in rows.iterrows():
        if r["fitness"] == "random":
            continue  # a random pick's incumbent is one random arch: noise around the space's mean (in the table)
        runs = pd.read_csv(next(Path(r["out_dir"]).glob("runs.csv*")))
        label = f"{r['strategy']} / {r['fitness']} (N={r['budget']})"
        curves[label] = mean_curve(runs)
        best = r["best_possible"]
    if not curves:
        return None
    path = OUT / f"{task}_{where}.png"
    plot_curves(curves, path, f"{task}, {'whole space' if where == 'space' else 'scored pool'}", best,
                baselines=[k for k in curves if "/ oracle" in k])
    return path


TAIL_TASK = "nb201_cifar10"
TAIL_PROXIES = ("nwot", "synflow")  # the fitness whose evolution loses to best-of-N, and one where it wins


def tail_evidence(task: str = TAIL_TASK, proxies: tuple[str, ...] = TAIL_PROXIES) -> pd.DataFrame | None:
    """Accuracy among each proxy's highest-scoring cells: in the task's uniform cache sample and among the
    cells its whole-space searches scored (proxy_tail.py). Written to results/search/proxy_tail_<task>.csv;
    None when the task has no score cache."""
    from ..proxies import PROXIES

    cache = Path("results/cache") / task / "scores.h5"
    if not cache.exists():
        return None
    scores = load_scores(cache)
    frames = []
    for proxy in proxies:
        frames.append(sample_tail(scores, proxy, PROXIES.get(proxy).version))
        runs = sorted((OUT / task / "space").glob(f"*-{proxy}-*/runs.csv*"))
        if runs:
            frames.append(visited_tail(runs, proxy))
    tail = pd.concat(frames, ignore_index=True).assign(task=task)
    tail.to_csv(OUT / f"proxy_tail_{task}.csv", index=False)
    return tail


def write_search_report(out: str | Path = "results/search.md", skip_computed: bool = False,
                        report_only: bool = False) -> Path:
    """Run the grid's searches (or, report_only, read their earlier outputs) and write the report `out`
    with results/search/summary.csv; skip_computed reads the searches that score networks instead."""
    skipped_file = OUT / "skipped.txt"
    if report_only:
        rows = [row for block in GRID for row in _read_existing(block)]
        SKIPPED.extend(skipped_file.read_text().splitlines() if skipped_file.exists() else [])
    else:
        rows = [row for block in GRID for row in run_block(block, skip_computed)]
        skipped_file.write_text("".join(f"{x}\n" for x in SKIPPED))
    table = pd.DataFrame(rows)
    table.to_csv(OUT / "summary.csv", index=False)
    from .markdown import write_report
    plots = {}
    for (task, where), g in table.groupby(["task", "where"], sort=False):
        path = plot_task(task, where, g)
        if path is not None:
            plots[(task, where)] = path
    write_report(table, plots, Path(out), NOT_RUN, SKIPPED, tail_evidence())
    return Path(out)
