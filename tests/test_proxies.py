"""Every proxy: conformance on a tiny network, and a hand-computed or definitional check."""
from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf
from torch import nn

from zcbench.tasks.task import CONF_DIR
from zcbench.errors import UnknownNameError
from zcbench.proxies import PROXIES, Probe, score_network
from zcbench.proxies.base import Needs
from zcbench.proxies.registry import proxy, signature_options

from conftest import ce_grad, linear_case, tiny_cnn, tiny_vit

ALL = PROXIES.names()
NETWORKS = {"cnn": tiny_cnn, "vit": tiny_vit}


def _state(net: nn.Module) -> dict:
    return {k: v.clone() for k, v in net.state_dict().items()}


@pytest.mark.parametrize("kind", sorted(NETWORKS))
@pytest.mark.parametrize("name", ALL)
def test_conformance(name, kind, tiny_batch):
    """On a ReLU CNN and a GELU/LayerNorm ViT: finite, deterministic, documented, network untouched."""
    x, y = tiny_batch
    torch.manual_seed(0)
    net = NETWORKS[kind]()
    before = _state(net)
    first = score_network(net, x, y, [name])[name]
    second = score_network(net, x, y, [name])[name]
    assert first.ok, first.error
    assert math.isfinite(first.score)
    assert first.score == second.score
    assert first.seconds >= 0
    after = net.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before), "proxy changed the network"
    assert all(p.grad is None for p in net.parameters()), "proxy left gradients on the network"
    assert net.training
    proxy = PROXIES.get(name)
    assert proxy.orientation and proxy.fn.__doc__


@pytest.mark.parametrize("name", ALL)
def test_every_proxy_has_a_config(name):
    """zcbench/conf/proxy/<name>.yaml exists, is packaged under proxy.<name>, and states the signature's defaults.

    The function signature is the one source of a default: the registry reads it from
    there, and the YAML (which Hydra needs) must repeat every value exactly, since its
    values enter the cache key. Task-only options are in the signature, not the YAML.
    """
    path = CONF_DIR / "proxy" / f"{name}.yaml"
    assert path.read_text().splitlines()[0] == f"# @package proxy.{name}"
    registered = PROXIES.get(name)
    in_signature = signature_options(registered.fn)
    in_yaml = OmegaConf.to_container(OmegaConf.load(path))
    assert in_yaml == {k: v for k, v in in_signature.items() if k not in registered.task_only}
    assert {**registered.defaults, **registered.task_only} == in_signature
    defaults = OmegaConf.load(CONF_DIR / "proxy" / "all.yaml").defaults
    assert name in list(defaults)


def test_proxy_options_need_signature_defaults():
    """An option without a default in the signature is refused at registration, naming it."""
    def no_default(probe, k):
        return 0.0

    with pytest.raises(TypeError, match=r"no_default: options \['k'\] need a default"):
        proxy("test_no_default", orientation="test only")(no_default)
    assert "test_no_default" not in PROXIES


def test_task_only_options_come_from_the_signature():
    def with_task_option(probe, a: int = 1, only_tasks: str | None = None):
        return 0.0

    proxy("test_task_only", orientation="test only", task_only=("only_tasks",))(with_task_option)
    try:
        registered = PROXIES.get("test_task_only")
        assert registered.defaults == {"a": 1} and registered.task_only == {"only_tasks": None}
    finally:
        PROXIES._items.pop("test_task_only")
    with pytest.raises(TypeError, match="task_only names \\['missing'\\]"):
        proxy("test_task_only", orientation="test only", task_only=("missing",))(with_task_option)


def test_all_config_lists_only_registered_proxies():
    listed = list(OmegaConf.load(CONF_DIR / "proxy" / "all.yaml").defaults)
    assert sorted(listed) == sorted(ALL)


def test_unknown_proxy_lists_valid_names():
    with pytest.raises(UnknownNameError, match="valid proxy names: .*nwot.*synflow"):
        PROXIES.get("nwto")


def test_failures_are_recorded_not_raised(tiny_batch):
    x, y = tiny_batch
    net = nn.Sequential(nn.Flatten(), nn.Linear(192, 10))  # no ReLU: nwot/swap cannot be computed
    res = score_network(net, x, y, ["nwot", "params"])
    assert not res["nwot"].ok and "no ReLU" in res["nwot"].error and math.isnan(res["nwot"].score)
    assert res["params"].ok


def test_shared_passes_run_once(tiny_batch):
    """nwot, swap, grad_norm and snip together cost one forward and one backward."""
    x, y = tiny_batch
    net = tiny_cnn()
    calls = []
    probe_names = ["nwot", "swap", "grad_norm", "snip"]
    orig_deepcopy = copy.deepcopy

    def counting(module, *a, **k):
        clone = orig_deepcopy(module, *a, **k)
        if isinstance(clone, nn.Sequential):
            clone[0].register_forward_hook(lambda *_: calls.append(1))
        return clone

    copy.deepcopy, saved = counting, copy.deepcopy
    try:
        res = score_network(net, x, y, probe_names)
    finally:
        copy.deepcopy = saved
    assert all(r.ok for r in res.values())
    assert len(calls) == 1


# ------------------------------------------------------------- hand checks
def test_params_counts_every_parameter():
    net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    x = torch.zeros(4, 3)
    assert score_network(net, x, None, ["params"])["params"].score == 3 * 4 + 4 + 4 * 2 + 2


def test_flops_conv_and_pool_by_hand():
    net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.AvgPool2d(2))
    x = torch.zeros(5, 3, 8, 8)
    conv = 2 * 3 * 8 * 9 * 8 * 8          # 2 FLOPs per multiply-add, batch 1
    pool = 8 * 4 * 4 * 4                  # one per window element per output
    assert score_network(net, x, None, ["flops"])["flops"].score == conv + pool


