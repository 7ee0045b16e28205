"""Ensembles selected like proxies in the main command: `python -m zcbench proxy=az_nas|te_nas|libra`.

Tiny NB201 samples with real data: AZ-NAS (with nwot beside it) on 4 archs, LIBRA over five cheap
candidates on 12, and a task without ground truth (nb201_cifar10 with ~task.truth) for the skip.
"""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import zcbench
from zcbench.ensembles import AZ_NAS_MEMBERS, ENSEMBLES, evaluate, score_tables, split_archs
from zcbench.ensembles.as_proxy import score_over_archs
from zcbench.errors import UnknownNameError
from zcbench.harness import compose, resolve_proxies, run
from zcbench.proxies import PROXIES

from conftest import data_root, missing_data

CANDIDATES = ["params", "l2_norm", "grad_norm", "snip", "plain"]  # no pass, or one shared backward


def _run(out_dir, *overrides):
    root = data_root()
    if root is None:
        missing_data("real data folder not found (set ZCBENCH_DATA)")
    return run(compose([f"out_dir={out_dir}", f"data_root={root}", "progress=false", *overrides]))


@pytest.fixture(scope="module")
def az_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("az")
    return out, _run(out, "proxy=[nwot,az_nas]", "n_archs=4")


@pytest.fixture(scope="module")
def libra_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("libra")
    # seed 2's 12 archs: 7 on the tuning side of split_archs, 5 on the evaluation side
    return out, _run(out, "proxy=libra", f"proxy.libra.candidates=[{','.join(CANDIDATES)}]", "n_archs=12",
                     "seed=2")


# ------------------------------------------------------------------ selection
def test_ensembles_are_selectable_and_proxy_all_stays_single():
    assert list(resolve_proxies(["nwot", "az_nas"])) == ["nwot", *AZ_NAS_MEMBERS]
    assert sorted(resolve_proxies(["te_nas"])) == ["linear_regions", "ntk"]
    assert sorted(resolve_proxies(compose(["proxy=libra"]).proxy)) == sorted(PROXIES.names())
    assert sorted(resolve_proxies(compose(["proxy=libra"]).proxy, has_truth=False)) == []
    assert sorted(resolve_proxies(compose(["proxy=all"]).proxy)) == sorted(PROXIES.names())
    with pytest.raises(UnknownNameError, match="valid proxy names: .*az_nas.*libra.*te_nas"):
        resolve_proxies(["libre"])


def test_help_lists_the_ensembles():
    shown = subprocess.run([sys.executable, "-m", "zcbench", "--help"], capture_output=True, text=True,
                           check=True).stdout
    line = next(line for line in shown.splitlines() if line.startswith("proxy:"))
    assert {"az_nas", "te_nas", "libra", "nwot"} <= set(line.removeprefix("proxy:").replace(",", " ").split())


# ------------------------------------------------------------------ untuned: AZ-NAS
def test_az_nas_equals_evaluate_on_the_cached_members(az_run):
    out, result = az_run
    frame = zcbench.load_scores(out)
    archs = sorted(frame["arch"].unique())
    assert len(archs) == 4
    table = score_tables(frame, list(AZ_NAS_MEMBERS))[("nb201_cifar10", 0)]
    expected = evaluate(ENSEMBLES.get("az_nas"), table, [], archs).scores
    got = frame[frame["proxy"] == "az_nas"].set_index("arch")["score"]
    pd.testing.assert_series_equal(got.loc[archs], expected.loc[archs], check_names=False)
    # the table shows what was selected: nwot and az_nas, not AZ-NAS's components
    assert sorted(result.correlations["proxy"]) == ["az_nas", "nwot"]
    row = result.correlations.set_index("proxy").loc["az_nas"]
    assert row["n_archs"] == 4 and np.isfinite(row["spearman"])
    assert row["settings"].startswith("ensemble=az_nas;archs=4:")


