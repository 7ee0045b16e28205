"""Statistics and the reference comparison."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from zcbench.analysis import correlation_table, rank_metrics
from zcbench.analysis.reference import published_spearman, suite_zero_archs, suite_zero_spearman
from zcbench.analysis.stats import top_fraction_precision
from zcbench.analysis.tables import to_markdown


def test_rank_metrics_match_scipy():
    rng = np.random.default_rng(0)
    acc = rng.normal(size=200)
    score = acc + rng.normal(size=200)
    m = rank_metrics(score, acc)
    assert m["spearman"] == pytest.approx(stats.spearmanr(score, acc).statistic)
    assert m["kendall"] == pytest.approx(stats.kendalltau(score, acc).statistic)
    assert m["pearson"] == pytest.approx(stats.pearsonr(score, acc).statistic)
    assert m["n_archs"] == 200


def test_rank_metrics_orientation_and_degenerate_cases():
    acc = np.arange(10.0)
    assert rank_metrics(acc, acc)["spearman"] == pytest.approx(1.0)
    assert rank_metrics(-acc, acc)["spearman"] == pytest.approx(-1.0)   # never abs()
    assert np.isnan(rank_metrics(np.ones(10), acc)["spearman"])        # constant score
    assert np.isnan(rank_metrics([1.0, 2.0], [1.0, 2.0])["spearman"])   # too few archs


def test_top_fraction_precision_by_hand():
    acc = np.arange(20.0)                 # top 10% = archs 18, 19
    score = np.zeros(20)
    score[[19, 3]] = [5.0, 4.0]           # picks 19 (right) and 3 (wrong)
    assert top_fraction_precision(score, acc, 0.1) == 0.5


def test_correlation_table_leaves_out_failures_and_missing_truth():
    frame = pd.DataFrame({
        "task": "t", "proxy": "p", "seed": 0, "settings": "s",
        "arch": list("abcdef"), "score": [1.0, 2.0, 3.0, 4.0, np.nan, 6.0],
        "accuracy": [1.0, 2.0, 3.0, 4.0, 5.0, np.nan], "seconds": 0.1,
        "error": ["", "", "", "", "boom", ""]})
    row = correlation_table(frame).iloc[0]
    assert row["n_archs"] == 4 and row["n_failed"] == 1 and row["spearman"] == pytest.approx(1.0)
    # ranked last, the failed arch (accuracy 5, the best) breaks the perfect order
    expected = stats.spearmanr([1, 2, 3, 4, 0], [1, 2, 3, 4, 5]).statistic
    assert row["spearman_failed_last"] == pytest.approx(expected)


def test_markdown_table():
    text = to_markdown(pd.DataFrame({"a": ["x"], "b": [0.12345], "c": [np.nan]}))
    assert text.splitlines() == ["| a | b | c |", "|---|---|---|", "| x | 0.123 | - |"]


def test_reference_numbers_from_the_data(real_data):
    mean, std, seeds = published_spearman(real_data, "nb201_cifar10", "synflow")
    assert seeds == 5 and mean == pytest.approx(0.753, abs=5e-4)
    assert published_spearman(real_data, "nb201_cifar10", "nwot") is None  # NASLib never finished nwot
    rho, n = suite_zero_spearman(real_data, "nb201_cifar10", "nwot")
    assert n == 724 and 0.7 < rho < 0.85  # one arch has nwot = -inf and is left out
    archs = suite_zero_archs(real_data, "nb201_cifar10")
    assert len(archs) == 725 and archs[0].startswith("|")


def test_bootstrap_interval_brackets_the_estimate_and_narrows_with_n():
    import numpy as np
    from scipy import stats as sps

    from zcbench.analysis.stats import bootstrap_interval

    rng = np.random.default_rng(1)
    x = rng.normal(size=400)
    y = x + rng.normal(scale=1.0, size=400)
    rho = sps.spearmanr(x, y).statistic
    lo, hi = bootstrap_interval(x, y, n_boot=300)
    assert lo < rho < hi and hi - lo < 0.2
    lo_small, hi_small = bootstrap_interval(x[:40], y[:40], n_boot=300)
    assert hi_small - lo_small > hi - lo
    tlo, thi = bootstrap_interval(x, y, method="kendall", n_boot=200)
    assert tlo < sps.kendalltau(x, y).statistic < thi
    with pytest.raises(ValueError, match="valid methods"):
        bootstrap_interval(x, y, method="pearson")
