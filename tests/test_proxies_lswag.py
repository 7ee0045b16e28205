"""GradSign, regularised SWAP and L-SWAG (with its two factors): hand checks (conformance: tests/test_proxies.py)."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

import zcbench.proxies.gradsign  # noqa: F401  (registers gradsign)
import zcbench.proxies.lswag  # noqa: F401  (registers lswag, lswag_lambda, lswag_psi)
import zcbench.proxies.swap_reg  # noqa: F401  (registers swap_reg)
from zcbench.errors import BadOptionError
from zcbench.proxies import PROXIES, Probe, score_network
from zcbench.proxies.lswag import combine, depth_bin, window_bins
from zcbench.proxies.swap_reg import param_thousands, regular_factor

from conftest import tiny_cnn

NEW = ["gradsign", "swap_reg", "lswag", "lswag_lambda", "lswag_psi"]


# ------------------------------------------------------------ numpy references
def _softmax_minus_onehot(logits: np.ndarray, y: np.ndarray) -> np.ndarray:
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    p[np.arange(len(y)), y] -= 1
    return p  # dL_i/dlogits_i of each sample's own cross-entropy


def _per_sample_two_layer(w1: np.ndarray, w2: np.ndarray, x: np.ndarray, y: np.ndarray):
    """Per-sample dL_i/dW1, dL_i/dW2 of x -> W1 -> W2 (no bias, no nonlinearity), cross-entropy."""
    h = x @ w1.T                                     # (S, hidden)
    d = _softmax_minus_onehot(h @ w2.T, y)           # (S, classes)
    g2 = np.einsum("sc,sh->sch", d, h)               # (S, classes, hidden)
    g1 = np.einsum("sh,si->shi", d @ w2, x)          # (S, hidden, inputs)
    return g1, g2


def _gradsign_ref(*per_sample: np.ndarray) -> float:
    return float(sum(np.abs(np.sign(g).sum(0)).sum() for g in per_sample))


def _lambda_term_ref(g: np.ndarray) -> float | None:
    """log(sum over weights of 1/sqrt(Var_i |g_i|)), zero-variance weights skipped (two-pass numpy)."""
    var = np.abs(g).reshape(len(g), -1).var(0)
    keep = var > 0
    return math.log((1 / np.sqrt(var[keep])).sum()) if keep.any() else None


def _linear_case(dead_input: bool = False):
    torch.manual_seed(3)
    # wrapped: Probe's per-sample pass keys weights as f"{module name}.weight", and a bare
    # Linear as the whole network has the empty module name (it would look up ".weight")
    net = nn.Sequential(nn.Linear(3, 2, bias=False))
    x = torch.randn(8, 3)
    if dead_input:
        x[:, 2] = 0.0   # the weights reading input 2 get a zero gradient from every sample
    y = torch.tensor([0, 1, 1, 0, 1, 0, 0, 1])
    return net, x, y


def _two_layer_case():
    torch.manual_seed(5)
    net = nn.Sequential(nn.Linear(3, 4, bias=False), nn.Linear(4, 2, bias=False))
    x = torch.randn(10, 3)
    y = torch.tensor([0, 1, 1, 0, 1, 0, 0, 1, 1, 0])
    w1 = net[0].weight.detach().double().numpy()
    w2 = net[1].weight.detach().double().numpy()
    g1, g2 = _per_sample_two_layer(w1, w2, x.double().numpy(), y.numpy())
    return net, x, y, g1, g2


# ------------------------------------------------------------------ gradsign
@pytest.mark.parametrize("dead_input", [False, True])
def test_gradsign_by_hand_on_linear_classifier(dead_input):
    net, x, y = _linear_case(dead_input)
    w = net[0].weight.detach().double().numpy()
    xs = x.double().numpy()
    d = _softmax_minus_onehot(xs @ w.T, y.numpy())
    g = np.einsum("sc,si->sci", d, xs)               # per-sample dL_i/dW, (S, 2, 3)
    got = score_network(net, x, y, ["gradsign"])["gradsign"]
    assert got.ok, got.error
    assert got.score == _gradsign_ref(g)
    if dead_input:
        assert got.score <= 2 * 2 * len(y)           # the dead column adds nothing (sign(0) = 0)


def test_gradsign_sums_over_layers():
    net, x, y, g1, g2 = _two_layer_case()
    assert score_network(net, x, y, ["gradsign"])["gradsign"].score == _gradsign_ref(g1, g2)


# ------------------------------------------------------------------ Lambda
@pytest.mark.parametrize("dead_input", [False, True])
def test_lambda_by_hand_on_linear_classifier(dead_input):
    net, x, y = _linear_case(dead_input)
    w = net[0].weight.detach().double().numpy()
    xs = x.double().numpy()
    g = np.einsum("sc,si->sci", _softmax_minus_onehot(xs @ w.T, y.numpy()), xs)
    expected = _lambda_term_ref(g)
    got = score_network(net, x, y, ["lswag_lambda"])["lswag_lambda"]
    assert got.ok, got.error
    assert got.score == pytest.approx(expected, rel=1e-6)


def test_lambda_over_minibatches_by_hand():
    net, x, y = _linear_case()
    w = net[0].weight.detach().double().numpy()
    xs, ys = x.double().numpy(), y.numpy()
    halves = []
    for part in (slice(0, 4), slice(4, 8)):   # mean cross-entropy of each half, as split_gradients
        d = _softmax_minus_onehot(xs[part] @ w.T, ys[part])
        halves.append(d.T @ xs[part] / 4)
    expected = _lambda_term_ref(np.stack(halves))
    got = score_network(net, x, y, ["lswag_lambda"],
                        {"lswag_lambda": {"variance_over": "minibatches"}})["lswag_lambda"]
    assert got.score == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("window, layers", [((0, 100), (0, 1)), ((0, 40), (0,)), ((50, 100), (1,)),
                                            ((50, 50), (1,)), ((0, 0), (0,))])
def test_lambda_window_selects_layers_by_depth_bin(window, layers):
    """Two scored layers: depth bins 0 and 5."""
    net, x, y, g1, g2 = _two_layer_case()
    terms = [_lambda_term_ref(g1), _lambda_term_ref(g2)]
    expected = sum(terms[i] for i in layers)
    opts = {"window_lo": window[0], "window_hi": window[1]}
    got = score_network(net, x, y, ["lswag_lambda"], {"lswag_lambda": opts})["lswag_lambda"]
    assert got.ok, got.error
    assert got.score == pytest.approx(expected, rel=1e-6)


# ------------------------------------------------------------------ Psi / SWAP windowing
class _Branches(nn.Module):
    """Four ReLU layers, each reading its own pair of input features (depth bins 0, 2, 5, 7)."""

    def __init__(self):
        super().__init__()
        self.acts = nn.ModuleList(nn.ReLU() for _ in range(4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([a(x[:, 2 * k:2 * k + 2]) for k, a in enumerate(self.acts)], dim=1)


# Unit (column) patterns over 4 samples, two units per ReLU layer:
#   layer 0: 1100 1010 | layer 1: 1100 0001 | layer 2: 0110 0110 | layer 3: 1010 1111
_COLUMNS = ["1100", "1010", "1100", "0001", "0110", "0110", "1010", "1111"]


def _mlp_case():
    """Identity Linear (8 -> 8) then the four ReLU layers: activation patterns known by construction."""
    codes = np.array([[c[s] == "1" for c in _COLUMNS] for s in range(4)])
    x = torch.tensor(np.where(codes, 1.0, -1.0), dtype=torch.float32)
    lin = nn.Linear(8, 8, bias=False)
    with torch.no_grad():
        lin.weight.copy_(torch.eye(8))
    return nn.Sequential(lin, _Branches()), x, torch.tensor([0, 3, 5, 7])


def _distinct(layers) -> int:
    return len({_COLUMNS[2 * k + u] for k in layers for u in (0, 1)})


@pytest.mark.parametrize("window, psi_from, layers", [
    ((0, 100), "first", (0, 1, 2, 3)),
    ((0, 40), "first", (0, 1)),
    ((0, 10), "first", (0,)),
    ((50, 60), "first", (0, 1, 2)),
    ((50, 60), "window_lo", (2,)),
    ((50, 100), "window_lo", (2, 3)),
    ((30, 40), "first", (0, 1)),        # Psi runs from the first layer: the empty window part is fine
])
def test_psi_windows_on_known_patterns(window, psi_from, layers):
    net, x, y = _mlp_case()
    opts = {"window_lo": window[0], "window_hi": window[1], "psi_from": psi_from}
    got = score_network(net, x, y, ["lswag_psi"], {"lswag_psi": opts})["lswag_psi"]
    assert got.ok, got.error
    assert got.score == _distinct(layers)


def test_psi_over_all_layers_is_swap():
    net, x, y = _mlp_case()
    res = score_network(net, x, y, ["lswag_psi", "swap"])
    assert res["lswag_psi"].score == res["swap"].score == 5


# ------------------------------------------------------------------ windows
def test_depth_bin_is_the_method_formula():
    for depth in range(1, 120):
        for l in range(depth):
            assert depth_bin(l, depth) == int((l / depth) * 100 // (100 / 10))


@pytest.mark.parametrize("lo, hi, bins", [(0, 100, (0, 9)), (30, 50, (3, 5)), (90, 100, (9, 9)),
                                          (35, 59.5, (3, 5)), (0, 0, (0, 0))])
def test_window_bins(lo, hi, bins):
    assert window_bins(lo, hi) == bins


@pytest.mark.parametrize("lo, hi", [(60, 40), (-10, 50), (0, 110)])
def test_window_bins_rejects_bad_windows(lo, hi):
    with pytest.raises(ValueError, match="window"):
        window_bins(lo, hi)


@pytest.mark.parametrize("name, opts", [
    ("lswag_lambda", {"window_lo": 10, "window_hi": 40}),     # two layers: bins 0 and 5 only
    ("lswag", {"window_lo": 10, "window_hi": 40}),
    ("lswag_psi", {"window_lo": 30, "window_hi": 40, "psi_from": "window_lo"}),
])
def test_empty_window_is_a_recorded_failure(name, opts):
    """A window that selects none of this network's layers: a condition of the network (ProxyFailure)."""
    net, x, y = _mlp_case()
    if name != "lswag_psi":
        net, x, y, _, _ = _two_layer_case()
        net = nn.Sequential(*net, nn.ReLU())   # give Psi something to read
    res = score_network(net, x, y, [name], {name: opts})[name]
    assert not res.ok and math.isnan(res.score)
    assert "window" in res.error


