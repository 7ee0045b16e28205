"""NASLib / foresight proxies (l2_norm, plain, grasp, fisher, jacov, epe_nas):
hand-computed tiny cases, definitional properties (conformance: tests/test_proxies.py)."""
from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch
from torch import nn

import zcbench.proxies.jacobian  # noqa: F401  (registers jacov, epe_nas)
import zcbench.proxies.saliency  # noqa: F401  (registers l2_norm, plain, grasp, fisher)
from zcbench.proxies import PROXIES, score_network
from zcbench.proxies.base import TaskTraits
from zcbench.proxies.jacobian import epe_nas_from_jacobian, jacov_from_jacobian

from conftest import ce_grad, linear_case, softmax, tiny_cnn

NAMES = ["l2_norm", "plain", "grasp", "fisher", "jacov", "epe_nas"]
K = 1e-5


def _state(net: nn.Module) -> dict:
    return {k: v.clone() for k, v in net.state_dict().items()}



def test_all_together_equal_each_alone(tiny_batch):
    """Sharing the probe's passes does not change any score."""
    x, y = tiny_batch
    torch.manual_seed(0)
    net = tiny_cnn()
    together = score_network(net, x, y, NAMES)
    for name in NAMES:
        assert score_network(net, x, y, [name])[name].score == together[name].score


def test_label_needs():
    needs = {n: PROXIES.get(n).needs for n in NAMES}
    assert {n for n, v in needs.items() if v.labels} == {"plain", "grasp", "fisher", "epe_nas"}


# ------------------------------------------------------- hand-computed cases
def test_l2_norm_by_hand():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 4, 3, bias=True), nn.BatchNorm2d(4), nn.ReLU(),
                        nn.Flatten(), nn.Linear(4 * 4 * 4, 5))
    expected = sum(np.sqrt((m.weight.detach().double().numpy() ** 2).sum())
                   for m in (net[0], net[4]))  # weights only: no biases, no BatchNorm
    x = torch.randn(2, 3, 6, 6)
    assert score_network(net, x, None, ["l2_norm"])["l2_norm"].score == pytest.approx(expected, rel=1e-12)


def test_plain_by_hand_is_signed():
    net, x, y, w = linear_case()
    g = ce_grad(w, x.numpy().astype(np.float64), y.numpy())
    got = score_network(net, x, y, ["plain", "snip"])
    assert got["plain"].score == pytest.approx((g * w).sum(), rel=1e-5)
    assert got["snip"].score == pytest.approx(np.abs(g * w).sum(), rel=1e-5)
    assert abs(got["plain"].score) < got["snip"].score  # signs cancel in plain


def test_grasp_by_hand_linear_classifier():
    """Mean CE of z = W x: H g = (1/B) sum_i (diag p_i - p_i p_i^T) G x_i x_i^T; score = -sum W * Hg."""
    net, x, y, w = linear_case()
    xs = x.numpy().astype(np.float64)
    g = ce_grad(w, xs, y.numpy())
    p = softmax(xs @ w.T)
    hg = np.zeros_like(w)
    for pi, xi in zip(p, xs):
        u = g @ xi
        hg += np.outer((np.diag(pi) - np.outer(pi, pi)) @ u, xi)
    hg /= len(xs)
    got = score_network(net, x, y, ["grasp"])["grasp"].score
    assert got == pytest.approx(-(w * hg).sum(), rel=1e-4)


def test_grasp_matches_full_hessian_two_layers():
    """Cross-layer Hessian blocks included: compare with the explicit Hessian over all scored weights."""
    torch.manual_seed(5)
    net = nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 3, bias=False))
    x, y = torch.randn(10, 4), torch.randint(0, 3, (10,))
    w1, b1, w2 = (p.detach().double() for p in (net[0].weight, net[0].bias, net[2].weight))
    xd = x.double()

    def loss(flat):
        a, b = flat[:24].view(6, 4), flat[24:].view(3, 6)
        return nn.functional.cross_entropy(torch.tanh(xd @ a.T + b1) @ b.T, y)

    flat = torch.cat([w1.reshape(-1), w2.reshape(-1)])
    g = torch.autograd.functional.jacobian(loss, flat)
    hess = torch.autograd.functional.hessian(loss, flat)
    expected = -(flat * (hess @ g)).sum().item()
    got = score_network(net, x, y, ["grasp"])["grasp"].score
    assert got == pytest.approx(expected, rel=1e-4)


