"""The NB201 per-proxy validation table (analysis.proxy_validation) on constructed caches of real archs."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from zcbench.analysis.proxy_validation import markdown, reference_for, validation_table
from zcbench.analysis.reference import published_spearman, suite_zero_archs, suite_zero_spearman
from zcbench.tasks import read_ground_truth
from zcbench.tasks.task import ground_truth, load_task
from zcbench.cache import ScoreCache
from zcbench.harness import sample_archs
from zcbench.proxies import PROXIES

TASK = "nb201_cifar10"


def _write(path, task, archs, scores_by_proxy, seed=0, truth=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    cache = ScoreCache(path)
    rows = []
    for proxy, scores in scores_by_proxy.items():
        for arch, s in zip(archs, scores):
            rows.append({"task": task, "proxy": proxy, "arch": arch, "seed": seed, "settings": "input=cifar10",
                         "score": float(s), "seconds": 0.1, "error": "" if np.isfinite(s) else "NaN score",
                         "proxy_version": PROXIES.get(proxy).version})
    cache.add(rows)
    if truth is not None:
        cache.set_truth(truth.assign(task=task))
    cache.checkpoint()


def test_table_matches_scipy_and_the_references(tmp_path, real_data):
    truth = ground_truth(load_task(TASK), real_data)
    archs = sample_archs(truth["arch"], 40, 0)
    acc = truth.set_index("arch").loc[archs, "accuracy"].to_numpy()
    rng = np.random.default_rng(0)
    params = acc + rng.normal(0, 2, size=40)
    nwot = acc + rng.normal(0, 5, size=40)
    nwot[3] = np.nan  # a failure: ranked last
    lswag_lambda = rng.normal(size=40)
    # rows outside the seed-0 sample of 30 must be ignored
    _write(tmp_path / "cache" / TASK / "scores.h5", TASK, archs, {"params": params, "nwot": nwot, "lswag_lambda": lswag_lambda},
           truth=truth[truth["arch"].isin(archs)][["arch", "accuracy"]])
    stale = ScoreCache(tmp_path / "cache" / TASK / "scores.h5")  # older proxy code: must be ignored
    stale.add({"task": TASK, "proxy": "params", "arch": a, "seed": 0, "settings": "old", "score": 0.0,
               "seconds": 0.1, "error": "", "proxy_version": "0-old"} for a in archs)
    stale.checkpoint()
    table = validation_table(tmp_path / "cache", real_data, [TASK], n_archs=30, seed=0, n_boot=50)
    table = table.set_index("proxy")
    assert set(table.index) == {"params", "nwot", "lswag_lambda"} and (table["n_archs"] == 30).all()
    expected = stats.spearmanr(params[:30], acc[:30]).statistic
    assert table.loc["params", "spearman"] == pytest.approx(expected)
    assert table.loc["params", "ci_low"] <= expected <= table.loc["params", "ci_high"]
    filled = np.where(np.isnan(nwot[:30]), -np.inf, nwot[:30])
    assert table.loc["nwot", "n_failed"] == 1
    assert table.loc["nwot", "spearman"] == pytest.approx(stats.spearmanr(filled, acc[:30]).statistic)
    # references: NASLib's runs for params, Suite-Zero's stored scores for nwot (no runs), nothing for lswag_lambda
    assert table.loc["params", "reference"] == pytest.approx(published_spearman(real_data, TASK, "params")[0])
    assert table.loc["nwot", "reference"] == pytest.approx(suite_zero_spearman(real_data, TASK, "nwot")[0])
    assert np.isnan(table.loc["lswag_lambda", "reference"]) and table.loc["lswag_lambda", "within_0.05"] is None
    assert table.loc["params", "difference"] == pytest.approx(
        table.loc["params", "spearman"] - table.loc["params", "reference"])
    text = markdown(table.reset_index())
    assert "## nb201_cifar10" in text and "NASLib correlation runs" in text and "pairs that have a published value" in text


def test_paper_value_is_the_last_resort(real_data):
    single = {"swap_reg": {"nb201_cifar100": 0.9},
              "zico": {"nb201_cifar10": {"kendall": 0.589, "source": "AZ-NAS rerun"}}}
    assert reference_for(real_data, "nb201_cifar100", "swap_reg", single) == (
        0.9, "its paper (paper_values.yaml)", "spearman")
    assert reference_for(real_data, "nb201_cifar10", "swap_reg", single)[1] == "-"
    assert reference_for(real_data, "nb201_cifar10", "zico", single) == (0.589, "AZ-NAS rerun", "kendall")


def test_every_published_value_names_its_metric_and_source():
    from zcbench.analysis.paper_tables import paper_values
    from zcbench.analysis.proxy_validation import paper_entry
    from zcbench.ensembles import ENSEMBLES

    single = paper_values()["single_proxies"]["methods"]
    for method, tasks in single.items():
        assert method in PROXIES.names() or method in ENSEMBLES.names(), method
        for task in tasks:
            value, metric, source = paper_entry(single, method, task)
            assert -1 <= value <= 1 and metric in ("spearman", "kendall") and source


def test_fixed_ensembles_kendall_references_and_held_out_archs(tmp_path, real_data, monkeypatch):
    """az_nas/te_nas rows fuse their members as the leaderboard does; a Kendall reference is compared with
    our Kendall; archs a proxy's option was chosen on leave that proxy's row and its ensembles'."""
    import zcbench.analysis.proxy_validation as pv
    from zcbench.ensembles import log_rank_sum, rank_sum

    truth = ground_truth(load_task(TASK), real_data)
    archs = sample_archs(truth["arch"], 40, 0)
    acc = truth.set_index("arch").loc[archs, "accuracy"].to_numpy()
    rng = np.random.default_rng(1)
    members = ("az_expressivity", "az_progressivity", "az_trainability", "az_complexity", "ntk", "linear_regions")
    scores = {m: acc + rng.normal(0, 3 + k, size=40) for k, m in enumerate(members)}
    _write(tmp_path / "cache" / TASK / "scores.h5", TASK, archs, scores,
           truth=truth[truth["arch"].isin(archs)][["arch", "accuracy"]])
    fitted = frozenset(archs[:5])
    monkeypatch.setattr(pv, "held_out", lambda task, settings: {"ntk": (fitted, "a window")})
    monkeypatch.setattr(pv, "paper_values", lambda: {
        "single_proxies": {"methods": {"az_trainability": {TASK: {"kendall": 0.1, "source": "AZ-NAS"}}}},
        "validation_notes": {"az_trainability": {TASK: "because of a constructed case"}}})
    table = validation_table(tmp_path / "cache", real_data, [TASK], n_archs=40, n_boot=0).set_index("proxy")
    frame = pd.DataFrame(scores, index=archs)
    az = log_rank_sum(frame[list(members[:4])])
    assert table.loc["az_nas", "spearman"] == pytest.approx(stats.spearmanr(az, acc).statistic)
    assert table.loc["az_nas", "kind"] == "ensemble" and table.loc["az_nas", "n_archs"] == 40
    keep = [a not in fitted for a in archs]
    te = rank_sum(frame.loc[keep, ["ntk", "linear_regions"]])
    assert table.loc["te_nas", "spearman"] == pytest.approx(stats.spearmanr(te, acc[keep]).statistic)
    assert table.loc["ntk", "n_archs"] == 35 and table.loc["te_nas", "n_archs"] == 35
    assert table.loc["ntk", "left_out"].startswith("5 archs left out") and table.loc["az_nas", "left_out"] == ""
    row = table.loc["az_trainability"]
    assert row["reference_metric"] == "kendall"
    assert row["difference"] == pytest.approx(row["kendall"] - 0.1)
    assert row["kendall"] == pytest.approx(stats.kendalltau(scores["az_trainability"], acc).statistic)
    text = markdown(table.reset_index())
    assert "0.100 (tau)" in text and "because of a constructed case" in text
    assert "5 archs left out: a window was chosen on them" in text