@pytest.mark.parametrize("name, opts, named", [
    ("lswag", {"window_lo": 70, "window_hi": 20}, "window"),
    ("lswag_lambda", {"variance_over": "epochs"}, "variance_over"),
    ("lswag_psi", {"psi_from": "middle"}, "psi_from"),
])
def test_bad_option_values_stop_the_run_naming_the_option(name, opts, named):
    """A bad option is the same for every network: an error naming it, never a cached failure."""
    net, x, y = _mlp_case()
    with pytest.raises(BadOptionError, match=named):
        score_network(net, x, y, [name], {name: opts})


# ------------------------------------------------------------------ sign of Lambda x Psi
def test_combine_keeps_higher_is_better_for_both_signs():
    assert combine(2.0, 10.0) == 20.0                       # the paper's product when Lambda >= 0
    assert combine(0.0, 7.0) == 0.0
    assert combine(-2.0, 10.0) == pytest.approx(-0.2)       # Lambda / Psi when Lambda < 0
    for lam in (-3.0, -0.5, 0.0, 0.5, 3.0):                 # more patterns never lower the score
        assert combine(lam, 20.0) >= combine(lam, 10.0)
    for psi in (1.0, 5.0, 50.0):                            # higher Lambda always raises it
        values = [combine(lam, psi) for lam in (-3.0, -1.0, -0.1, 0.0, 0.1, 1.0, 3.0)]
        assert values == sorted(values)
    with pytest.raises(ValueError):
        combine(1.0, 0.0)


