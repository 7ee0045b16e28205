"""L-SWAG layer-window selection: statistics per depth bin, window criteria, journal, config writing."""
from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from omegaconf import OmegaConf

from zcbench.benchmarks.tasks import Task
from zcbench.harness import apply_task_options
from zcbench.layer_selection import (BLOCK_START, StatsJournal, Window, bin_summary, choose_window,
                                     layer_statistics, write_window)
from zcbench.layers import main as layers_main
from zcbench.proxies.lswag import NBINS, depth_bin

from conftest import tiny_cnn


def _frame(curve, lam_rows=None, acc=None, n=5):
    rows = []
    for i in range(n):
        row = {"arch": f"a{i}", "accuracy": (acc[i] if acc is not None else math.nan), "n_layers": NBINS}
        row.update({f"log_sigma_{b}": curve[b] + 0.01 * i for b in range(NBINS)})
        lam = lam_rows[i] if lam_rows is not None else [0.0] * NBINS
        row.update({f"lambda_{b}": lam[b] for b in range(NBINS)})
        rows.append(row)
    return pd.DataFrame(rows)


def test_spike_is_read_against_the_linear_trend():
    curve = [-1.0 - 0.5 * b for b in range(NBINS)]
    curve[6] += 2.0  # a bump on a steady decline
    window = choose_window(_frame(curve), "spike", half_width=1)
    assert (window.lo_bin, window.hi_bin) == (5, 7)
    assert window.percentiles == (50, 79)
    assert choose_window(_frame(curve), "spike", half_width=0).percentiles == (60, 69)
    edge = [0.0] * NBINS
    edge[0] = 3.0
    assert (choose_window(_frame(edge), "spike", 2).lo_bin, choose_window(_frame(edge), "spike", 2).hi_bin) == (0, 2)


def test_correlation_criterion_finds_the_bins_that_carry_the_signal():
    rng = np.random.default_rng(0)
    acc = rng.normal(size=40)
    lam = rng.normal(size=(40, NBINS))
    lam[:, 3] = acc * 10  # bins 3..4 together rank exactly like accuracy
    lam[:, 4] = acc * 10
    window = choose_window(_frame([0.0] * NBINS, lam.tolist(), acc.tolist(), n=40), "correlation")
    assert (window.lo_bin, window.hi_bin) in {(3, 3), (4, 4), (3, 4)}
    assert "1.000" in window.reason
    with pytest.raises(ValueError, match="needs ground-truth"):
        choose_window(_frame([0.0] * NBINS), "correlation")
    with pytest.raises(ValueError, match="criterion must be one of"):
        choose_window(_frame([0.0] * NBINS), "peak")


def test_bin_summary_spreads_and_correlations():
    frame = _frame([float(b) for b in range(NBINS)], [[float(i)] * NBINS for i in range(5)], [0, 1, 2, 3, 4])
    summary = bin_summary(frame)
    assert list(summary["bin"]) == list(range(NBINS))
    assert summary["mean_log_sigma"].iloc[2] == pytest.approx(2.02)
    assert summary["lambda_spearman"].iloc[0] == pytest.approx(1.0)
    assert summary["std_log_sigma"].iloc[0] == pytest.approx(np.std([0, .01, .02, .03, .04]))


def test_layer_statistics_place_every_layer_in_its_depth_bin(tiny_batch):
    inputs, labels = tiny_batch
    stats = layer_statistics(tiny_cnn(), inputs, labels)
    n = stats["n_layers"]
    occupied = {depth_bin(i, n) for i in range(n)}
    assert {b for b, v in enumerate(stats["log_sigma"]) if not math.isnan(v)} <= occupied
    assert any(math.isfinite(v) for v in stats["lambda"])


def test_journal_resumes_and_tolerates_a_cut_last_line(tmp_path):
    path = tmp_path / "layer_stats.jsonl"
    journal = StatsJournal(path)
    journal.add({"arch": "x", "accuracy": 1.0, "n_layers": 3, "log_sigma": [0.0] * NBINS, "lambda": [1.0] * NBINS})
    with open(path, "a") as f:
        f.write('{"arch": "y", "accur')  # a kill mid-write
    again = StatsJournal(path)
    assert "x" in again and "y" not in again
    path.write_text('garbage\n' + json.dumps({"arch": "x", "n_layers": 1, "log_sigma": [], "lambda": []}) + "\n")
    with pytest.raises(ValueError, match="line 1"):
        StatsJournal(path)


