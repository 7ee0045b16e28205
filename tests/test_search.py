"""zcbench.search: each strategy on tiny cases with a known answer, the cache contract, bad input."""
from __future__ import annotations

import itertools
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from zcbench.ensembles import rank_sum
from zcbench.errors import ZcbenchError
from zcbench.search import STRATEGIES, BudgetSpent, SearchRun
from zcbench.search.domain import Domain
from zcbench.search.fitness import Fitness
from zcbench.search.pruning import cell_coding
from zcbench.spaces import get_space
from zcbench.spaces.nb201 import all_archs, from_naslib_tuple

REPO = Path(__file__).resolve().parents[1]

NB201 = get_space("nb201")


def _separable_truth(seed: int = 0) -> pd.Series:
    """A toy NB201 landscape: accuracy = sum over edges of a per-(edge, op) value (optimum known)."""
    values = np.random.default_rng(seed).normal(size=(6, 5))
    archs = list(itertools.product(range(5), repeat=6))
    acc = [sum(values[e, o] for e, o in enumerate(ops)) for ops in archs]
    best = from_naslib_tuple(tuple(int(np.argmax(values[e])) for e in range(6)))
    return pd.Series(acc, index=[from_naslib_tuple(a) for a in archs]), best


def _search(strategy: str, truth: pd.Series, budget: int, seed: int, domain: Domain | None = None,
            **options) -> tuple[str, SearchRun]:
    fitness = Fitness("oracle", "oracle", truth=truth)
    rng = random.Random(seed)
    run = SearchRun(domain or Domain(NB201), fitness, None, budget, rng=rng)
    try:
        answer = STRATEGIES.get(strategy)(run, rng, **options)
    except BudgetSpent:
        answer = None
    return answer or run.best(), run


def test_best_of_n_with_an_oracle_finds_the_optimum_of_a_pool_it_covers():
    truth, _ = _separable_truth()
    pool = random.Random(1).sample(list(truth.index), 40)
    found, run = _search("best_of_n", truth, budget=40, seed=0, domain=Domain(NB201, pool))
    assert sorted(run.history) == sorted(pool)  # every pool member once, none twice
    assert found == truth[pool].idxmax()


def test_budget_counts_distinct_networks_and_stops_on_an_exhausted_pool():
    truth, _ = _separable_truth()
    pool = list(truth.index[:7])
    _, run = _search("best_of_n", truth, budget=50, seed=0, domain=Domain(NB201, pool))
    assert len(run.history) == len(set(run.history)) == 7


def test_evolution_beats_random_search_on_average():
    truth, _ = _separable_truth()
    evo = [truth[_search("evolution", truth, 60, s)[0]] for s in range(12)]
    rnd = [truth[_search("best_of_n", truth, 60, s)[0]] for s in range(12)]
    assert np.mean(evo) > np.mean(rnd)


def test_evolution_children_stay_in_the_pool_and_never_repeat():
    truth, _ = _separable_truth()
    pool = random.Random(2).sample(list(truth.index), 300)
    _, run = _search("evolution", truth, 80, 0, domain=Domain(NB201, pool))
    assert set(run.history) <= set(pool) and len(set(run.history)) == 80


def test_pruning_finds_the_optimum_of_a_separable_landscape():
    truth, best = _separable_truth(3)
    found, run = _search("pruning", truth, budget=100, seed=0)
    assert found == best
    assert len(run.history) <= 100


def test_pruning_rejects_a_space_without_edges():
    with pytest.raises(Exception, match="valid: nb201, tnb101_micro"):
        cell_coding("nb101")


def test_excluded_archs_are_never_visited():
    truth, best = _separable_truth()
    domain = Domain(NB201, None, frozenset([best]))
    for strategy in ("best_of_n", "evolution", "pruning"):
        found, run = _search(strategy, truth, 120, 0, domain=domain)
        assert best not in run.history and found != best


def test_ensemble_fitness_is_a_rank_within_the_history():
    class Stub:
        def table(self, archs, members):
            return pd.DataFrame({"a": [float(len(x)) for x in archs], "b": [float(len(x) % 2) for x in archs]},
                                index=archs)

    fit = Fitness("pair", "ensemble", ("a", "b"), rank_sum)
    one = fit.values(Stub(), ["xx", "x"])
    two = fit.values(Stub(), ["xx", "x", "xxx"])
    assert one.tolist() == [0.75, 0.75]  # a prefers xx, b prefers x
    assert two.tolist() == pytest.approx([(2 / 3 + 1 / 3) / 2, (1 / 3 + 5 / 6) / 2, (1 + 5 / 6) / 2])