def test_lswag_with_negative_lambda_divides_by_psi():
    """Huge inputs give noisy, huge gradients: sum of 1/sqrt(var) < 1, so Lambda < 0."""
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(3, 4, bias=False), nn.ReLU(), nn.Linear(4, 2, bias=False))
    x = torch.randn(16, 3) * 1e4
    y = torch.arange(16) % 2
    res = score_network(net, x, y, ["lswag", "lswag_lambda", "lswag_psi"])
    lam, psi = res["lswag_lambda"].score, res["lswag_psi"].score
    assert lam < 0 and psi > 1
    assert res["lswag"].score == pytest.approx(lam / psi, rel=1e-12)
    assert res["lswag"].score > lam * psi                   # the plain product would rank it lower


def test_lswag_is_lambda_times_psi_when_lambda_positive(tiny_batch):
    x, y = tiny_batch
    torch.manual_seed(0)
    res = score_network(tiny_cnn(), x, y, ["lswag", "lswag_lambda", "lswag_psi"])
    assert res["lswag_lambda"].score > 0
    assert res["lswag"].score == pytest.approx(res["lswag_lambda"].score * res["lswag_psi"].score, rel=1e-12)


# ------------------------------------------------------------------ swap_reg
@pytest.mark.parametrize("p, mu, sigma", [(100.0, 100.0, 1.0), (80.0, 1500.0, 1e6), (1540.0, 1500.0, 1e6),
                                          (3.0, 1.0, 2.0)])
