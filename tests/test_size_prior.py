"""swap_reg's size priors: NB201's calibrated shape moved to each task's range, and the task configs that hold them."""
from __future__ import annotations

import re
import shutil

import pytest
import torch
from omegaconf import OmegaConf

from zcbench.benchmarks.tasks import CONF_DIR, load_task, task_names
from zcbench.layer_selection import Window, write_window
from zcbench.proxies.scoring import score_network
from zcbench.proxies.size_prior import (NB201_PRIOR, NB201_RANGE_K, autoformer_range_k, prior_from_range,
                                        task_prior, write_prior)
from zcbench.proxies.swap_reg import param_thousands, regular_factor
from zcbench.spaces import get_space

from conftest import tiny_cnn


def test_the_rule_gives_back_nb201s_calibration_on_nb201s_range():
    mu, sigma = prior_from_range(*NB201_RANGE_K)
    assert mu == pytest.approx(NB201_PRIOR[0], abs=0.1) and sigma == pytest.approx(NB201_PRIOR[1], rel=1e-3)


def test_nb201_range_is_its_smallest_and_largest_cell():
    space = get_space("nb201")
    sizes = [param_thousands(space.build(space.canonical(
        f"|{op}~0|+|{op}~0|{op}~1|+|{op}~0|{op}~1|{op}~2|"), 10)) for op in ("none", "nor_conv_3x3")]
    assert sizes == pytest.approx(list(NB201_RANGE_K), abs=1e-3)


@pytest.mark.parametrize("lo, hi", [(73.306, 1531.546), (293.0, 30679.0), (5030.0, 10097.0)])
def test_every_range_gets_the_same_shape(lo, hi):
    """The smallest network keeps the same fraction of the weight as NB201's smallest, the largest ~1."""
    mu, sigma = prior_from_range(lo, hi)
    nb201 = [regular_factor(p, *NB201_PRIOR) for p in NB201_RANGE_K]
    assert [regular_factor(lo, mu, sigma), regular_factor(hi, mu, sigma)] == pytest.approx(nb201, rel=2e-3)


def test_bad_range_is_named():
    with pytest.raises(Exception, match="0 <= lo < hi"):
        prior_from_range(10.0, 5.0)


def test_autoformer_range_brackets_sampled_subnets():
    import random

    from zcbench.spaces.autoformer_net import param_count

    task = load_task("autoformer_t_cifar10")
    space = get_space(task.space)
    lo, hi = autoformer_range_k(task)
    opts = space.options(**task.space_options)
    rng = random.Random(0)
    for _ in range(50):
        p = param_count(space.subnet(space.sample(rng)), task.num_classes, opts) / 1e3
        assert lo <= p <= hi


def _config_prior(name: str) -> tuple[float, float]:
    cfg = OmegaConf.to_container(OmegaConf.load(CONF_DIR / "task" / f"{name}.yaml"), resolve=False)
    chosen = (cfg.get("proxy_options") or {}).get("swap_reg")
    assert chosen, f"task {name} sets no swap_reg prior (python -m zcbench.proxies.size_prior --write)"
    return chosen["mu"], chosen["sigma"]


@pytest.mark.parametrize("name", [n for n in task_names() if load_task(n).space.startswith(("autoformer", "nb201"))])
def test_vit_and_nb201_task_configs_hold_their_prior(name):
    (mu, sigma), _, _ = task_prior(load_task(name), None)
    assert _config_prior(name) == (mu, sigma)


def test_every_other_task_config_holds_its_prior(real_data):
    for name in task_names():
        (mu, sigma), source, _ = task_prior(load_task(name), real_data)
        assert _config_prior(name) == (mu, sigma), f"{name}: config differs from {source}"


def test_no_prior_means_plain_swap():
    x = torch.randn(16, 3, 8, 8)
    got = score_network(tiny_cnn(), x, None, ["swap", "swap_reg"], {"swap_reg": {"mu": None, "sigma": None}})
    assert got["swap_reg"].score == got["swap"].score