def test_autoformer_pool_projection_returns_pool_members():
    space = get_space("autoformer_s")
    rng = random.Random(0)
    pool = sorted({space.sample(rng) for _ in range(30)})
    domain = Domain(space, pool)
    for _ in range(20):
        child = domain.mutate(rng.choice(pool), rng)
        assert child in pool
    assert all(space.canonical(domain.mutate(pool[0], rng, prob=0.2)) in pool for _ in range(5))


def test_search_through_the_cache_writes_its_tables_and_a_rerun_scores_nothing(tmp_path, real_data):
    from zcbench.search.config import compose
    from zcbench.search.driver import run_search

    pool = tmp_path / "pool.txt"
    pool.write_text("\n".join(all_archs()[:: 1000]) + "\n")  # 16 archs
    cfg_args = ["task=nb201_cifar10", "strategy=best_of_n", "fitness=params", "budget=16", "n_runs=2",
                f"pool={pool}", f"out_dir={tmp_path / 'out'}", f"data_root={real_data}", "reuse=[]"]
    cfg = compose(cfg_args)
    first = run_search(cfg)
    assert first.found["computed"].tolist() == [16, 0]  # the second run reads the first one's rows
    summary = pd.read_csv(tmp_path / "out" / "summary.csv")
    assert summary.loc[0, "n_runs"] == 2 and summary.loc[0, "budget"] == 16
    runs = pd.read_csv(tmp_path / "out" / "runs.csv")
    assert list(runs.columns[:6]) == ["run", "step", "arch", "fitness", "accuracy", "seconds"]
    largest = runs.loc[runs["fitness"].idxmax(), "accuracy"]  # params: the biggest cell wins
    assert summary.loc[0, "mean_accuracy"] == pytest.approx(largest)
    assert (tmp_path / "out" / "plot.png").stat().st_size > 0
    assert run_search(cfg).found["computed"].tolist() == [0, 0]  # a rerun resumes from the cache
    cached_only = compose([*cfg_args, "compute=false", "plot=false"])  # as zcbench-search-table runs it
    assert run_search(cached_only).summary["mean_accuracy"] == pytest.approx(largest)
    pool.write_text(all_archs()[1] + "\n")  # never scored
    with pytest.raises(ZcbenchError, match="compute=false"):
        run_search(compose([*cfg_args, "compute=false"]))


def test_rows_of_a_proxy_that_reads_no_batch_are_read_at_any_batch(tmp_path, real_data):
    """params scored at batch 16 (as the ViT runs score the data-free proxies) serves a search at
    batch 64 without computing; nwot, which reads the batch, does not match across batches."""
    from zcbench.harness import score_relevant_settings
    from zcbench.search.config import compose
    from zcbench.search.driver import run_search

    assert score_relevant_settings("input=c;batch=16x3x32x32;k=1", "none") == "input=c;batch=*;k=1"
    assert score_relevant_settings("input=c;batch=16x3x32x32;k=1", "shape") == "input=c;batch=*x3x32x32;k=1"
    assert score_relevant_settings("input=c;batch=16x3x32x32;k=1", "data") == "input=c;batch=16x3x32x32;k=1"
    pool = tmp_path / "pool.txt"
    pool.write_text("\n".join(all_archs()[:: 4000]) + "\n")  # 4 archs
    base = ["task=nb201_cifar10", "strategy=best_of_n", "budget=4", "n_runs=1", f"pool={pool}",
            f"data_root={real_data}", "plot=false"]
    first = tmp_path / "b16"
    run_search(compose([*base, "fitness=params", "batch_size=16", f"out_dir={first}", "reuse=[]"]))
    again = [*base, f"out_dir={tmp_path / 'b64'}", f"reuse=[{first / 'scores.h5'}]", "compute=false"]
    assert run_search(compose([*again, "fitness=params"])).found["computed"].tolist() == [0]
    with pytest.raises(ZcbenchError, match="compute=false"):
        run_search(compose([*again, "fitness=synflow"]))  # never scored


def test_a_search_scores_each_proxy_at_its_protocol_input(tmp_path, real_data):
    """TNB micro: nwot ranks at 64 px like at the paper's 256 px (results/protocol.md), so under the
    default protocol=cheap a search scores it there, in the rows `python -m zcbench` writes."""
    from zcbench.cache import load_scores
    from zcbench.search.config import compose
    from zcbench.search.driver import run_search

    space = get_space("tnb101_micro")
    pool = tmp_path / "pool.txt"
    pool.write_text("64-41414-3_01_103\n64-41414-3_11_311\n")
    assert all(space.canonical(a) == a for a in pool.read_text().split())
    run_search(compose(["task=tnb101_micro_class_object", "strategy=best_of_n", "fitness=nwot", "budget=2",
                        "n_runs=1", f"pool={pool}", f"data_root={real_data}", "plot=false", "reuse=[]",
                        f"out_dir={tmp_path / 'out'}"]))
    rows = load_scores(tmp_path / "out" / "scores.h5")
    assert set(rows["proxy"]) == {"nwot"} and len(rows) == 2
    assert rows["settings"].str.contains("batch=32x3x64x64;").all()


