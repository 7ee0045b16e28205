"""results/search.md from the searches' summary rows (zcbench.search.table writes both)."""
from __future__ import annotations

from pathlib import Path
from typing import Mapping

import pandas as pd

from .published import load_published

TASKS = ["nb201_cifar10", "nb201_cifar100", "nb201_imagenet16_120"]


def _fmt(row: pd.Series) -> str:
    if pd.isna(row["std_accuracy"]):
        return f"{row['mean_accuracy']:.2f}"
    return f"{row['mean_accuracy']:.2f} +- {row['std_accuracy']:.2f}"


def _found_score(row: pd.Series) -> str:
    """Mean proxy score of the returned archs (a single proxy only: ensemble ranks are per run)."""
    members = row.get("members")
    if not isinstance(members, str) or "+" in members or members != row["fitness"]:
        return ""
    found = Path(row["out_dir"]) / "found.csv"
    return f"{pd.read_csv(found)['fitness'].mean():.4g}" if found.exists() else ""


def _table(rows: pd.DataFrame) -> list[str]:
    out = ["| strategy | fitness | networks scored (N) | runs | accuracy (mean +- std) | percentile | best possible | "
           "proxy s / run | proxy score found | members |", "|---|---|---|---|---|---|---|---|---|---|"]
    for _, r in rows.sort_values(["budget", "strategy", "fitness"]).iterrows():
        members = r.get("members", "")
        out.append(f"| {r['strategy']} | {r['fitness']} | {int(r['budget'])} | {int(r['n_runs'])} | {_fmt(r)} | "
                   f"{r['mean_percentile']:.1f} | {r['best_possible']:.2f} | {r['seconds']:.1f} | {_found_score(r)} | "
                   f"{'' if pd.isna(members) else members} |")
    return out


def _number(value: str | float) -> str:
    """A published number as its source prints it (published.yaml quotes them: 68.50 stays 68.50)."""
    return str(value)


def _optima(table: pd.DataFrame | None, published: dict | None = None) -> str:
    """C10 / C100 / IN16 optimum: of our files (best possible of the whole-space rows) or as published."""
    values = []
    for task in TASKS:
        if published is not None:
            hit = [e["value"] for e in published["entries"] if e["task"] == task and e["metric"] == "validation"
                   and e["method"].startswith("optimum")]
            values.append(_number(hit[0]) if hit else "?")
        else:
            rows = table[(table["where"] == "space") & (table["task"] == task)]
            values.append(f"{rows['best_possible'].max():.2f}" if len(rows) else "?")
    return " / ".join(values)


def _published_section(published: dict) -> list[str]:
    """The published values, one table per metric, each cell with its source; then what is missing."""
    keys = {key: chr(ord("a") + i) for i, key in enumerate(published["sources"])}
    lines = ["## Published NB201 search results", "",
             "Validation accuracy is our metric; test accuracy (the only split some sources give) is listed "
             "apart and compares only with the test optimum. Every value is in zcbench/search/published.yaml "
             "with the source it was read in.", ""]
    entries = pd.DataFrame(published["entries"])
    for metric, title in (("validation", "validation accuracy (cifar10-valid for C10)"), ("test", "test accuracy")):
        rows = entries[entries["metric"] == metric]
        if not len(rows):
            continue
        lines += [f"**{title}**", "", "| method | C10 | C100 | IN16 | source |", "|---|---|---|---|---|"]
        for method, group in rows.groupby("method", sort=False):
            cells = []
            for task in TASKS:
                hit = group[group["task"] == task]
                if not len(hit):
                    cells.append("")
                    continue
                e = hit.iloc[0]
                std = e.get("std")
                cells.append(_number(e["value"]) + ("" if std is None or pd.isna(std) else f" +- {_number(std)}")
                             + (" *" if isinstance(e.get("note"), str) else ""))
            lines.append(f"| {method} | " + " | ".join(cells) + f" | {', '.join(sorted({keys[s] for s in group['source']}))} |")
        lines.append("")
    notes = sorted({e["note"] for e in published["entries"] if isinstance(e.get("note"), str)})
    if notes:
        lines += [f"\\* {'; '.join(notes)}.", ""]
    lines += [f"- ({keys[k]}) {s['cite'].strip()}; {s['where'].strip()}." for k, s in published["sources"].items()]
    if published["missing"]:
        lines += ["", "Not listed (looked for, not readable in any source we could search):", "",
                  *[f"- {m.strip()}" for m in published["missing"]]]
    return lines + [""]


