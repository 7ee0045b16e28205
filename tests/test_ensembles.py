"""Ensembles: statistics, entropies and information gain, LIBRA's selection, the disjoint split,
AZ-NAS and TE-NAS on hand cases."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from zcbench.ensembles import ENSEMBLES, MissingMembersError, evaluate, log_rank_sum, rank_sum, split_archs
from zcbench.ensembles.information import (auto_bins, conditional_entropy, discretise, entropy,
                                           information_gain)
from zcbench.ensembles.libra import select
from zcbench.ensembles.table import (ScoreTable, kendall_failed_last, ranks_failed_last,
                                     spearman_failed_last)
from zcbench.errors import UnknownNameError, ZcbenchError


def _table(scores: dict[str, np.ndarray], accuracy: np.ndarray, task: str = "t") -> ScoreTable:
    archs = [f"a{i:05d}" for i in range(len(accuracy))]
    frame = pd.DataFrame(scores, index=archs)
    return ScoreTable(task, 0, frame, pd.Series(accuracy, index=archs), frame * 0 + 1.0)


# ------------------------------------------------------------------ statistics
def test_rank_correlations_match_scipy_and_rank_failures_last():
    rng = np.random.default_rng(0)
    acc = rng.normal(size=60)
    score = acc + rng.normal(size=60)
    assert spearman_failed_last(score, acc) == pytest.approx(stats.spearmanr(score, acc).statistic, abs=1e-12)
    assert kendall_failed_last(score, acc) == pytest.approx(stats.kendalltau(score, acc).statistic, abs=1e-12)
    failed = score.copy()
    failed[[3, 7, 11]] = np.nan
    naslib = np.where(np.isnan(failed), -1e8, failed)  # NASLib's replacement of a failure
    assert spearman_failed_last(failed, acc) == pytest.approx(stats.spearmanr(naslib, acc).statistic, abs=1e-12)
    assert kendall_failed_last(failed, acc) == pytest.approx(stats.kendalltau(naslib, acc).statistic, abs=1e-12)
    np.testing.assert_array_equal(ranks_failed_last([3.0, np.nan, 1.0, np.nan]), [4.0, 1.5, 3.0, 1.5])


# ------------------------------------------------------------------ information
def test_entropy_of_known_distributions():
    assert entropy(np.array([0, 1, 2, 3] * 5)) == pytest.approx(2.0)
    assert entropy(np.zeros(9, dtype=int)) == pytest.approx(0.0)
    assert entropy(np.array([0, 0, 0, 1])) == pytest.approx(-(0.75 * math.log2(0.75) + 0.25 * math.log2(0.25)))
    a, b = np.array([0, 0, 1, 1] * 4), np.array([0, 1, 0, 1] * 4)
    assert entropy(a, b) == pytest.approx(2.0)            # two independent fair bits
    assert conditional_entropy(a, a) == pytest.approx(0.0)
    assert conditional_entropy(a, b) == pytest.approx(1.0)


def test_information_gain_on_constructed_cases():
    # y is determined by two independent bits; z1 knows one, z the other: z adds exactly 1 bit.
    b1, b2 = np.array([0, 0, 1, 1] * 25), np.array([0, 1, 0, 1] * 25)
    y = 2 * b1 + b2
    assert information_gain(y, b1, b2, bins=4) == pytest.approx(1.0)
    assert information_gain(y, b1, b1 * 10.0, bins=4) == pytest.approx(0.0)   # a copy of z1 adds nothing
    assert information_gain(y, b1, np.exp(b1 * 1.0), bins=4) == pytest.approx(0.0)  # nor a monotone map of it


def test_discretisation_rules():
    np.testing.assert_array_equal(np.bincount(discretise(np.arange(100.0), 10)), [10] * 10)
    skewed = np.exp(np.arange(20.0))                      # heavy tail: quantile bins stay balanced
    assert np.bincount(discretise(skewed, 4, "quantile")).tolist() == [5, 5, 5, 5]
    assert np.bincount(discretise(skewed, 4, "uniform")).tolist() == [18, 1, 0, 1]  # e^18 / e^19 * 4 = 1.47
    assert discretise([2.0, 2.0, 2.0], 5, "uniform").tolist() == [0, 0, 0]
    tied = discretise([1.0, 1.0, 1.0, 1.0, 5.0, 6.0], 3)
    assert len(set(tied[:4])) == 1                         # tied values share a bin
    with pytest.raises(UnknownNameError, match="quantile"):
        discretise([1.0, 2.0], 2, "kmeans")
    assert [auto_bins(n) for n in (50, 500, 1000)] == [2, 4, 5]


# ------------------------------------------------------------------ LIBRA
def _libra_case(n: int = 2000, seed: int = 0) -> ScoreTable:
    """Proxies with a known LIBRA answer.

    a: the best proxy (z1). b: a 3-level coarsening of a, so under 3 quantile
    bins it carries exactly a's information: IG(b) = 0, the lowest (z2), while
    its rho is well below f's. f: independent noise, the highest rho after a,
    and a bias (rho with params) close to the accuracy's (z3). c, d: inside the
    window but biased away from the accuracy's bias. e: outside the window.
    """
    rng = np.random.default_rng(seed)
    y = rng.normal(size=n)
    size_noise = rng.normal(size=n)
    params = np.exp(y + size_noise)                        # accuracy's bias ~0.7
    a = y + 0.15 * rng.normal(size=n)
    b = discretise(a, 3).astype(float)
    return _table({"a": a, "b": b, "f": y + 0.25 * rng.normal(size=n),
                   "c": y + 0.15 * rng.normal(size=n) + 0.35 * size_noise,
                   "d": y + 0.2 * rng.normal(size=n) - 0.4 * size_noise,
                   "e": y + 1.0 * rng.normal(size=n), "params": params}, y)


def test_libra_selection_on_a_constructed_table():
    table = _libra_case()
    sel = select(table, bins=3)
    d = sel.details
    assert sel.members == ("a", "b", "f")
    assert d["ig"]["b"] == pytest.approx(0.0, abs=1e-12) and min(v for k, v in d["ig"].items() if k != "b") > 0.01
    assert "e" not in d["candidates"] and set(d["candidates"]) == {"b", "c", "d", "f"}
    assert abs(d["bias"]["f"] - d["accuracy_bias"]) < min(abs(d["bias"][p] - d["accuracy_bias"]) for p in "cd")
    # ablations change exactly one rule
    z2_rho = select(table, bins=3, z2_rule="highest_rho").members
    assert z2_rho[:2] == ("a", "f")
    no_bias = select(table, bins=3, z3_rule="lowest_ig")
    rest = {p: g for p, g in no_bias.details["ig"].items() if p != "b"}
    assert no_bias.members == ("a", "b", min(rest, key=rest.get)) and "bias" not in no_bias.details
    top3 = ENSEMBLES.get("top3_rho").choose(table)
    rhos = top3.details["rho"]
    assert top3.members == tuple(sorted(rhos, key=lambda p: -rhos[p])[:3])


def test_libra_window_and_missing_params():
    table = _libra_case(n=400)
    alone = select(table, window=1e-9)
    assert alone.members == ("a",)                         # nothing within the window: z1 alone
    no_params = table.subset(table.scores.index)
    no_params.scores = no_params.scores.drop(columns="params")
    with pytest.raises(MissingMembersError, match="params"):
        select(no_params, bins=3)
    with pytest.raises(ZcbenchError, match="tuning archs"):
        select(table.subset(table.scores.index[:3]))


# ------------------------------------------------------------------ disjoint split
def test_split_is_disjoint_stable_and_evaluation_never_sees_tuning_archs():
    archs = [f"arch{i}" for i in range(1000)]
    tune, held = split_archs(archs)
    assert set(tune).isdisjoint(held) and set(tune) | set(held) == set(archs)
    assert 430 < len(tune) < 570
    sub_tune, sub_held = split_archs(archs[::7])           # an arch keeps its side in any sample
    assert set(sub_tune) <= set(tune) and set(sub_held) <= set(held)
    table = _libra_case(n=600)
    tune, held = split_archs(table.scores.index)
    libra = ENSEMBLES.get("libra")
    result = evaluate(libra, table, tune, held)
    assert list(result.scores.index) == list(held) and set(result.tuned_on) == set(tune)
    with pytest.raises(ZcbenchError, match="disjoint"):
        evaluate(libra, table, tune, list(held) + list(tune[:1]))


# ------------------------------------------------------------------ baselines
def test_az_nas_log_rank_sum_by_hand():
    members = pd.DataFrame({"az_expressivity": [1.0, 2.0, 3.0, 4.0],
                            "az_progressivity": [4.0, 3.0, 2.0, 1.0],
                            "az_trainability": [1.0, np.nan, 2.0, 3.0],   # b failed: ranked last
                            "az_complexity": [10.0, 10.0, 20.0, 30.0]}, index=list("abcd"))
    ranks = {"a": [1, 4, 2, 1.5], "b": [2, 3, 1, 1.5], "c": [3, 2, 3, 3], "d": [4, 1, 4, 4]}
    expected = {k: sum(math.log(r / 4) for r in v) for k, v in ranks.items()}
    got = log_rank_sum(members)
    for arch, value in expected.items():
        assert got[arch] == pytest.approx(value)
    table = _table({**{c: members[c].to_numpy() for c in members}}, np.array([1.0, 2.0, 3.0, 4.0]))
    fused = ENSEMBLES.get("az_nas").fuse(table.scores)      # the registered entry fuses the same way
    np.testing.assert_allclose(fused.to_numpy(), [expected[k] for k in "abcd"])
    assert expected["b"] < expected["a"] < expected["c"] < expected["d"]   # one failure pulls b to the bottom


def test_te_nas_rank_sum_by_hand():
    members = pd.DataFrame({"ntk": [-1.0, -2.0, -3.0, -4.0], "linear_regions": [1.0, 3.0, 2.0, 4.0]},
                           index=list("abcd"))
    # ranks: ntk a4 b3 c2 d1; regions a1 b3 c2 d4 -> mean normalised rank
    np.testing.assert_allclose(rank_sum(members).to_numpy(), [5 / 8, 6 / 8, 4 / 8, 5 / 8])
    table = _table({"ntk": members["ntk"].to_numpy()}, np.arange(4.0))
    with pytest.raises(MissingMembersError, match="linear_regions"):
        ENSEMBLES.get("te_nas").choose(table)


def test_proxies_that_cannot_rank_are_left_out_of_the_table():
    """A proxy that failed everywhere, or gave one value everywhere, would make TE-NAS its other member."""
    from zcbench.ensembles.table import score_tables
    from zcbench.proxies import PROXIES

    rows = []
    for i in range(5):
        arch = f"a{i}"
        for proxy, score, error in (("ntk", np.nan, "ValueError: the NTK is singular"), ("linear_regions", 64.0, ""),
                                    ("nwot", float(i), ""), ("zen", float(i % 2), "" if i else "boom")):
            rows.append({"task": "t", "arch": arch, "proxy": proxy, "seed": 0, "score": score, "seconds": 0.1,
                         "accuracy": float(i), "error": error, "settings": "s",
                         "proxy_version": PROXIES.get(proxy).version})
    table = score_tables(pd.DataFrame(rows))[("t", 0)]
    assert table.proxies == ["nwot", "zen"]  # zen failed once only: it stays, that arch ranked last
    assert table.left_out["ntk"].startswith("failed on every arch (ValueError: the NTK is singular")
    assert table.left_out["linear_regions"] == "one value (64) for every arch: no ranking"
    with pytest.raises(MissingMembersError, match="linear_regions"):
        ENSEMBLES.get("te_nas").choose(table)