@pytest.mark.parametrize("arg, named", [("strategy=annealing", "unknown strategy 'annealing'"),
                                        ("fitness=nwotx", "unknown fitness 'nwotx'"),
                                        ("protocol=fast", "protocol='fast' is not valid"),
                                        ("budget=0", "budget=0 is not valid")])
def test_bad_names_give_one_line_and_a_non_zero_exit(arg, named, real_data, tmp_path):
    proc = subprocess.run([sys.executable, "-m", "zcbench.search", arg, f"out_dir={tmp_path}"],
                          capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 2
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and named in lines[0] and ("valid" in lines[0] or "must be" in lines[0])


@pytest.mark.parametrize("name", ["nb201", "tnb101_micro", "tnb101_macro", "autoformer_t", "autoformer_s"])
def test_mutations_give_a_different_valid_arch(name):
    space, rng = get_space(name), random.Random(0)
    arch = space.sample(rng)
    for _ in range(50):
        child = space.mutate(arch, rng)
        assert child != arch and space.canonical(child) == child
        arch = child


def test_a_space_without_mutation_says_so():
    with pytest.raises(Exception, match="no mutation operator"):
        get_space("nb101").mutate("x", random.Random(0))


def test_published_values_each_have_a_value_a_metric_and_a_source():
    from zcbench.search.published import METRICS, load_published

    published = load_published()
    assert published["entries"] and published["missing"]
    for e in published["entries"]:
        float(e["value"])
        assert e["metric"] in METRICS and e["task"].startswith("nb201_")
        source = published["sources"][e["source"]]
        assert source["cite"].strip() and source["where"].strip()
    optimum = {e["task"]: float(e["value"]) for e in published["entries"]
               if e["method"].startswith("optimum") and e["metric"] == "validation"}
    assert all(float(e["value"]) <= optimum[e["task"]] for e in published["entries"] if e["metric"] == "validation")


def test_a_published_entry_without_a_source_is_an_error(tmp_path):
    from zcbench.search.published import load_published

    bad = tmp_path / "published.yaml"
    bad.write_text("sources: {a: {cite: x, where: y}}\n"
                   "entries: [{method: m, task: nb201_cifar10, metric: validation, value: '90.1', source: b}]\n")
    with pytest.raises(ZcbenchError, match="source='b'; valid: a"):
        load_published(bad)
    bad.write_text(bad.read_text().replace("metric: validation", "metric: valid").replace("source: b", "source: a"))
    with pytest.raises(ZcbenchError, match="metric='valid'; valid: validation, test"):
        load_published(bad)


def test_proxy_tail_groups_the_highest_scoring_cells():
    from zcbench.search.proxy_tail import nb201_ops, top_groups

    conv1, conv3 = "|nor_conv_1x1~0|+|nor_conv_1x1~0|nor_conv_1x1~1|+|nor_conv_1x1~0|nor_conv_1x1~1|nor_conv_1x1~2|", \
        "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
    other = all_archs()[:2]
    frame = pd.DataFrame({"arch": [conv1, conv3, *other], "score": [4.0, 3.0, 2.0, 1.0], "accuracy": [86, 91, 80, 70]})
    groups = top_groups(frame, [1, 2, 4], ["a", "b", "c"]).set_index("top")
    assert groups.loc["a", "top_arch"] == conv1 and groups.loc["a", "nor_conv_1x1"] == 1.0
    assert groups.loc["b", "mean_accuracy"] == 88.5 and groups.loc["b", "nor_conv_3x3"] == 0.5
    assert groups.loc["c", "spearman"] == pytest.approx(0.8) and groups.loc["b", "min_score"] == 3.0
    with pytest.raises(ValueError, match="not an NB201 cell"):
        nb201_ops("embed_dim=192;depth=12")


def test_compose_works_inside_a_running_hydra_app():
    """zcbench-search-table composes search configs while its own Hydra app is initialised."""
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from zcbench.search.config import SEARCH_CONF, compose

    with initialize_config_dir(config_dir=str(SEARCH_CONF.parent), version_base=None):
        assert compose(["task=nb201_cifar100"]).task.name == "nb201_cifar100"
        assert GlobalHydra.instance().is_initialized()  # the app's state is back