def _strategy_row(table: pd.DataFrame, task: str, strategy: str, fitness: str) -> pd.Series | None:
    rows = table[(table["where"] == "space") & (table["task"] == task) & (table["strategy"] == strategy)
                 & (table["fitness"] == fitness)]
    return rows.sort_values("budget").iloc[-1] if len(rows) else None


def _vs(a: pd.Series, b: pd.Series) -> str:
    return (f"{a['mean_accuracy']:.2f} +- {a['std_accuracy']:.2f} at N={int(a['budget'])} vs {b['mean_accuracy']:.2f} "
            f"+- {b['std_accuracy']:.2f} at N={int(b['budget'])}, {int(a['n_runs'])} and {int(b['n_runs'])} runs")


def _tail_section(tail: pd.DataFrame, table: pd.DataFrame) -> list[str]:
    """Accuracy among nwot's and synflow's highest-scoring cells, and what it says about the strategies."""
    task = tail["task"].iloc[0]
    lines = [f"## Why evolution loses with nwot and wins with synflow ({task})", "",
             "From stored scores only (zcbench/search/proxy_tail.py; rows in "
             f"results/search/proxy_tail_{task}.csv): the uniform sample is the {task} score cache, the "
             "visited cells are every distinct cell the whole-space searches with that fitness scored (their "
             "runs.csv). Operation columns: share of the cells' edges.", "",
             "| proxy | cells | top | n | lowest score | accuracy (mean +- std) | Spearman inside | conv1x1 | conv3x3 "
             "| skip | none | avg pool |", "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for _, r in tail.iterrows():
        rho = "" if pd.isna(r["spearman"]) else f"{r['spearman']:.2f}"
        std = "" if pd.isna(r["std_accuracy"]) else f" +- {r['std_accuracy']:.2f}"
        lines.append(f"| {r['proxy']} | {r['view']} | {r['top']} | {int(r['n'])} | {r['min_score']:.4g} | "
                     f"{r['mean_accuracy']:.2f}{std} | {rho} | {r['nor_conv_1x1']:.0%} | {r['nor_conv_3x3']:.0%} | "
                     f"{r['skip_connect']:.0%} | {r['none']:.0%} | {r['avg_pool_3x3']:.0%} |")
    lines.append("")

    def pick(proxy: str, sample: bool, top: str) -> pd.Series | None:
        rows = tail[(tail["proxy"] == proxy) & (tail["view"].str.startswith("uniform") == sample) & (tail["top"] == top)]
        return rows.iloc[0] if len(rows) else None

    shares = [pick("nwot", True, t) for t in ("1%", "2%", "5%", "10%", "100%")]
    if all(s is not None for s in shares):
        best = max(shares[:4], key=lambda s: s["mean_accuracy"])
        lines.append(
            f"In the uniform sample, the top 1 / 2 / 5 / 10 % by nwot average "
            f"{' / '.join(format(s['mean_accuracy'], '.2f') for s in shares[:4])} accuracy (all {int(shares[4]['n'])} "
            f"archs: {shares[4]['mean_accuracy']:.2f}); the best of these groups is the top {best['top']}, and "
            f"inside the top 10 % nwot and accuracy correlate at Spearman {shares[3]['spearman']:.2f} "
            f"(over all archs: {shares[4]['spearman']:.2f}). The top 1 % has {shares[0]['nor_conv_1x1']:.0%} "
            f"1x1-convolution edges, against {shares[4]['nor_conv_1x1']:.0%} in the whole sample.")
    top_n, wide_n = pick("nwot", False, "top 5"), pick("nwot", False, "top 50")
    first_n = pick("nwot", False, "top 1")
    top_s, wide_s = pick("synflow", False, "top 5"), pick("synflow", False, "top 50")
    if top_n is not None and wide_n is not None and first_n is not None:
        lines.append(
            f"The searches reach higher nwot than the sample does: the 5 highest-nwot cells they scored "
            f"(nwot >= {top_n['min_score']:.1f}) average {top_n['mean_accuracy']:.2f}, against "
            f"{wide_n['mean_accuracy']:.2f} for the top 50, with {top_n['nor_conv_1x1']:.0%} 1x1-convolution "
            f"edges; the highest of all, {first_n['top_arch']} (nwot {first_n['min_score']:.1f}), has "
            f"{first_n['mean_accuracy']:.2f}.")
    if top_s is not None and wide_s is not None:
        lines.append(
            f"For synflow the 5 highest visited cells average {top_s['mean_accuracy']:.2f} (top 50: "
            f"{wide_s['mean_accuracy']:.2f}), with {top_s['nor_conv_3x3']:.0%} 3x3-convolution edges.")
    strategies = {(s, f): _strategy_row(table, task, s, f) for s in ("best_of_n", "evolution") for f in ("nwot", "synflow")}
    if all(x is not None for x in (top_n, wide_n, top_s, wide_s, *strategies.values())):
        bn, en = strategies[("best_of_n", "nwot")], strategies[("evolution", "nwot")]
        bs, es = strategies[("best_of_n", "synflow")], strategies[("evolution", "synflow")]
        nwot_turns = top_n["mean_accuracy"] < wide_n["mean_accuracy"]
        synflow_holds = top_s["mean_accuracy"] >= wide_s["mean_accuracy"]
        found = f"(mean nwot found {_found_score(en)} vs {_found_score(bn)})"
        if nwot_turns and synflow_holds:
            lines.append(
                f"So nwot's optimum is not the accuracy optimum: past its top few percent, a higher nwot selects "
                f"cells dominated by 1x1 convolutions that are less accurate. Evolution maximises nwot harder than "
                f"best-of-N {found} and so returns worse cells ({_vs(en, bn)}); synflow's highest scores are among "
                f"its most accurate cells, so there the harder maximisation pays ({_vs(es, bs)}).")
        else:
            lines.append(
                f"These numbers do not show nwot's highest scores selecting worse cells than synflow's; the gap "
                f"between evolution and best-of-N with nwot ({_vs(en, bn)}, {found}) is not explained by them.")
    return lines + [""]


def write_report(table: pd.DataFrame, plots: Mapping[tuple[str, str], Path], out: Path,
                 not_run: list[str] = (), skipped: list[str] = (), tail: pd.DataFrame | None = None) -> None:
    """Write results/search.md (`not_run`: searches of the grid that have no output yet; `tail`: the
    proxy_tail rows behind the section on why a harder-maximised proxy can lose)."""
    published = load_published()
    lines = [
        "# Proxy-guided search, evaluated by lookup",
        "",
        "Generated by `make search` (`zcbench-search-table`); every search is a "
        "`python -m zcbench.search` run whose outputs (runs.csv, found.csv, summary.csv, plot.png) are in "
        "results/search/<task>/<space|pool>/<strategy>-<fitness>-b<N>-r<runs>/, all rows in results/search/summary.csv.",
        "",
        "**Metric.** zcbench's NB201 ground truth is NASLib's `val_accuracy` of NAS-Bench-201: the final-epoch "
        "(200-epoch schedule) validation accuracy, on the cifar10-valid split for CIFAR-10 (zcbench/conf/task/nb201_*.yaml). "
        "The published table below gives validation accuracy where its source does and labels test accuracy as "
        f"test. The best cell of our files scores {_optima(table)} on C10 / C100 / IN16, the published optimum is "
        f"{_optima(None, published)} (NB201's files average seeds differently), so compare distances to each "
        "source's own optimum, not the last decimal.",
        "",
        "**Reading the tables.** accuracy = ground truth of the arch each run returns (mean +- std over runs); "
        "percentile = share of the searched archs whose accuracy is at most the found one's (100 = the best); "
        "best possible = the best accuracy among the archs the search could visit; proxy s / run = the proxy time "
        "of the networks one run scored (measured when each was first computed, cached after; the whole-space rows ran "
        "on a 2-core machine shared with other jobs, so their seconds are inflated several times); proxy score found "
        "= mean fitness-proxy score of the returned archs (whether a strategy optimised the proxy harder). "
        "`random` picks at "
        "random (no network built; left out of the figures, where it is noise around the space's mean); `oracle` looks the accuracy up, i.e. random search / evolution that trains "
        "every network (NB201's RS and REA at equal N).",
        "",
    ]
    space = table[table["where"] == "space"]
    if len(space):
        lines += ["## NB201, whole space (15,625 cells; networks scored as the search goes)", ""]
        for task in TASKS:
            rows = space[space["task"] == task]
            if len(rows):
                lines += [f"### {task}", "", *_table(rows), ""]
                if (task, "space") in plots:
                    lines += [f"![{task} whole space]({plots[(task, 'space')].relative_to(out.parent)})", ""]
    if not_run:
        lines += ["Not run yet (they score networks; `make search` runs them, resuming from the cache):", "",
                  *[f"- {x}" for x in not_run], ""]
    if tail is not None and len(tail):
        lines += _tail_section(tail, table)
    lines += _published_section(published)
    pool = table[table["where"] == "pool"]
    if len(pool):
        lines += ["## Inside the scored pools (every cached proxy and ensemble is free)", "",
                  "The pool is the evaluation half (ensembles.split_archs) of the archs of the task's leaderboard "
                  "table (every kept proxy scored them, at inputs the protocol validated; the heading gives the "
                  "count); LIBRA chose its members on the other half. Best-of-N and evolution see the same archs; evolution's mutations are projected onto "
                  "the pool (nearest member by Hamming distance over the choice vector). NB101 and NB301 have no "
                  "choice vector here, so only best-of-N runs there.", ""]
        for task in pool["task"].unique():
            rows = pool[pool["task"] == task]
            lines += [f"### {task} (pool of {rows['pool'].iloc[0]} archs)", "", *_table(rows), ""]
            libra = rows[rows["fitness"] == "libra"]
            if len(libra):
                r = libra.iloc[0]
                lines += [f"LIBRA's members {r['members']} were chosen on {int(r['tuning_archs'])} tuning archs "
                          f"whose scoring took {r['tuning_seconds']:.0f} s of proxy time (every proxy on each), "
                          "counted once per task, not per run."
                          + (f" Candidates without current cached scores (left out of the choice): "
                             f"{r['tuning_not_cached'].replace('+', ', ')}." if isinstance(r.get('tuning_not_cached'), str)
                             and r['tuning_not_cached'] else ""), ""]
            if (task, "pool") in plots:
                lines += [f"![{task} pool]({plots[(task, 'pool')].relative_to(out.parent)})", ""]
    if skipped:
        lines += ["Left out of the pool tables (their scores are not in the committed caches as the code computes "
                  "them now; rescoring them is a cache job, not a search):", "", *[f"- {x}" for x in skipped], ""]
    lines += ["## How the searches work (choices that change numbers)", "",
              "- Budget = distinct networks scored per run; a network another run (or `python -m zcbench`) scored "
              "is read from the score cache, costs no time now, and still counts against the run's budget.",
              "- Ensemble fitness: ensembles rank a population, so an arch's fitness is its ensemble score "
              "(AZ-NAS: sum of log ranks; TE-NAS, LIBRA: mean normalised rank) within the archs the run has "
              "scored so far, recomputed as the history grows; evolution's tournaments and the returned arch use it.",
              "- LIBRA chooses z1, z2, z3 (docs/method.md#libra-nas) on a tuning sample with ground truth; the search never visits "
              "those archs. In the pools it is the other half of the cached archs; in the whole space, the tuning "
              "half of the harness's 1,000-arch seed-0 sample (`tune_archs`, `tune_file`).",
              "- Inputs: each proxy is scored at the input `python -m zcbench` uses for it (protocol=cheap: its "
              "validated cheaper input, results/protocol.md), so searches and the campaign share rows; params, flops "
              "and synflow, which read no batch or one input's size only, match rows of any batch count.",
              "- Evolution: regularized evolution (population 10, tournament 3, one edge/op changed per mutation, "
              "as NB201's REA). In a pool, a mutated child outside the pool is replaced by the nearest pool member "
              "(Hamming distance over the choice vector, ties at random; the parent excluded).",
              "- Pruning: TE-NAS prunes a supernet; a supernet has no ground truth or cache key, so here each "
              "(edge, op) is ranked by the fitness of archs of the current sub-space that differ only on that "
              "edge (shared random draws of the other edges), and each round drops every edge's lowest op. "
              "Exact on a fitness that is a sum over edges (tested); NB201's accuracy is not additive over edges, "
              "so even with the oracle it trails evolution (tables above).",
              "- random: a fixed pseudo-random score per arch (picking at random); oracle: the accuracy itself.", ""]
    demo = Path("results/search/autoformer_demo.log")
    if demo.exists():
        lines += ["## AutoFormer-S, whole space, no ground truth (the LIBRA-NAS workflow, CPU demo)", "",
                  "AutoFormer's evolution (zcbench/conf/search/strategy/evolution_autoformer.yaml) cut to 4 networks, nwot as "
                  "fitness, params <= 23 M, 32 px inputs with patch 4 (one ViT-S at 224 px costs 20-60 s here); "
                  "CIFAR-10 images stand in for ImageNet. `make search` reruns it.", "",
                  "```", *[ln for ln in demo.read_text().splitlines()
                           if ln.startswith("[zcbench.search]") or ln.startswith("    params")], "```", ""]
    out.write_text("\n".join(lines) + "\n")