def test_window_written_into_a_task_config_is_replaced_on_rerun_and_used_by_lswag(tmp_path):
    path = tmp_path / "task.yaml"
    path.write_text("# @package task\nname: t\nspace: nb201\ndataset: cifar10\nnum_classes: 10\n")
    write_window(path, Window(3, 5, "spike", "because"), "from 10 networks")
    write_window(path, Window(2, 4, "spike", "because again"), "from 20 networks")
    text = path.read_text()
    assert text.count(BLOCK_START) == 1 and "from 20 networks" in text
    task = Task.from_config(OmegaConf.load(path))
    chosen = apply_task_options({"lswag": {"window_lo": None, "window_hi": None}}, task)
    assert chosen["lswag"] == {"window_lo": 20, "window_hi": 49}
    handwritten = tmp_path / "hand.yaml"
    handwritten.write_text("name: t\nproxy_options:\n  lswag: {window_lo: 0}\n")
    with pytest.raises(ValueError, match="remove them to let"):
        write_window(handwritten, Window(1, 2, "spike", "r"), "p")
    flow = tmp_path / "flow.yaml"
    flow.write_text("name: t\nproxy_options: {synflow: {layer_norm: keep}}\n")
    with pytest.raises(ValueError, match="one-line proxy_options"):
        write_window(flow, Window(1, 2, "spike", "r"), "p")


def test_window_merges_into_an_existing_proxy_options_mapping(tmp_path):
    path = tmp_path / "vit.yaml"
    path.write_text("# @package task\nname: t\nspace: nb201\ndataset: cifar10\nnum_classes: 10\n"
                    "proxy_options:\n  synflow: {layer_norm: keep}\ndescription: a ViT-like task\n")
    for lo in (3, 2):
        write_window(path, Window(lo, 5, "spike", "because"), f"from {lo} networks")
    text = path.read_text()
    assert text.count(BLOCK_START) == 1 and text.count("proxy_options:") == 1
    task = Task.from_config(OmegaConf.load(path))
    assert task.proxy_options["synflow"] == {"layer_norm": "keep"}
    assert task.proxy_options["lswag_psi"] == {"window_lo": 20, "window_hi": 59}
    assert task.description == "a ViT-like task"


def test_layers_command_end_to_end_and_resume(tmp_path, real_data, capsys):
    args = ["task=nb201_cifar10", "n_archs=2", "batch_size=8", f"data_root={real_data}",
            f"out_dir={tmp_path}", "progress=false"]
    info = layers_main(args)
    assert info["n_networks"] == 2 and 0 <= info["window_lo"] <= info["window_hi"] <= 99
    assert (tmp_path / "log_sigma_bins.png").stat().st_size > 0
    assert len(pd.read_csv(tmp_path / "bins.csv")) == NBINS
    capsys.readouterr()
    layers_main(args)
    assert "2 networks already in" in capsys.readouterr().out


def test_ablation_table_tells_variants_apart_by_their_window(tmp_path):
    from zcbench.analysis.lswag_ablation import ablation_table

    rng = np.random.default_rng(1)
    acc = rng.normal(size=30)
    rows = []
    base = "input=cifar10;batch=64x3x32x32;mini_batches=2;psi_from=first;variance_over=samples"
    for proxy, lo, hi, noise in [("lswag", 30, 59, 0.1), ("lswag", 0, 100, 1.0),
                                 ("lswag_lambda", 30, 59, 0.5), ("lswag_psi", 30, 59, 2.0)]:
        for i, a in enumerate(acc):
            rows.append({"task": "nb201_cifar10", "proxy": proxy, "arch": f"a{i}", "seed": 1,
                         "settings": f"{base};window_hi={hi};window_lo={lo}", "score": a + noise * rng.normal(),
                         "seconds": 0.0, "error": "", "accuracy": a})
    table = ablation_table(pd.DataFrame(rows))
    row = table.iloc[0]
    assert row["window"] == "30-59" and row["n_archs"] == 30 and row["paper L-SWAG"] == 0.79
    assert row["L-SWAG (window)"] > row["L-SWAG (all layers)"] and row["L-SWAG (window)"] > 0.9
    assert row["Psi only (window)"] < row["Lambda only (window)"]