def test_rerun_answers_from_the_cache(az_run, capsys):
    out, first = az_run
    rows = len(zcbench.load_scores(out))
    again = _run(out, "proxy=[nwot,az_nas]", "n_archs=4")
    assert again.n_computed == 0 and len(zcbench.load_scores(out)) == rows
    assert "(its rows were in the cache)" in capsys.readouterr().out
    pd.testing.assert_frame_equal(again.correlations, first.correlations)


def test_ensemble_rows_are_not_a_single_proxy_for_the_leaderboard(az_run, libra_run):
    for out, _ in (az_run, libra_run):
        table = next(iter(score_tables(zcbench.load_scores(out)).values()))
        assert not set(table.proxies) & set(ENSEMBLES.names())


# ------------------------------------------------------------------ tuned: LIBRA
def test_libra_tunes_on_one_side_and_is_judged_on_the_other(libra_run, capsys):
    out, result = libra_run
    frame = zcbench.load_scores(out)
    archs = list(frame.loc[frame["proxy"] == "params", "arch"].unique())
    tune, held = split_archs(archs, 0.5)
    assert len(tune) >= 5 and held
    rows = frame[frame["proxy"] == "libra"]
    assert set(rows["arch"]) == set(held)  # rows on the evaluation side only
    table = score_tables(frame, CANDIDATES)[("nb201_cifar10", 2)]
    expected = evaluate(ENSEMBLES.get("libra"), table, tune, held)
    pd.testing.assert_series_equal(rows.set_index("arch")["score"].loc[held], expected.scores.loc[held],
                                   check_names=False)
    row = result.correlations.set_index("proxy").loc["libra"]
    assert row["n_archs"] == len(held)
    assert row["note"].startswith(f"members {'+'.join(expected.selection.members)} chosen on {len(tune)} tuning")
    listed = (out / "libra_tuning_archs.txt").read_text().splitlines()[1:]
    assert sorted(listed) == sorted(tune)


class _Spy(dict):
    """Ground truth that records which archs' accuracy was read."""

    read: set

    def get(self, arch, default=None):
        self.read.add(arch)
        return super().get(arch, default)


def test_libra_never_reads_the_evaluation_accuracies(libra_run):
    out, _ = libra_run
    frame = zcbench.load_scores(out)
    frame = frame[frame["proxy"] != "libra"]
    archs = list(frame["arch"].unique())
    tune, held = split_archs(archs, 0.5)
    truth = frame.drop_duplicates("arch").set_index("arch")["accuracy"]
    settings = dict(zip(frame["proxy"], frame["settings"]))
    versions = {p: PROXIES.get(p).version for p in settings}
    options = {"tune_fraction": 0.5, "candidates": CANDIDATES}
    spy = _Spy(truth)
    spy.read = set()
    honest = score_over_archs("libra", options, frame, archs, spy, settings, versions)
    assert spy.read and spy.read <= set(tune)
    scrambled = truth.copy()
    scrambled.loc[held] = np.random.default_rng(0).permutation(truth.loc[held].to_numpy()) * -1
    other = score_over_archs("libra", options, frame, archs, scrambled, settings, versions)
    assert other.members == honest.members and other.rows == honest.rows


# ------------------------------------------------------------------ no ground truth
def test_task_without_truth_skips_libra_once_and_scores_az_nas(tmp_path, capsys):
    result = _run(tmp_path, "~task.truth", "proxy=[libra,az_nas]", "n_archs=3")
    said = capsys.readouterr().out
    assert said.count("skipped libra on nb201_cifar10: n/a: libra chooses its members against ground truth") == 1
    frame = zcbench.load_scores(tmp_path)
    assert set(frame["proxy"]) == {"az_nas", *AZ_NAS_MEMBERS}  # no LIBRA candidate was scored
    assert frame.loc[frame["proxy"] == "az_nas", "arch"].nunique() == 3
    table = result.correlations.set_index("proxy")
    assert table.loc["libra", "note"].startswith("n/a: ") and table.loc["az_nas", "n_archs"] == 3
