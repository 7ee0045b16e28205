"""Per-sample proxies (gradsign, lswag, lswag_lambda, meco) and ntk on networks outside NB201:
a TransNAS-Bench-101 macro net at 64 px (its last maps are 1x1) and an NB301 net."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from zcbench.tasks.task import load_task
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


class _BNEnded(nn.Module):
    """conv -> BN -> global pooling -> linear: per-sample BN statistics leave the pooled features at 0."""

    def __init__(self):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(3, 4, 3, bias=False), nn.BatchNorm2d(4)
        self.fc = nn.Linear(4, 3)

    def forward(self, x):
        return self.fc(F.adaptive_avg_pool2d(self.bn1(self.conv1(F.relu(x))), 1).flatten(1))


def _fixed_batch_norm(x: torch.Tensor, bn: nn.BatchNorm2d, stats: dict, name: str) -> torch.Tensor:
    """BN with the batch statistics of its input recorded in `stats` on the first (whole-batch) call."""
    if name not in stats:
        stats[name] = (x.detach().mean((0, 2, 3)), x.detach().var((0, 2, 3), unbiased=False))
    return F.batch_norm(x, *stats[name], bn.weight, bn.bias, False, 0.0, bn.eps)


def _by_hand(net: nn.Module, x: torch.Tensor, y: torch.Tensor, forward) -> dict[str, torch.Tensor]:
    """Per-sample dL_i/dW, one backward per sample, batch statistics recorded by a whole-batch forward
    and held fixed wherever `forward` uses them."""
    stats: dict = {}
    with torch.no_grad():
        forward(net, x, stats)  # records the batch statistics layer by layer
    layers = [(n, m) for n, m in net.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    grads: dict[str, list] = {n: [] for n, _ in layers}
    for i in range(len(x)):
        net.zero_grad()
        F.cross_entropy(forward(net, x[i:i + 1], stats), y[i:i + 1]).backward()
        for n, m in layers:
            grads[n].append(m.weight.grad.clone())
    return {n: torch.stack(g).double() for n, g in grads.items()}


def _one_by_one_forward(net, x, stats):
    """bn1 on each sample alone (its map has 9 positions), bn2 (one value per channel) with batch statistics."""
    h = torch.cat([F.batch_norm(net.conv1(x[i:i + 1]), None, None, net.bn1.weight, net.bn1.bias, True, 0.0,
                                net.bn1.eps) for i in range(len(x))])
    h = F.adaptive_avg_pool2d(F.relu(h), 1)
    return net.fc(F.relu(_fixed_batch_norm(net.conv2(h), net.bn2, stats, "bn2")).flatten(1))


def _bn_ended_forward(net, x, stats):
    return net.fc(F.adaptive_avg_pool2d(_fixed_batch_norm(net.conv1(F.relu(x)), net.bn1, stats, "bn1"), 1).flatten(1))


@pytest.mark.parametrize("make, forward, why, mode", [
    (_OneByOne, _one_by_one_forward, "one value per channel", "sample+1x1"),
    (_BNEnded, _bn_ended_forward, "per-sample output constant", "batch"),
])
def test_per_sample_gradients_use_fixed_batch_statistics_where_per_sample_ones_fail(make, forward, why, mode):
    torch.manual_seed(0)
    net = make()
    g = torch.Generator().manual_seed(1)
    x, y = torch.randn(6, 3, 5, 5, generator=g), torch.randint(0, 3, (6,), generator=g)
    if why == "one value per channel":
        with pytest.raises(ValueError, match="Expected more than 1 value per channel"):
            net.train()(x[:1])  # what the authors' batch-one loop meets
    else:
        alone = torch.cat([net.train()(x[i:i + 1]) for i in range(len(x))]).detach()
        assert torch.allclose(alone, net.fc.bias.detach().expand_as(alone), atol=1e-6)  # the bias, whatever x
    probe = Probe(net, x, y)
    stats = probe.per_sample_gradients()
    assert probe.per_sample_statistics == mode
    expected = _by_hand(net, x, y, forward)
    for name, stacked in expected.items():
        assert stacked.abs().max() > 1e-3  # real gradients, not round-off
        assert torch.allclose(stats[name].abs_mean, stacked.abs().mean(0), rtol=1e-4, atol=1e-6)
        assert torch.allclose(stats[name].sq_total, (stacked ** 2).sum(0), rtol=1e-4, atol=1e-6)
        assert torch.equal(stats[name].sign_total, torch.sign(stacked).sum(0))


def test_per_sample_gradients_keep_each_samples_own_statistics_where_they_work():
    """ReLU between BN and the pooling (NB201, NB101): the authors' batch-one loop, bit for bit."""
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 4, 3, bias=False), nn.BatchNorm2d(4), nn.ReLU(),
                        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 3))
    g = torch.Generator().manual_seed(1)
    x, y = torch.randn(6, 3, 5, 5, generator=g), torch.randint(0, 3, (6,), generator=g)
    probe = Probe(net, x, y)
    stats = probe.per_sample_gradients()
    assert probe.per_sample_statistics == "sample"
    loop = []
    for i in range(len(x)):
        net.zero_grad()
        F.cross_entropy(net.train()(x[i:i + 1]), y[i:i + 1]).backward()
        loop.append(net[0].weight.grad.clone())
    loop = torch.stack(loop).double()
    assert torch.allclose(stats["0"].abs_mean, loop.abs().mean(0), rtol=1e-5, atol=1e-7)
    assert torch.allclose(stats["0"].sq_total, (loop ** 2).sum(0), rtol=1e-5, atol=1e-9)
    assert torch.equal(stats["0"].sign_total, torch.sign(loop).sum(0))


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
    probe = Probe(net, x, y)
    probe.per_sample_gradients()
    assert probe.per_sample_statistics == "batch"
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


