"""Per-sample proxies (gradsign, lswag, lswag_lambda, meco) and ntk on networks outside NB201:
a TransNAS-Bench-101 macro net at 64 px (its last maps are 1x1) and an NB301 net."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from zcbench.benchmarks.tasks import load_task
from zcbench.proxies import Probe, score_network
from zcbench.spaces import get_space

PER_SAMPLE = ["gradsign", "lswag", "lswag_lambda", "meco"]


class _OneByOne(nn.Module):
    """conv -> BN -> ReLU -> pool to 1x1 -> conv -> BN (one value per channel per sample) -> ReLU -> linear."""

    def __init__(self):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(3, 4, 3, bias=False), nn.BatchNorm2d(4)
        self.conv2, self.bn2 = nn.Conv2d(4, 5, 1, bias=False), nn.BatchNorm2d(5)
        self.fc = nn.Linear(5, 3)

    def forward(self, x):
        h = F.adaptive_avg_pool2d(F.relu(self.bn1(self.conv1(x))), 1)
        return self.fc(F.relu(self.bn2(self.conv2(h))).flatten(1))


def _by_hand(net: _OneByOne, x: torch.Tensor, y: torch.Tensor) -> list[dict[str, torch.Tensor]]:
    """Per-sample dL_i/dW: bn1 on the sample alone (GradSign's batch-one loop), bn2 with the batch's
    statistics of its input (computed from every sample's own path), held fixed."""
    def head(xi):
        return F.adaptive_avg_pool2d(F.relu(F.batch_norm(net.conv1(xi), None, None, net.bn1.weight, net.bn1.bias,
                                                         True, 0.0, net.bn1.eps)), 1)
    with torch.no_grad():
        pre = torch.cat([net.conv2(head(x[i:i + 1])) for i in range(len(x))])
        mean, var = pre.mean((0, 2, 3)), pre.var((0, 2, 3), unbiased=False)
    grads = []
    for i in range(len(x)):
        net.zero_grad()
        z = F.batch_norm(net.conv2(head(x[i:i + 1])), mean, var, net.bn2.weight, net.bn2.bias, False, 0.0, net.bn2.eps)
        F.cross_entropy(net.fc(F.relu(z).flatten(1)), y[i:i + 1]).backward()
        grads.append({n: m.weight.grad.clone() for n, m in (("conv1", net.conv1), ("conv2", net.conv2), ("fc", net.fc))})
    return grads


def test_per_sample_gradients_use_batch_statistics_only_where_a_sample_has_one_value_per_channel():
    torch.manual_seed(0)
    net = _OneByOne()
    g = torch.Generator().manual_seed(1)
    x, y = torch.randn(6, 3, 5, 5, generator=g), torch.randint(0, 3, (6,), generator=g)
    with pytest.raises(ValueError, match="Expected more than 1 value per channel"):
        net.train()(x[:1])  # what the authors' batch-one loop meets
    stats = Probe(net, x, y).per_sample_gradients()
    expected = _by_hand(net, x, y)
    for name in ("conv1", "conv2", "fc"):
        stacked = torch.stack([e[name] for e in expected]).double()
        assert torch.allclose(stats[name].mean, stacked.mean(0), rtol=1e-4, atol=1e-5)
        assert torch.allclose(stats[name].sq_total, (stacked ** 2).sum(0), rtol=1e-4, atol=1e-5)
        assert torch.equal(stats[name].sign_total, torch.sign(stacked).sum(0))


def _tnb_macro(arch: str) -> nn.Module:
    task = load_task("tnb101_macro_class_scene")
    torch.manual_seed(0)
    return get_space(task.space).build(arch, task.num_classes, head=task.space_options["head"], image_size=64)


def test_per_sample_proxies_score_a_tnb_macro_net_whose_last_maps_are_1x1():
    net = _tnb_macro("64-343114-basic")  # failed before on every per-sample proxy
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(8, 3, 64, 64, generator=g), torch.randint(0, 63, (8,), generator=g)
    with pytest.raises(ValueError, match="Expected more than 1 value per channel"):
        net.train()(x[:1])
    res = score_network(net, x, y, PER_SAMPLE)
    for name in PER_SAMPLE:
        assert res[name].ok and math.isfinite(res[name].score), (name, res[name].error)
    assert res["gradsign"].score > 0 and res["lswag_lambda"].score != 0


def test_ntk_scores_bn_ended_tnb_macro_and_nb301_nets():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(6, 3, 64, 64, generator=g)
    tnb = score_network(_tnb_macro("64-31341-basic"), x, None, ["ntk"])["ntk"]
    assert tnb.ok and math.isfinite(tnb.score) and tnb.score < 0, tnb.error
    task = load_task("nb301_cifar10")
    space = get_space(task.space)
    torch.manual_seed(0)
    net = space.build(space.sample(__import__("random").Random(0)), 10, **task.space_options)
    res = score_network(net, torch.randn(6, 3, 32, 32, generator=g), torch.randint(0, 10, (6,), generator=g),
                        ["ntk", *PER_SAMPLE])
    for name, r in res.items():
        assert r.ok and math.isfinite(r.score), (name, r.error)
    assert res["ntk"].score < 0  # -log(condition number), condition number > 1