def test_fisher_by_hand_linear_classifier():
    """act = logits z; dL/dz = (p - onehot) / B; fisher_k = 0.5 mean_n (z_nk dL/dz_nk)^2."""
    net, x, y, w = linear_case()
    xs = x.numpy().astype(np.float64)
    z = xs @ w.T
    dz = softmax(z)
    dz[np.arange(len(y)), y.numpy()] -= 1
    dz /= len(y)
    per_channel = 0.5 * ((z * dz) ** 2).mean(0)
    plain_sum = per_channel.sum()
    got = score_network(net, x, y, ["fisher"], {"fisher": {"weight_by_fan_in": False}})["fisher"].score
    assert got == pytest.approx(plain_sum, rel=1e-4)
    naslib = score_network(net, x, y, ["fisher"])["fisher"].score  # each channel counted in_features times
    assert naslib == pytest.approx(3 * plain_sum, rel=1e-4)


def test_fisher_reads_conv_output_before_batchnorm():
    """Independent autograd reference: act = raw conv output (before BN/ReLU), summed over positions."""
    torch.manual_seed(2)
    net = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4), nn.ReLU(),
                        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 5, bias=False))
    x, y = torch.randn(6, 3, 5, 5), torch.randint(0, 5, (6,))
    ref = _state(net)
    work = copy.deepcopy(net).train()
    conv_out = work[0](x)
    conv_out.retain_grad()
    h = work[3](work[2](work[1](conv_out)))
    lin_in = work[4](h)
    logits = work[5](lin_in)
    logits.retain_grad()
    nn.functional.cross_entropy(logits, y).backward()
    conv_k = 0.5 * (conv_out * conv_out.grad).sum((2, 3)).double().pow(2).mean(0)
    lin_k = 0.5 * (logits * logits.grad).double().pow(2).mean(0)
    expected = 3 * 9 * conv_k.sum().item() + 4 * lin_k.sum().item()
    got = score_network(net, x, y, ["fisher"])["fisher"].score
    assert got == pytest.approx(expected, rel=1e-4)
    assert all(torch.equal(ref[k], v) for k, v in net.state_dict().items())


def _relu_rows(signs: np.ndarray):
    """Flatten -> ReLU: d(sum of outputs)/dx = 1[x > 0], so the Jacobian rows are the sign pattern."""
    x = torch.tensor(np.where(signs > 0, 1.0, -1.0), dtype=torch.float32)
    return nn.Sequential(nn.ReLU()), x, (signs > 0).astype(np.float64)


def test_jacov_rank_one_by_hand():
    """A linear map has the same Jacobian for every sample: corr = all ones, eigenvalues B, 0, ..., 0."""
    torch.manual_seed(0)
    net = nn.Linear(5, 3, bias=False)
    x = torch.randn(6, 5)
    b = 6
    expected = -((math.log(b + K) + 1 / (b + K)) + (b - 1) * (math.log(K) + 1 / K))
    got = score_network(net, x, None, ["jacov"])["jacov"].score
    assert got == pytest.approx(expected, rel=1e-6)


def test_jacov_relu_by_hand():
    rng = np.random.default_rng(0)
    signs = rng.choice([-1, 1], size=(7, 12))
    net, x, rows = _relu_rows(signs)
    v = np.linalg.eigvalsh(np.corrcoef(rows))
    expected = -np.sum(np.log(v + K) + 1 / (v + K))
    assert score_network(net, x, None, ["jacov"])["jacov"].score == pytest.approx(expected, rel=1e-9)


def test_jacov_uncorrelated_is_the_maximum():
    """Orthogonal centred rows: corr = I, all eigenvalues 1, score = -B (1 + log(1 + k) - k/(1 + k)) ~ -B."""
    rows = np.array([[1, -1, 1, -1], [1, 1, -1, -1], [1, -1, -1, 1]], dtype=float)
    assert jacov_from_jacobian(rows) == pytest.approx(-3 * (math.log(1 + K) + 1 / (1 + K)), rel=1e-12)
    rng = np.random.default_rng(1)
    for _ in range(5):
        assert jacov_from_jacobian(rng.standard_normal((3, 4))) < jacov_from_jacobian(rows)


