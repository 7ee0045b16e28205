"""synflow and zen on TransNAS-Bench-101's dense decoders (autoencoder, normal, segmentsemantic)."""
from __future__ import annotations

import math
import random

import pytest
import torch
from scipy.stats import spearmanr
from torch import nn

from zcbench.analysis.proxy_validation import full_space_scores
from zcbench.tasks.task import load_task
from zcbench.errors import BadOptionError
from zcbench.harness import apply_task_options
from zcbench.proxies import score_network
from zcbench.spaces import get_space


def test_synflow_bypasses_a_saturating_output_by_hand():
    torch.manual_seed(2)
    a, b = nn.Linear(3, 4, bias=False), nn.Linear(4, 2, bias=False)
    w1 = a.weight.detach().double().abs().numpy()
    w2 = b.weight.detach().double().abs().numpy()
    expected = (w1 * w2.sum(0)[:, None]).sum() + (w2 * w1.sum(1)[None, :]).sum()  # the linear network's flow
    net = nn.Sequential(a, nn.ReLU(), b, nn.Tanh())
    x = torch.randn(5, 3)
    bypassed = score_network(net, x, None, ["synflow"], {"synflow": {"log": False, "saturating": "bypass"}})
    assert bypassed["synflow"].score == pytest.approx(expected, rel=1e-12)
    kept = score_network(net, x, None, ["synflow"], {"synflow": {"log": False}})["synflow"].score
    assert 0 <= kept < expected  # kept, tanh' < 1 damps every path's flow
    with pytest.raises(BadOptionError, match="valid values: keep, bypass"):  # never a cached failure
        score_network(net, x, None, ["synflow"], {"synflow": {"saturating": "drop"}})


@pytest.mark.parametrize("task", ["tnb101_micro_autoencoder", "tnb101_macro_normal", "tnb101_micro_normal_best"])
def test_tanh_decoder_tasks_bypass_it_in_synflow_and_others_do_not(task):
    assert apply_task_options({"synflow": {"saturating": None}}, load_task(task))["synflow"]["saturating"] == "bypass"
    for other in ("tnb101_micro_class_scene", "tnb101_micro_segmentsemantic", "nb201_cifar10"):
        assert apply_task_options({"synflow": {"saturating": None}}, load_task(other))["synflow"]["saturating"] is None


def _decoder_net(task: str, arch: str, size: int = 64) -> nn.Module:
    t = load_task(task)
    torch.manual_seed(0)
    return get_space(t.space).build(arch, t.num_classes, head=t.space_options["head"], image_size=size)


def test_synflow_ranks_tanh_decoders_once_bypassed():
    task = "tnb101_micro_autoencoder"
    space = get_space(load_task(task).space)
    archs = [space.sample(random.Random(i)) for i in range(3)]
    x = torch.randn(2, 3, 64, 64)
    kept, bypassed = [], []
    for arch in archs:
        net = _decoder_net(task, arch)
        kept.append(score_network(net, x, None, ["synflow"])["synflow"].score)
        bypassed.append(score_network(net, x, None, ["synflow"], {"synflow": {"saturating": "bypass"}})["synflow"].score)
    assert kept == [0.0, 0.0, 0.0]  # the Tanh saturates: no flow, no ranking
    assert all(math.isfinite(s) and s > 10 for s in bypassed) and len(set(bypassed)) == 3


def test_zen_reads_dense_decoders_before_their_last_conv_and_agrees_with_naslib(real_data):
    task = "tnb101_micro_autoencoder"
    full = full_space_scores(real_data, task, "zen")
    if full is None:
        from conftest import missing_data

        missing_data("no full_space/all_benchmarks_zen in the data folder")
    full = full.set_index("arch")
    picked = random.Random(5).sample(sorted(full.index), 8)
    x = torch.zeros(4, 3, 64, 64)  # zen draws its own Gaussian inputs of this shape
    ours = []
    for arch in picked:
        res = score_network(_decoder_net(task, arch), x, None, ["zen"])["zen"]
        assert res.ok, res.error
        ours.append(res.score)
    # NASLib scored every TNB arch at 256 px with the same recipe (features before the last conv)
    assert spearmanr(ours, full.loc[picked, "ref"]).statistic >= 0.9


def test_other_tasks_keep_their_synflow_cache_key():
    # the option is not in zcbench/conf/proxy/synflow.yaml, so tasks that do not set it key synflow as before
    from zcbench.harness import compose

    cfg = compose(["task=nb201_cifar10", "proxy=synflow"])
    assert "saturating" not in cfg.proxy.synflow
    dense = apply_task_options({"synflow": dict(cfg.proxy.synflow)}, load_task("tnb101_macro_autoencoder"))
    assert dense["synflow"]["saturating"] == "bypass"
