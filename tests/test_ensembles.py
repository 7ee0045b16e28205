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
from zcbench.analysis.stats import kendall_failed_last, ranks_failed_last, spearman_failed_last
from zcbench.ensembles.table import ScoreTable
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


# ------------------------------------------------------------------ one candidate per computation
def _dup_case(n: int = 400, seed: int = 3) -> ScoreTable:
    rng = np.random.default_rng(seed)
    acc = rng.normal(size=n)
    best = acc + rng.normal(0, 0.6, size=n)
    near = best + rng.normal(0, 0.02, size=n)            # |rho| with best >= 0.99, not identical
    other = acc + rng.normal(0, 0.8, size=n)
    params = rng.normal(size=n)
    return _table({"best": best, "best_copy": best * 3.0 + 1.0, "near": near, "anti_near": -near,
                   "other": other, "params": params}, acc)


def test_candidate_pool_merges_aliases_and_near_duplicates():
    from zcbench.ensembles.libra import NEAR_DUPLICATE, candidate_pool, proxy_rhos

    table = _dup_case()
    near_rho = stats.spearmanr(table.scores["best"], table.scores["near"]).statistic
    assert NEAR_DUPLICATE <= near_rho < 1.0
    pool, merged = candidate_pool(table, proxy_rhos(table))
    copies = {"best", "best_copy", "near", "anti_near"}  # one signal: an exact alias, a near copy, its negation
    kept = [p for p in pool if p in copies]
    assert len(kept) == 1
    assert {p: merged[p] for p in copies - set(kept)} == dict.fromkeys(copies - set(kept), kept[0])
    assert {"other", "params"} <= set(pool) and not {"other", "params"} & set(merged)
    # the representative is the copy with the highest rho on these archs (ties: the first name)
    rhos = proxy_rhos(table)
    assert kept[0] == sorted(copies, key=lambda p: (-rhos[p], p))[0]


def test_libra_never_holds_two_copies_of_one_signal():
    table = _dup_case()
    for name in ("libra", "libra_z2_max_rho", "libra_no_bias", "top3_rho"):
        members = ENSEMBLES.get(name).choose(table).members
        assert len({"best", "best_copy", "near", "anti_near"} & set(members)) <= 1, (name, members)


def test_declared_alias_is_merged_even_when_it_is_listed_first():
    """lswag_psi with a window reaching the last bin is swap (registry same_as), whatever the names' order."""
    from zcbench.analysis.aliases import alias_map, options_from_settings, representatives

    rng = np.random.default_rng(5)
    acc = rng.normal(size=80)
    swap = acc + rng.normal(size=80)
    table = _table({"lswag_psi": swap, "swap": swap, "flops": acc + rng.normal(size=80),
                    "params": rng.normal(size=80)}, acc)
    table.settings = {"lswag_psi": "input=cifar10;batch=64x3x32x32;psi_from=first;window_hi=99;window_lo=80",
                      "swap": "input=cifar10;batch=64x3x32x32", "flops": "", "params": ""}
    aliases = alias_map(table)
    assert set(aliases) == {"lswag_psi"} and aliases["lswag_psi"].same_as == "swap"
    assert "declared" in aliases["lswag_psi"].reason
    assert representatives(table) == ["swap", "flops", "params"]
    assert options_from_settings(table.settings["lswag_psi"]) == {"psi_from": "first", "window_hi": 99,
                                                                  "window_lo": 80}
    # a window that stops before the last bin is another computation: not declared, and not identical here
    table.scores["lswag_psi"] = swap + rng.normal(size=80)
    table.settings["lswag_psi"] = "input=cifar10;window_lo=30;window_hi=50"
    assert alias_map(table) == {}