def test_grad_norm_and_snip_by_hand():
    net, x, y, w = linear_case()
    g = ce_grad(w, x.numpy().astype(np.float64), y.numpy())
    res = score_network(net, x, y, ["grad_norm", "snip"])
    assert res["grad_norm"].score == pytest.approx(np.linalg.norm(g), rel=1e-5)
    assert res["snip"].score == pytest.approx(np.abs(g * w).sum(), rel=1e-5)


def test_zico_by_hand():
    net, x, y, w = linear_case()
    xs, ys = x.numpy().astype(np.float64), y.numpy()
    g = np.stack([ce_grad(w, xs[:4], ys[:4]).ravel(), ce_grad(w, xs[4:], ys[4:]).ravel()])
    std, mean_abs = g.std(0), np.abs(g).mean(0)
    expected = math.log((mean_abs[std > 0] / std[std > 0]).sum())
    assert score_network(net, x, y, ["zico"])["zico"].score == pytest.approx(expected, rel=1e-4)


def test_synflow_by_hand_and_bn_bypassed():
    torch.manual_seed(1)
    a, b = nn.Linear(3, 4, bias=False), nn.Linear(4, 2, bias=False)
    net = nn.Sequential(a, nn.ReLU(), b)
    w1 = a.weight.detach().double().abs().numpy()
    w2 = b.weight.detach().double().abs().numpy()
    # R = 1^T |W2| |W1| 1  ->  dR/dW1[i, j] = sum_k |W2|[k, i];  dR/dW2[k, i] = (|W1| 1)_i
    expected = (w1 * w2.sum(0)[:, None]).sum() + (w2 * w1.sum(1)[None, :]).sum()
    x = torch.randn(6, 3)
    got = score_network(net, x, None, ["synflow"], {"synflow": {"log": False}})["synflow"].score
    assert got == pytest.approx(expected, rel=1e-12)
    with_bn = nn.Sequential(a, nn.BatchNorm1d(4), nn.ReLU(), b)
    assert score_network(with_bn, x, None, ["synflow"], {"synflow": {"log": False}})["synflow"].score \
        == pytest.approx(expected, rel=1e-12)
    logged = score_network(net, x, None, ["synflow"])["synflow"].score
    assert logged == pytest.approx(math.log1p(expected), rel=1e-12)


def test_synflow_of_a_disconnected_network_is_zero_not_a_failure():
    net = nn.Sequential(nn.Linear(3, 4, bias=False), nn.ReLU(), nn.Linear(4, 2, bias=False))
    with torch.no_grad():
        net[2].weight.zero_()  # no path carries flow
    res = score_network(net, torch.randn(4, 3), None, ["synflow"])["synflow"]
    assert res.ok and res.score == 0.0


def _sign_case():
    """Inputs whose signs are the activation codes of a Flatten -> ReLU network."""
    codes = np.array([[1, 0, 1, 1, 0],
                      [1, 0, 1, 0, 0],
                      [0, 1, 1, 1, 0],
                      [1, 0, 1, 1, 1]], dtype=bool)
    x = torch.tensor(np.where(codes, 1.0, -1.0), dtype=torch.float32)
    return nn.Sequential(nn.ReLU()), x, codes


def test_nwot_by_hand():
    net, x, c = _sign_case()
    c = c.astype(float)
    kernel = c @ c.T + (1 - c) @ (1 - c).T
    expected = np.linalg.slogdet(kernel)[1]
    assert score_network(net, x, None, ["nwot"])["nwot"].score == pytest.approx(expected, rel=1e-10)


def test_nwot_reads_gelu_units_as_active_when_input_positive():
    _, x, c = _sign_case()
    relu = score_network(nn.Sequential(nn.ReLU()), x, None, ["nwot"])["nwot"].score
    gelu = score_network(nn.Sequential(nn.GELU()), x, None, ["nwot"])["nwot"].score
    assert relu == gelu


def test_swap_counts_distinct_unit_patterns():
    # unit (column) patterns: 1101, 0010, 1111, 1101, 0001 -> 4 distinct
    codes = np.array([[1, 0, 1, 1, 0],
                      [1, 0, 1, 1, 0],
                      [0, 1, 1, 0, 0],
                      [1, 0, 1, 1, 1]], dtype=bool)
    x = torch.tensor(np.where(codes, 0.5, -2.0), dtype=torch.float32)
    assert score_network(nn.Sequential(nn.ReLU()), x, None, ["swap"])["swap"].score == 4


def test_swap_counts_across_layers_and_wide_batches():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(6, 50), nn.ReLU(), nn.Linear(50, 40), nn.ReLU())
    x = torch.randn(70, 6)  # more than 64 samples: patterns span several bytes
    codes = []
    hooks = [m.register_forward_hook(lambda m, i, o: codes.append((i[0] > 0).numpy()))
             for m in net if isinstance(m, nn.ReLU)]
    net(x)
    for h in hooks:
        h.remove()
    expected = len({tuple(col) for layer in codes for col in layer.T})
    assert score_network(net, x, None, ["swap"])["swap"].score == expected


def test_needs_rejects_unknown_pass():
    with pytest.raises(ValueError, match="unknown probe passes"):
        Needs(passes=frozenset({"hessian"}))


def test_probe_keeps_network_mode_and_buffers(tiny_batch):
    x, y = tiny_batch
    net = tiny_cnn().eval()
    before = _state(net)
    probe = Probe(net, x, y)
    probe.gradients()
    probe.split_gradients(2)
    assert not net.training
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())