def test_swap_reg_regulariser_formula(p, mu, sigma):
    assert regular_factor(p, mu, sigma) == pytest.approx(math.exp(-((p - mu) ** 2) / sigma), rel=1e-15)


def test_regulariser_rejects_nonpositive_sigma():
    with pytest.raises(ValueError, match="sigma"):
        regular_factor(1.0, 1.0, 0.0)


def test_param_thousands_counts_like_swap_code():
    class WithAux(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Linear(10, 10)          # 110 parameters
            self.auxiliary_head = nn.Linear(10, 5)  # left out, as SWAP's count_parameters does

    assert param_thousands(WithAux()) == pytest.approx(0.110)


def test_swap_reg_by_hand():
    net, x, y = _mlp_case()                       # 64 parameters, SWAP = 5
    opts = {"mu": 0.05, "sigma": 0.001}
    got = score_network(net, x, None, ["swap_reg"], {"swap_reg": opts})["swap_reg"]
    assert got.score == pytest.approx(5 * math.exp(-((0.064 - 0.05) ** 2) / 0.001), rel=1e-12)
    at_target = score_network(net, x, None, ["swap_reg"], {"swap_reg": {"mu": 0.064, "sigma": 1.0}})
    assert at_target["swap_reg"].score == pytest.approx(5.0, rel=1e-12)


# ------------------------------------------------------------------ conformance and sharing
def _state(net: nn.Module) -> dict:
    return {k: v.clone() for k, v in net.state_dict().items()}


def test_eval_mode_is_kept(tiny_batch):
    x, y = tiny_batch
    net = tiny_cnn().eval()
    res = score_network(net, x, y, NEW)
    assert all(r.ok for r in res.values())
    assert not net.training


def test_three_lswag_proxies_and_gradsign_share_passes(tiny_batch, monkeypatch):
    x, y = tiny_batch
    calls: list[str] = []
    per_sample, forward = Probe._per_sample_pass, Probe._forward_backward

    def counted_per_sample(self, *a, **k):
        calls.append("per_sample")
        return per_sample(self, *a, **k)

    def counted_forward(self, *a, **k):
        calls.append("forward")
        return forward(self, *a, **k)

    monkeypatch.setattr(Probe, "_per_sample_pass", counted_per_sample)
    monkeypatch.setattr(Probe, "_forward_backward", counted_forward)
    res = score_network(tiny_cnn(), x, y, ["gradsign", "lswag", "lswag_lambda", "lswag_psi", "swap_reg"])
    assert all(r.ok for r in res.values())
    assert sorted(calls) == ["forward", "per_sample"]


@pytest.mark.parametrize("name", NEW)
def test_config_matches_registered_defaults(name):
    from omegaconf import OmegaConf

    from zcbench.tasks.task import CONF_DIR

    path = CONF_DIR / "proxy" / f"{name}.yaml"
    assert path.read_text().splitlines()[0] == f"# @package proxy.{name}"
    options = OmegaConf.to_container(OmegaConf.load(path)) or {}
    assert options == PROXIES.get(name).defaults
