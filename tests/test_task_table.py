"""The proxy x 19-task table (analysis.task_table) and its references beyond NB201."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from zcbench.analysis.proxy_validation import full_space_scores, reference_for, reference_on_archs
from zcbench.analysis.reference import suite_zero_spearman
from zcbench.analysis.task_table import cnn_tasks, grid, task_table
from zcbench.tasks.task import ground_truth, load_task
from zcbench.cli.task_table import run
from zcbench.harness import compose, sample_archs
from test_proxy_validation import _write

MICRO = "tnb101_micro_class_scene"


def test_the_nineteen_cnn_tasks_in_the_papers_order():
    tasks = cnn_tasks()
    assert len(tasks) == 19 and tasks[:5] == ["nb201_cifar10", "nb201_cifar100", "nb201_imagenet16_120",
                                              "nb101_cifar10", "nb301_cifar10"]
    assert sum(t.startswith("tnb101_micro") for t in tasks) == 7 == sum(t.startswith("tnb101_macro") for t in tasks)


def test_tnb_references_are_suite_zeros_best_epoch_scores_else_naslibs_full_space(real_data):
    best = ground_truth(load_task(MICRO + "_best"), real_data)  # Suite-Zero's 711 archs, best epoch
    rho, source, _ = reference_for(real_data, MICRO, "nwot", {})
    assert rho == pytest.approx(stats.spearmanr(best["ref_nwot"], best["accuracy"]).statistic)
    assert "best-epoch" in source and str(len(best)) in source
    # Suite-Zero's TNB epe_nas is one value for every arch: no ranking, so NASLib's full-space scores serve
    assert best["ref_epe_nas"].nunique() == 1 and suite_zero_spearman(real_data, MICRO, "epe_nas") is None
    full = full_space_scores(real_data, MICRO, "epe_nas")
    assert full is not None and len(full) == 4096
    rho, source, _ = reference_for(real_data, MICRO, "epe_nas", {})
    assert "full-space" in source and rho == pytest.approx(stats.spearmanr(full["ref"], full["accuracy"]).statistic)
    # zen covers every TNB task, synflow only the class-like ones
    assert full_space_scores(real_data, "tnb101_macro_normal", "zen") is not None
    assert full_space_scores(real_data, "tnb101_macro_normal", "synflow") is None


def test_reference_scores_on_our_archs(real_data):
    truth = ground_truth(load_task(MICRO), real_data)
    sample = truth[truth["arch"].isin(sample_archs(truth["arch"], 40, 0))]
    full = full_space_scores(real_data, MICRO, "zen").set_index("arch")
    rho, n = reference_on_archs(real_data, MICRO, "zen", sample)
    assert n == 40
    assert rho == pytest.approx(stats.spearmanr(full.loc[sample["arch"], "ref"], sample["accuracy"]).statistic)
    assert reference_on_archs(real_data, MICRO, "zen", sample.iloc[:5]) is None  # too few archs
    assert reference_on_archs(real_data, MICRO, "meco", sample) is None  # nobody published meco here


def test_table_grid_and_differences_from_constructed_caches(tmp_path, real_data, capsys):
    cache = tmp_path / "cache"
    truth = ground_truth(load_task(MICRO), real_data)
    archs = sample_archs(truth["arch"], 30, 0)
    full = full_space_scores(real_data, MICRO, "synflow").set_index("arch")
    rng = np.random.default_rng(1)
    scores = {"synflow": 2.0 * full.loc[archs, "ref"].to_numpy(),  # NASLib's own scores, rescaled
              "meco": rng.normal(size=30)}                        # no reference anywhere
    _write(cache / MICRO / "scores.h5", MICRO, archs, scores, truth=truth[truth["arch"].isin(archs)])
    _write(tmp_path / "noise" / "scores.h5", MICRO, archs[:12], {"synflow": -scores["synflow"][:12]}, seed=1)
    tasks = [MICRO, "tnb101_macro_jigsaw"]
    table, missing = task_table(cache, real_data, tasks, n_archs=1000, n_boot=50,
                                noise_dirs=[tmp_path / "noise"])
    assert missing == ["tnb101_macro_jigsaw"]
    row = table.set_index("proxy").loc["synflow"]
    acc = truth.set_index("arch").loc[archs, "accuracy"]
    assert row.spearman == pytest.approx(stats.spearmanr(scores["synflow"], acc).statistic)
    assert row.agreement == pytest.approx(1.0) and row.agreement_n == 30
    assert row.reference_on_our_archs == pytest.approx(row.spearman)  # same scores, same archs
    assert row.n_archs == 30 and row.inputs == "input=cifar10"
    assert row.seed_to_seed_n == 12 and row.seed_to_seed == pytest.approx(-1.0)  # seed 1 negated the scores
    assert table.set_index("proxy").loc["meco", "seed_to_seed_n"] == 0
    cells = grid(table, tasks)
    assert cells.loc["meco", "tnb101_macro_jigsaw"] == "no scores"
    expected = f"{row.spearman:.2f} ({row.reference:.2f})" + ("*" if abs(row.difference) > 0.1 else "")
    assert cells.loc["synflow", MICRO] == expected
    assert cells.loc["meco", MICRO] == f"{table.set_index('proxy').loc['meco', 'spearman']:.2f}"

    out = tmp_path / "table.md"
    run(compose([f"cache_dir={cache}", f"tasks=[{','.join(tasks)}]", "n_boot=20", f"data_root={real_data}",
                 f"out={out}"], config_name="task_table"))
    text = out.read_text()
    assert "| archs | 30 | 0 |" in text and "No scores yet" in text and "tnb101_macro_jigsaw" in text
    assert "## Differences over 0.1" in text and f"### {MICRO}" in text
    written = pd.read_csv(out.with_suffix(".csv"))
    assert set(written["proxy"]) == {"synflow", "meco"} and "reference_on_our_archs" in written


def test_agreement_with_a_constant_reference_is_not_a_number_but_absent(real_data):
    from zcbench.analysis.reference import score_agreement

    best = ground_truth(load_task(MICRO + "_best"), real_data)  # Suite-Zero's stored epe_nas: one value
    archs = list(best["arch"][:20])
    ours = pd.DataFrame({"proxy": "epe_nas", "arch": archs, "score": np.arange(20.0), "error": ""})
    assert score_agreement(real_data, MICRO, "epe_nas", ours) is None
    assert score_agreement(real_data, MICRO, "nwot", ours.assign(proxy="nwot"))[1] == 20



def test_suite_zero_agreement_is_per_input(real_data):
    """A proxy scored at two inputs gets one comparison row per input, each agreement on its own rows."""
    from zcbench.analysis.reference import comparison_rows, suite_zero_frame
    from zcbench.proxies import PROXIES

    sz = suite_zero_frame(real_data, MICRO).dropna(subset=["ref_params"]).drop_duplicates("arch").head(12)
    rng = np.random.default_rng(0)
    rows = []
    for settings, score in (("input=cifar10;batch=32x3x64x64", sz["ref_params"].to_numpy()),
                            ("input=cifar10;batch=32x3x256x256", rng.normal(size=len(sz)))):
        rows += [{"task": MICRO, "arch": a, "proxy": "params", "seed": 0, "score": float(v), "seconds": 0.1,
                  "accuracy": float(acc), "error": "", "settings": settings,
                  "proxy_version": PROXIES.get("params").version}
                 for a, v, acc in zip(sz["arch"], score, sz["accuracy"])]
    table = comparison_rows(pd.DataFrame(rows), real_data).set_index("input")
    assert table.at["64 px, batch 32", "agreement_with_suite_zero_scores"] == pytest.approx(1.0)
    assert abs(table.at["256 px, batch 32", "agreement_with_suite_zero_scores"]) < 0.9
    assert (table["agreement_n"] == 12).all()