def test_agreement_and_seed_to_seed(tmp_path, real_data):
    """Scores equal to Suite-Zero's stored ones agree perfectly; a reversed seed 1 anti-agrees."""
    sz = read_ground_truth("suite_zero", real_data, file="suite_zero/zc_nasbench201.json", dataset="cifar10")
    all_sz = dict(zip(suite_zero_archs(real_data, TASK), sz["ref_synflow"].to_numpy()))
    truth = ground_truth(load_task(TASK), real_data)
    archs = sample_archs(truth["arch"], 20, 0)
    sz_archs = [a for a in all_sz if a not in archs][:25]
    stored = np.array([all_sz[a] for a in sz_archs])
    own = np.array([all_sz.get(a, 1000.0 + i) for i, a in enumerate(archs)])  # Suite-Zero's value where it has one
    overlap = sum(a in all_sz for a in archs)
    _write(tmp_path / "cache" / TASK / "scores.h5", TASK, archs, {"synflow": own},
           truth=truth[truth["arch"].isin(archs)][["arch", "accuracy"]])
    _write(tmp_path / "agree" / "scores.h5", TASK, sz_archs, {"synflow": stored}, seed=0)
    _write(tmp_path / "noise" / "scores.h5", TASK, archs, {"synflow": own[::-1]}, seed=1)
    row = validation_table(tmp_path / "cache", real_data, [TASK], n_archs=20, agreement_dir=tmp_path / "agree",
                           noise_dir=tmp_path / "noise", n_boot=0).iloc[0]
    assert row.agreement == pytest.approx(1.0) and row.agreement_n == 25 + overlap
    assert row.seed_to_seed == pytest.approx(stats.spearmanr(own, own[::-1]).statistic)
    assert row.seed_to_seed_n == 20
    plain = validation_table(tmp_path / "cache", real_data, [TASK], n_archs=20, n_boot=0).iloc[0]
    assert plain.seed_to_seed_n == 0 and np.isnan(plain.seed_to_seed)