def test_grasp_on_an_all_batchnorm_net_is_the_logit_curvature_term():
    """Every conv feeds a train-mode BN: sum_conv w.Hg = -||g_conv||^2 and the classifier's w.Hg cancels it but
    for -(1/N) sum_i (S_i z_i).dz_i[g] (S the softmax Hessian, dz[g] the logits' change along g), so grasp is
    that term, with W h (the classifier's bias left out) for z (README, grasp note). float64 and a tiny BN eps make the identities exact."""
    import copy

    from torch.func import functional_call, jvp, replace_all_batch_norm_modules_

    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 6, 3, bias=False), nn.BatchNorm2d(6, eps=1e-12), nn.ReLU(),
                        nn.Conv2d(6, 8, 3, bias=False), nn.BatchNorm2d(8, eps=1e-12),
                        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 5)).double()
    g = torch.Generator().manual_seed(2)
    x, y = torch.randn(10, 3, 7, 7, generator=g).double(), torch.randint(0, 5, (10,), generator=g)
    grasp = score_network(net, x, y, ["grasp"])["grasp"].score
    layers = [n for n, m in net.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    func = replace_all_batch_norm_modules_(copy.deepcopy(net).train())
    params = dict(func.named_parameters())
    weights = tuple(params[f"{n}.weight"] for n in layers)

    def logits(*w):
        return functional_call(func, {**params, **{f"{n}.weight": v for n, v in zip(layers, w)}}, (x,))

    z = logits(*weights)
    grads = torch.autograd.grad(F.cross_entropy(z, y), weights)
    _, dz = jvp(logits, tuple(w.detach() for w in weights), grads)
    p, wh = z.detach().softmax(1), (z - net[-1].bias).detach()  # the classifier's W h: z without its bias
    s_wh = p * wh - p * (p * wh).sum(1, keepdim=True)
    term = -float((s_wh * dz.detach()).sum()) / len(x)
    conv_sq = float(sum((gr.detach() ** 2).sum() for gr in grads[:-1]))
    assert abs(term) < 0.05 * conv_sq  # a residual, small beside either half
    assert grasp == pytest.approx(term, rel=1e-6)