def test_jacobian_proxies_fail_on_constant_jacobian():
    """Output independent of the input: NaN correlations, recorded as failures (NASLib: -1e8)."""
    net = nn.Sequential(nn.Linear(4, 3, bias=False))
    nn.init.zeros_(net[0].weight)
    x, y = torch.randn(6, 4), torch.tensor([0, 0, 1, 1, 2, 2])
    res = score_network(net, x, y, ["jacov", "epe_nas"])
    for name in ("jacov", "epe_nas"):
        assert not res[name].ok and "constant input Jacobian" in res[name].error
        assert math.isnan(res[name].score)


def _epe_case():
    # class 0: patterns 1100 / 1010 (corr 0); class 1: 1100 / 0011 (corr -1); class 2: one sample
    signs = np.array([[1, 1, -1, -1], [1, -1, 1, -1], [1, 1, -1, -1], [-1, -1, 1, 1], [1, -1, -1, 1]])
    labels = torch.tensor([0, 0, 1, 1, 2])
    return signs, labels


def test_epe_nas_by_hand_few_classes():
    signs, labels = _epe_case()
    net, x, _ = _relu_rows(signs)
    s0 = 2 * math.log(1 + K) + 2 * math.log(K)
    s1 = 4 * math.log(1 + K)
    s2 = math.log(1 + K)
    expected = abs(s0) + abs(s1) + abs(s2)
    got = score_network(net, x, labels, ["epe_nas"], {"epe_nas": {"n_classes": 10}})["epe_nas"]
    assert got.score == pytest.approx(expected, rel=1e-9)


def test_epe_nas_by_hand_many_classes():
    """> 100 classes: s_c / n_c, single-sample classes dropped, mean pairwise |difference|."""
    signs, labels = _epe_case()
    net, x, _ = _relu_rows(signs)
    s0 = (2 * math.log(1 + K) + 2 * math.log(K)) / 2
    s1 = 4 * math.log(1 + K) / 2
    expected = 2 * abs(s0 - s1) / 2
    got = score_network(net, x, labels, ["epe_nas"], {"epe_nas": {"n_classes": 120}})["epe_nas"]
    assert got.score == pytest.approx(expected, rel=1e-9)


def test_epe_nas_reads_output_width_from_head():
    signs, labels = _epe_case()
    _, x, rows = _relu_rows(signs)
    for width in (10, 120):
        net = nn.Sequential(nn.Linear(4, width, bias=False), nn.ReLU())
        got = score_network(net, x, labels, ["epe_nas"])["epe_nas"].score
        jac = torch.autograd.functional.jacobian(lambda t: net(t).sum(), x).numpy().astype(np.float64)
        assert got == pytest.approx(epe_nas_from_jacobian(jac, labels.numpy(), width), rel=1e-9)
    no_head = score_network(nn.Sequential(nn.ReLU()), x, labels, ["epe_nas"])["epe_nas"]
    assert not no_head.ok and "n_classes" in no_head.error


def test_epe_nas_needs_labels():
    """Without labels EPE-NAS does not apply: declared (the harness skips it), and an error if called anyway."""
    assert "has none" in PROXIES.get("epe_nas").needs.unmet(TaskTraits.from_batch("t", None))
    signs, _ = _epe_case()
    net, x, _ = _relu_rows(signs)
    with pytest.raises(ValueError, match="labels"):
        score_network(net, x, None, ["epe_nas"], {"epe_nas": {"n_classes": 10}})


@pytest.mark.parametrize("targets", [torch.randn(4, 9), torch.zeros(4, 3, 2, 2, dtype=torch.long)])
def test_epe_nas_refuses_dense_and_regression_targets(targets):
    """EPE-NAS groups samples by class; room_layout (B x 9 floats) or per-pixel labels have no such class:
    the proxy declares it (skipped once per task, no rows), and refuses if called anyway."""
    reason = PROXIES.get("epe_nas").needs.unmet(TaskTraits.from_batch("room", targets))
    assert "one class label per sample" in reason and str(tuple(targets.shape)) in reason
    assert PROXIES.get("epe_nas").needs.unmet(TaskTraits.from_batch("c10", torch.tensor([0, 1, 1, 2]))) is None
    signs, _ = _epe_case()
    net, x, _ = _relu_rows(signs)
    with pytest.raises(ValueError, match="groups samples by class label"):
        score_network(net, x[:4], targets, ["epe_nas"], {"epe_nas": {"n_classes": 10}},
                      loss_fn=lambda out, t: out.sum())