def test_missing_cache_says_how_to_fill_it(tmp_path, real_data):
    with pytest.raises(FileNotFoundError, match="python -m zcbench proxy=all task=nb201_cifar10"):
        validation_table(tmp_path, real_data, [TASK], n_archs=10)


def test_zen_reference_and_agreement_come_from_naslibs_full_space_scores(real_data):
    from zcbench.analysis.proxy_validation import full_space_agreement, full_space_scores

    full = full_space_scores(real_data, TASK, "zen")
    if full is None:
        from conftest import missing_data

        missing_data("no full_space/nb201_zen in the data folder")
    assert len(full) == 15625
    rho, source, metric = reference_for(real_data, TASK, "zen", {})
    assert metric == "spearman"
    assert rho == pytest.approx(stats.spearmanr(full["ref"], full["accuracy"]).statistic)
    assert "full-space" in source
    some = full.iloc[:30]
    ours = pd.DataFrame({"proxy": "zen", "arch": some["arch"], "score": some["ref"] * 2.0, "error": ""})
    assert full_space_agreement(real_data, TASK, "zen", ours) == (pytest.approx(1.0), 30)
    assert full_space_scores(real_data, TASK, "nwot") is None


def test_proxies_with_only_stale_rows_are_named_not_dropped_silently(tmp_path, real_data):
    truth = ground_truth(load_task(TASK), real_data)
    archs = sample_archs(truth["arch"], 12, 0)
    acc = truth.set_index("arch").loc[archs, "accuracy"].to_numpy()
    _write(tmp_path / "cache" / TASK / "scores.h5", TASK, archs, {"params": acc, "ntk": acc},
           truth=truth[truth["arch"].isin(archs)][["arch", "accuracy"]])
    old = ScoreCache(tmp_path / "cache" / TASK / "scores.h5")
    old.add({"task": TASK, "proxy": "linear_regions", "arch": a, "seed": 0, "settings": "input=cifar10",
             "score": 1.0 + i, "seconds": 0.1, "error": "", "proxy_version": "0-old"} for i, a in enumerate(archs))
    old.checkpoint()
    table = validation_table(tmp_path / "cache", real_data, [TASK], n_archs=12, n_boot=0)
    assert set(table["proxy"]) == {"params", "ntk"}
    assert table.attrs["stale"][TASK] == ["linear_regions", "te_nas"]  # te_nas needs linear_regions
    assert "not shown: linear_regions, te_nas" in markdown(table)