def test_write_prior_is_idempotent_and_survives_zcbench_layers(tmp_path):
    path = tmp_path / "nb201_cifar10.yaml"
    shutil.copy(CONF_DIR / "task" / "nb201_cifar10.yaml", path)
    line = "  swap_reg: {mu: 1.0, sigma: 2.0}   # test"
    write_prior(path, line)
    once = path.read_text()
    write_prior(path, line)
    assert path.read_text() == once and once.count("swap_reg:") == 1
    write_window(path, Window(lo_bin=1, hi_bin=2, criterion="spike", reason="test window"), "test provenance")
    chosen = OmegaConf.to_container(OmegaConf.load(path))["proxy_options"]
    assert chosen["swap_reg"] == {"mu": 1.0, "sigma": 2.0} and chosen["lswag"] == {"window_lo": 10, "window_hi": 29}
    assert len(re.findall(r"^proxy_options:", path.read_text(), flags=re.MULTILINE)) == 1


def _calibration_frame(n: int = 700, seed: int = 0):
    """swap and params of made-up archs whose accuracy peaks at 1,500 thousand parameters."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    archs = [f"arch{i:04d}" for i in range(n)]
    p = rng.uniform(70, 1530, size=n)
    swap = rng.uniform(100, 200, size=n)
    acc = np.log(swap) - ((p - 1500.0) ** 2) / 1e6 + rng.normal(0, 0.01, size=n)
    rows = [{"task": "nb201_cifar100", "arch": a, "proxy": proxy, "seed": 0, "score": float(v), "error": "",
             "accuracy": float(acc[i])} for proxy, values in (("swap", swap), ("params", p * 1e3))
            for i, (a, v) in enumerate(zip(archs, values))]
    return pd.DataFrame(rows)


def test_calibration_finds_the_generating_prior_on_tuning_archs_only():
    from zcbench.ensembles import split_archs
    from zcbench.proxies.size_prior import calibrate, calibration_pool

    frame = _calibration_frame()
    archs, grid, best = calibrate(frame, size=150, seed=1)
    assert best == (1500.0, 1e6) and len(grid) == 30
    tune, _ = split_archs(sorted(set(frame["arch"])))
    assert len(archs) == 150 and set(archs) <= set(tune) and archs == sorted(archs)
    assert calibrate(frame, size=150, seed=1)[0] == archs            # reproducible
    assert set(calibration_pool(frame)) == set(tune)
    with pytest.raises(Exception, match="calibration needs 5000"):
        calibrate(frame, size=5000)


def test_committed_calibration_archs_are_what_the_cache_gives():
    """zcbench/conf/proxy/swap_reg_prior_archs.txt is what --calibrate writes from the committed NB201 CIFAR-100 cache."""
    from pathlib import Path

    from zcbench.cache import load_scores
    from zcbench.proxies.size_prior import PRIOR_ARCHS, calibrate, prior_archs

    cache = Path(__file__).resolve().parents[1] / "results" / "cache" / "nb201_cifar100"
    if not (cache / "scores.h5").exists():
        pytest.skip("no committed nb201_cifar100 cache")
    frame = load_scores(cache)
    archs, _, best = calibrate(frame[frame["task"] == "nb201_cifar100"])
    assert best == NB201_PRIOR
    assert archs == prior_archs(PRIOR_ARCHS)


def test_lswag_window_counts_as_chosen_with_ground_truth_only_with_the_correlation_criterion(tmp_path):
    import json

    from zcbench.analysis.chosen_on import _lswag_window

    folder = tmp_path / "nb201_cifar10"
    folder.mkdir()
    (folder / "archs.txt").write_text("# sampled\narchA\narchB\n")
    window = {"window_lo": 30, "window_hi": 50, "criterion": "correlation"}
    (folder / "window.json").write_text(json.dumps(window))
    assert _lswag_window("nb201_cifar10", "input=x;window_lo=30;window_hi=50", tmp_path) == ["archA", "archB"]
    assert _lswag_window("nb201_cifar10", "input=x;window_lo=80;window_hi=99", tmp_path) is None  # other window
    (folder / "window.json").write_text(json.dumps({**window, "criterion": "spike"}))  # reads no accuracies
    assert _lswag_window("nb201_cifar10", "input=x;window_lo=30;window_hi=50", tmp_path) is None
