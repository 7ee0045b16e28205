"""Tables of results/vit/: Spearman and Kendall of each proxy on each ViT task, with bootstrap intervals.

    ZCBENCH_DATA=/path/to/data python results/vit/make_tables.py

Reads the score caches that results/vit/score_vit.sh writes under results/vit/scores/,
joins each task's ground truth, and writes results/vit/correlations.csv and
results/vit/README.md. The *_base columns of Auto-Prox are scored on the
networks of the matching *_kd run: the network, the image batch and the head
are the same, only the ground truth differs, so the scores are the ones a
run of the *_base task would compute. The mini benchmark's rows come from
results/vit/scores/autoformer_t_cifar10_mini (see results/benchmarks/). Where a proxy was scored
under several settings (a changed option), the settings covering the most archs are used, and
every proxy of a task is evaluated on the archs all of them scored.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

import zcbench
from zcbench.analysis.stats import bootstrap_interval
from zcbench.benchmarks.tasks import ground_truth, load_task
from zcbench.ensembles.table import current_rows, widest_settings
from zcbench.spaces import get_space
from zcbench.spaces.autoformer_net import ViTOptions, param_count

REPO = Path(__file__).resolve().parents[2]
RUNS = REPO / "results" / "vit" / "scores"
OUT = REPO / "results" / "vit"
N_BOOT = 1000
#: task -> the run whose scores it is evaluated on
SOURCES = {
    "autoprox_cifar100_kd": "autoprox_cifar100_kd", "autoprox_cifar100_base": "autoprox_cifar100_kd",
    "autoprox_flowers_kd": "autoprox_flowers_kd", "autoprox_flowers_base": "autoprox_flowers_kd",
    "autoprox_chaoyang_kd": "autoprox_chaoyang_kd", "autoprox_chaoyang_base": "autoprox_chaoyang_kd",
    "autoprox_imagenet_supernet": "autoprox_imagenet_supernet",
    "ood_autoformer_t_imagenet": "ood_autoformer_t_imagenet",
    "ood_autoformer_s_imagenet": "ood_autoformer_s_imagenet",
    "ood_autoformer_b_imagenet": "ood_autoformer_b_imagenet",
    "autoformer_t_cifar10_mini": "autoformer_t_cifar10_mini",
}


def rows_for(task: str, run: str, data_root: str) -> list[dict]:
    path = RUNS / run
    if not (path / "scores.h5").exists():
        print(f"[make_tables] {task}: no scores in {path}, skipped")
        return []
    scores = current_rows(zcbench.load_scores(path))
    scores = scores[scores["task"] == run]
    scores = scores[scores["settings"] == scores["proxy"].map(widest_settings(scores))]
    # every proxy of a task on the same archs: those all of them scored (an older sample may add a few)
    shared = set.intersection(*(set(g["arch"]) for _, g in scores.groupby("proxy")))
    scores = scores[scores["arch"].isin(shared)]
    truth = ground_truth(load_task(task), data_root).set_index("arch")["accuracy"]
    out = []
    for proxy, group in scores.groupby("proxy"):
        ok = group[(group["error"] == "") & group["arch"].isin(truth.index)]
        n_failed = int(((group["error"] != "") & group["arch"].isin(truth.index)).sum())
        s, a = ok["score"].to_numpy(float), truth.loc[ok["arch"]].to_numpy(float)
        rho = stats.spearmanr(s, a).statistic if len(ok) > 2 else np.nan
        tau = stats.kendalltau(s, a).statistic if len(ok) > 2 else np.nan
        lo, hi = bootstrap_interval(s, a, "spearman", n_boot=N_BOOT, seed=0)
        settings = group["settings"].iloc[0]
        out.append({"task": task, "proxy": proxy, "n": len(ok), "n_failed": n_failed, "spearman": rho,
                    "spearman_ci_lo": lo, "spearman_ci_hi": hi, "kendall": tau,
                    "accuracy_range": f"{a.min():.2f}-{a.max():.2f}" if len(a) else "",
                    "mean_seconds": float(ok["seconds"].mean()) if len(ok) else np.nan,
                    "scored_in_run": run, "settings": settings})
    return out


def params_on_every_arch(task: str, data_root: str) -> dict:
    """The params proxy on every arch with ground truth, counted without building the networks.

    param_count equals the built network's parameter count (tests/test_space_autoformer.py), which
    is what the params proxy returns, so this row covers all archs at no cost.
    """
    t = load_task(task)
    truth = ground_truth(t, data_root)
    space, opts = get_space(t.space), ViTOptions(**t.space_options)
    s = np.array([param_count(space.subnet(a), t.num_classes, opts) for a in truth["arch"]], dtype=float)
    a = truth["accuracy"].to_numpy(float)
    lo, hi = bootstrap_interval(s, a, "spearman", n_boot=N_BOOT, seed=0)
    return {"task": task, "proxy": "params (every arch)", "n": len(a), "n_failed": 0,
            "spearman": stats.spearmanr(s, a).statistic, "spearman_ci_lo": lo, "spearman_ci_hi": hi,
            "kendall": stats.kendalltau(s, a).statistic, "accuracy_range": f"{a.min():.2f}-{a.max():.2f}",
            "mean_seconds": 0.0, "scored_in_run": "(analytic count)", "settings": "input=none;batch=none"}


def markdown(table: pd.DataFrame) -> str:
    lines = []
    for task, group in table.groupby("task", sort=False):
        first = group.iloc[0] if len(group) == 1 else group[group["scored_in_run"] != "(analytic count)"].iloc[0]
        lines += [f"### {task}", "",
                  f"{first['n']} archs scored (accuracy {first['accuracy_range']}); scores from run "
                  f"`results/vit/scores/{first['scored_in_run']}`; each proxy's input (batch x channels x pixels) "
                  f"in the last column (results/protocol.md says which cheaper inputs rank like the paper's).", "",
                  "| proxy | n | failed | spearman | 95% CI | kendall | s/arch | input |",
                  "|---|---|---|---|---|---|---|---|"]
        for r in group.sort_values("spearman", ascending=False).itertuples():
            shape = next((part.split("=", 1)[1] for part in r.settings.split(";") if part.startswith("batch=")), "-")
            lines.append(f"| {r.proxy} | {r.n} | {r.n_failed} | {r.spearman:.3f} | "
                         f"[{r.spearman_ci_lo:.3f}, {r.spearman_ci_hi:.3f}] | {r.kendall:.3f} | {r.mean_seconds:.2f} "
                         f"| {shape} |")
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    data_root = os.environ.get("ZCBENCH_DATA")
    if not data_root:
        sys.exit("set ZCBENCH_DATA to the data folder")
    rows = []
    for task, run in SOURCES.items():
        rows += rows_for(task, run, data_root)
        if task.startswith(("autoprox_", "ood_")):
            rows.append(params_on_every_arch(task, data_root))
    table = pd.DataFrame(rows)
    OUT.mkdir(parents=True, exist_ok=True)
    table.to_csv(OUT / "correlations.csv", index=False, float_format="%.4f")
    (OUT / "tables.md").write_text(markdown(table))
    print(markdown(table))


if __name__ == "__main__":
    main()
