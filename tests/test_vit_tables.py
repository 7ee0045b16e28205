"""results/vit/'s tables (zcbench/analysis/vit_tables.py): which rows are compared, the numbers, the files."""
from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from zcbench.analysis.vit_tables import COLUMNS, markdown, run_rows, task_rows, vit_table, write_vit_tables
from zcbench.proxies import PROXIES

REPO = Path(__file__).resolve().parents[1]
VIT = REPO / "results" / "vit"


def _rows(proxy: str, archs, scores, settings="input=x;batch=16x3x224x224", errors=None, task="run"):
    errors = errors or [""] * len(archs)
    return [{"task": task, "proxy": proxy, "arch": a, "seed": 0, "score": s, "seconds": 1.0, "accuracy": math.nan,
             "error": e, "settings": settings, "proxy_version": PROXIES.get(proxy).version}
            for a, s, e in zip(archs, scores, errors)]


def test_rows_are_the_widest_settings_on_the_archs_every_proxy_scored():
    rows = pd.DataFrame(_rows("params", ["a", "b", "c", "d"], [1, 2, 3, 4])
                        + _rows("nwot", ["a", "b", "c"], [3, 1, 2])
                        + _rows("nwot", ["a"], [9], settings="input=x;batch=8x3x32x32")  # a narrower setting
                        + _rows("params", ["z"], [0], task="other"))
    stale = pd.DataFrame(_rows("nwot", ["d"], [5])).assign(proxy_version="0-old")  # an older version's row
    chosen = run_rows(pd.concat([rows, stale]), "run")
    assert set(chosen["arch"]) == {"a", "b", "c"}  # d: only params scored it
    assert set(chosen["settings"]) == {"input=x;batch=16x3x224x224"} and set(chosen["task"]) == {"run"}


def test_rows_prefer_an_input_the_protocol_validated_as_the_leaderboard_does():
    """grad_norm on an AutoFormer-T task: 4 archs at batch 16 (not validated), 3 at the paper's 224 px x 64."""
    task, archs = "autoprox_cifar100_kd", ["a", "b", "c", "d"]
    paper = "input=cifar10;batch=64x3x224x224;space.image_size=224"
    rows = pd.DataFrame(_rows("grad_norm", archs, [1, 2, 3, 4], settings="input=cifar10;batch=16x3x224x224", task=task)
                        + _rows("grad_norm", archs[:3], [3, 2, 1], settings=paper, task=task))
    chosen = run_rows(rows, task)
    assert set(chosen["settings"]) == {paper} and set(chosen["arch"]) == {"a", "b", "c"}


def test_task_rows_leave_failures_out_and_count_them():
    archs = [f"a{i}" for i in range(6)]
    truth = pd.Series([1.0, 2.0, 3.0, 4.0, 5.0, 6.0], index=archs)
    rows = pd.DataFrame(_rows("nwot", archs + ["unjudged"], [1, 3, 2, 4, 6, 0, 7],
                              errors=["", "", "", "", "", "nan score", ""]))
    (row,) = task_rows("t", rows, "run", truth, n_boot=50)
    assert (row["n"], row["n_failed"]) == (5, 1)
    assert row["spearman"] == pytest.approx(stats.spearmanr([1, 3, 2, 4, 6], [1, 2, 3, 4, 5]).statistic)
    assert row["spearman_ci_lo"] <= row["spearman"] <= row["spearman_ci_hi"]
    assert row["accuracy_range"] == "1.00-5.00" and row["scored_in_run"] == "run"


def test_markdown_shows_a_proxy_that_cannot_rank_as_dashes(tmp_path):
    table = pd.DataFrame([
        {"task": "t", "proxy": "good", "n": 9, "n_failed": 0, "spearman": 0.5, "spearman_ci_lo": 0.1,
         "spearman_ci_hi": 0.8, "kendall": 0.4, "accuracy_range": "1.00-2.00", "mean_seconds": 0.25,
         "scored_in_run": "t", "settings": "input=x;batch=64x3x32x32;k=1"},
        {"task": "t", "proxy": "constant", "n": 9, "n_failed": 0, "spearman": math.nan, "spearman_ci_lo": math.nan,
         "spearman_ci_hi": math.nan, "kendall": math.nan, "accuracy_range": "1.00-2.00", "mean_seconds": 2.0,
         "scored_in_run": "t", "settings": "input=x;batch=64x3x32x32"}], columns=COLUMNS)
    text = markdown(table)
    assert "scores from run `results/vit/scores/t`" in text
    lines = [line for line in text.splitlines() if line.startswith("| ")]
    assert lines[1:] == ["| good | 9 | 0 | 0.500 | [0.100, 0.800] | 0.400 | 0.25 | 64x3x32x32 |",
                         "| constant | 9 | 0 | - | - | - | 2.00 | 64x3x32x32 |"]
    csv, md = write_vit_tables(table, tmp_path, "results/vit/scores")
    assert list(pd.read_csv(csv).columns) == COLUMNS and md.read_text() == text


def test_committed_tables_are_what_the_command_computes(real_data):
    """results/vit/correlations.csv rows of Auto-Prox CIFAR-100 (kd and base, one run) from the committed scores."""
    if not (VIT / "scores" / "autoprox_cifar100_kd" / "scores.h5").exists():
        pytest.skip("no committed Auto-Prox CIFAR-100 scores")
    runs = {"autoprox_cifar100_kd": "autoprox_cifar100_kd", "autoprox_cifar100_base": "autoprox_cifar100_kd"}
    table, skipped = vit_table(VIT / "scores", runs, real_data, ["autoprox_*"], n_boot=1000)
    assert not skipped
    committed = pd.read_csv(VIT / "correlations.csv")
    committed = committed[committed["task"].isin(runs)].reset_index(drop=True)
    ours = pd.read_csv(io.StringIO(table.to_csv(index=False, float_format="%.4f")))  # as the command writes it
    pd.testing.assert_frame_equal(ours, committed)
    # the base column exists for 100 of the kd task's 200 subnets: a proxy scored on all 200 has all 100
    n = ours.pivot_table(index="proxy", columns="task", values="n")
    whole = n["autoprox_cifar100_kd"] == 200
    assert whole.any() and np.all(n.loc[whole, "autoprox_cifar100_base"] == 100)
    assert np.all(n["autoprox_cifar100_base"] <= 100)


def test_config_names_known_tasks_and_runs():
    from zcbench.tasks.task import task_names
    from zcbench.harness import compose

    cfg = compose([], config_name="vit_tables")
    assert set(cfg.runs) <= set(task_names()) and set(cfg.runs.values()) <= set(task_names())
    assert cfg.scores_dir == "results/vit/scores" and cfg.out_dir == "results/vit"
