"""zen, meco, ntk, linear_regions and the AZ-NAS components: hand-computed cases,
properties their definitions imply (conformance: tests/test_proxies.py)."""
from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf
from torch import nn

import zcbench.proxies.az_nas as az_nas
import zcbench.proxies.meco  # noqa: F401  (registers)
import zcbench.proxies.ntk  # noqa: F401  (registers)
import zcbench.proxies.zen  # noqa: F401  (registers)
from zcbench.tasks.task import CONF_DIR
from zcbench.proxies import PROXIES, Probe, score_network

from conftest import tiny_cnn, tiny_vit

NAMES = ["zen", "meco", "ntk", "linear_regions",
         "az_expressivity", "az_progressivity", "az_trainability", "az_complexity"]


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Tiny networks gain nothing from intra-op threads, and on a busy machine
    thread hand-offs cost more than the work (the NTK's per-sample backward
    passes went from 0.05 s to 5-12 s with 2 threads under load)."""
    saved = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(saved)


def _state(net: nn.Module) -> dict:
    return {k: v.clone() for k, v in net.state_dict().items()}


def _score(net, x, name, y=None, **options):
    res = score_network(net, x, y, [name], {name: options})[name]
    assert res.ok, res.error
    return res.score



@pytest.mark.parametrize("name", NAMES)
def test_config(name):
    path = CONF_DIR / "proxy" / f"{name}.yaml"
    assert path.read_text().splitlines()[0] == f"# @package proxy.{name}"
    cfg = OmegaConf.to_container(OmegaConf.load(path))
    assert cfg == PROXIES.get(name).defaults


# -------------------------------------------------------------------------- zen
def _pool_head(*body: nn.Module) -> nn.Sequential:
    return nn.Sequential(*body, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(1, 3))


def _zen_inputs(shape, seed=0, gamma=0.01):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(shape, generator=gen)
    return x, x + gamma * torch.randn(shape, generator=gen)


def test_zen_by_hand_without_bn():
    conv = nn.Conv2d(1, 1, 1, bias=False)
    with torch.no_grad():
        conv.weight.fill_(2.0)
    net = _pool_head(conv)
    batch = torch.zeros(5, 1, 4, 4)
    x, x_mix = _zen_inputs(batch.shape)
    expected = math.log((2 * (x - x_mix)).abs().sum(dim=(1, 2, 3)).mean().item())
    assert _score(net, batch, "zen", gaussian_init=False) == pytest.approx(expected, rel=1e-5)
    assert _score(net, batch, "zen", gaussian_init=False, bn_variance="batch") == pytest.approx(expected, rel=1e-5)


def test_zen_by_hand_with_bn_running_and_batch_variance():
    conv = nn.Conv2d(1, 1, 1, bias=False)
    with torch.no_grad():
        conv.weight.fill_(3.0)
    net = _pool_head(conv, nn.BatchNorm2d(1))
    batch = torch.zeros(6, 1, 4, 4)
    x, x_mix = _zen_inputs(batch.shape)
    f1, f2 = (3 * x).double(), (3 * x_mix).double()
    norm = lambda f: (f - f.mean()) / torch.sqrt(f.var(unbiased=False) + 1e-5)  # noqa: E731
    log_diff = math.log((norm(f1) - norm(f2)).abs().sum(dim=(1, 2, 3)).mean().item())
    running = 0.9 * (0.9 * 1.0 + 0.1 * f1.var().item()) + 0.1 * f2.var().item()  # momentum 0.1, unbiased
    got = _score(net, batch, "zen", gaussian_init=False)
    assert got == pytest.approx(log_diff + 0.5 * math.log(running), rel=1e-4)
    got_batch = _score(net, batch, "zen", gaussian_init=False, bn_variance="batch")
    assert got_batch == pytest.approx(log_diff + 0.5 * math.log(f1.var(unbiased=False).item()), rel=1e-4)


def test_zen_bn_term_undoes_the_weight_scale():
    """BN output is invariant to the conv scale, the running-variance term is not: zen grows by log(scale)."""
    def net_with(scale):
        conv = nn.Conv2d(1, 2, 1, bias=False)
        with torch.no_grad():
            conv.weight.copy_(torch.tensor([1.0, -0.5]).view(2, 1, 1, 1) * scale)
        return nn.Sequential(conv, nn.BatchNorm2d(2), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(2, 3))
    batch = torch.zeros(8, 1, 4, 4)
    small = _score(net_with(1.0), batch, "zen", gaussian_init=False, bn_variance="batch")
    big = _score(net_with(100.0), batch, "zen", gaussian_init=False, bn_variance="batch")
    assert big - small == pytest.approx(math.log(100.0), rel=1e-4)


def test_zen_reads_the_head_input_without_pooling_and_is_minus_inf_when_input_is_cut():
    lin = nn.Linear(3, 2, bias=False)
    net = nn.Sequential(lin, nn.ReLU(), nn.Linear(2, 2))
    batch = torch.zeros(4, 3)
    x, x_mix = _zen_inputs(batch.shape)
    with torch.no_grad():
        h1, h2 = torch.relu(lin(x)), torch.relu(lin(x_mix))
    expected = math.log((h1 - h2).abs().sum(dim=1).mean().item())
    assert _score(net, batch, "zen", gaussian_init=False) == pytest.approx(expected, rel=1e-5)
    cut = nn.Sequential(nn.Linear(3, 2), nn.Dropout(1.0), nn.Linear(2, 2))  # train mode: zeros out everything
    res = score_network(cut, batch, None, ["zen"])["zen"]
    assert not res.ok and "-inf" in res.error


def test_zen_gaussian_init_leaves_the_network_alone():
    torch.manual_seed(0)
    net = tiny_cnn()
    before = _state(net)
    x = torch.zeros(4, 3, 8, 8)
    a = _score(net, x, "zen")
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())
    assert a == _score(net, x, "zen") and a != _score(net, x, "zen", seed=1)


# ------------------------------------------------------------------------- meco
def test_meco_copied_channels_give_zero():
    """Channels that are scaled copies of one another correlate perfectly: lambda_min = 0."""
    conv = nn.Conv2d(1, 3, 1, bias=False)
    with torch.no_grad():
        conv.weight.copy_(torch.tensor([1.0, 2.0, -0.5]).view(3, 1, 1, 1))
    x = torch.randn(1, 1, 5, 5, generator=torch.Generator().manual_seed(0))
    assert _score(nn.Sequential(conv), x, "meco") == pytest.approx(0.0, abs=1e-9)


def test_meco_two_channels_by_hand():
    """One module output with 2 channels: eigenvalues 1 +- rho, MeCo = 1 - |rho|."""
    x = torch.randn(1, 2, 4, 4, generator=torch.Generator().manual_seed(1))
    rho = np.corrcoef(x[0].reshape(2, -1).double().numpy())[0, 1]
    assert _score(nn.Identity(), x, "meco") == pytest.approx(1 - abs(rho), rel=1e-10)


def test_meco_counts_each_distinct_map_once_and_dead_channels_as_zero():
    x = torch.randn(1, 2, 4, 4, generator=torch.Generator().manual_seed(1))
    rho = np.corrcoef(x[0].reshape(2, -1).double().numpy())[0, 1]
    # Sequential and its Identity child return the same tensor: counted once
    assert _score(nn.Sequential(nn.Identity()), x, "meco") == pytest.approx(1 - abs(rho), rel=1e-10)
    # a second, distinct map (x * 2: same correlations) adds its own term
    assert _score(nn.Sequential(nn.Identity(), _Double()), x, "meco") == pytest.approx(2 * (1 - abs(rho)), rel=1e-10)
    dead = x.clone()
    dead[0, 1] = 3.0  # a constant channel: its correlation row is NaN -> the layer adds 0
    assert _score(nn.Identity(), dead, "meco") == 0.0


class _Double(nn.Module):
    def forward(self, x):
        return 2 * x


def test_meco_uses_one_image_by_default():
    torch.manual_seed(0)
    net = tiny_cnn()
    x = torch.randn(6, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    one = _score(net, x, "meco")
    assert one == _score(net, x[:1], "meco")
    assert one != _score(net, x, "meco", samples=3)


# -------------------------------------------------------------------------- ntk
def test_ntk_of_linear_model_is_condition_number_of_gram():
    """f_i = 1^T W x_i: d f_i / dW = 1 x_i^T, so the NTK is k X X^T and its condition number that of X X^T."""
    torch.manual_seed(0)
    net = nn.Linear(8, 3)  # the bias is not a weight: TE-NAS differentiates w.r.t. weights only
    x = torch.randn(5, 8)
    gram = x.double().numpy() @ x.double().numpy().T
    eig = np.linalg.eigvalsh(gram)
    cond = eig[-1] / eig[0]
    assert _score(net, x, "ntk") == pytest.approx(-math.log(cond), rel=1e-9)
    assert _score(net, x, "ntk", log=False) == pytest.approx(-cond, rel=1e-6)
    sub = x[:3].double().numpy()
    eig3 = np.linalg.eigvalsh(sub @ sub.T)
    assert _score(net, x, "ntk", samples=3) == pytest.approx(-math.log(eig3[-1] / eig3[0]), rel=1e-9)


def test_ntk_singular_kernel_is_a_failure():
    net = nn.Linear(4, 2)
    x = torch.ones(3, 4)  # identical samples: rank-1 kernel
    res = score_network(net, x, None, ["ntk"])["ntk"]
    assert not res.ok and "the NTK is singular" in res.error


def test_ntk_with_batchnorm_feeding_the_output_drops_the_batch_sum_direction():
    """BN (train mode) -> pooling -> Linear: per-sample gradients sum to zero, so Theta 1 = 0 by construction;
    the condition number is taken over the zero-sum directions, Q^T Theta Q, computed here by hand."""
    import scipy.linalg

    from zcbench.proxies.ntk import tangent_features

    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4, affine=False), nn.AdaptiveAvgPool2d(1),
                        nn.Flatten(), nn.Linear(4, 5))
    x = torch.randn(8, 3, 6, 6)
    jac = tangent_features(copy.deepcopy(net).train(), x).double().numpy()
    kernel = jac @ jac.T
    assert abs(np.linalg.eigvalsh(kernel)[0]) < 1e-9 * np.linalg.eigvalsh(kernel)[-1]  # singular
    q = scipy.linalg.null_space(np.ones((1, 8)))
    eig = np.linalg.eigvalsh(q.T @ kernel @ q)
    assert _score(net, x, "ntk") == pytest.approx(-math.log(eig[-1] / eig[0]), rel=1e-6)
    relu = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                         nn.Flatten(), nn.Linear(4, 5))  # TE-NAS's BN + ReLU before pooling: full kernel
    jac = tangent_features(copy.deepcopy(relu).train(), x).double().numpy()
    eig = np.linalg.eigvalsh(jac @ jac.T)
    assert _score(relu, x, "ntk") == pytest.approx(-math.log(eig[-1] / eig[0]), rel=1e-6)


# --------------------------------------------------------------- linear regions
def test_linear_regions_one_relu_unit():
    lin = nn.Linear(1, 1)
    with torch.no_grad():
        lin.weight.fill_(1.0)
        lin.bias.fill_(-0.5)
    net = nn.Sequential(lin, nn.ReLU())
    x = torch.tensor([[-2.0], [-1.0], [0.0], [0.4], [1.0], [3.0]])
    assert _score(net, x, "linear_regions") == 2  # off for x < 0.5, on above
    assert _score(net, x[:4], "linear_regions") == 1  # all off: one region


def test_linear_regions_two_units_three_regions():
    lin = nn.Linear(1, 2)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[1.0], [-1.0]]))
        lin.bias.copy_(torch.tensor([-1.0, -1.0]))  # unit 1 on for x > 1, unit 2 on for x < -1
    net = nn.Sequential(lin, nn.ReLU(), nn.Linear(2, 1))
    x = torch.tensor([[-3.0], [-2.0], [0.0], [0.5], [2.0], [5.0]])
    assert _score(net, x, "linear_regions") == 3


def test_linear_regions_gaussian_source():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(2, 3), nn.ReLU())
    x = torch.zeros(4, 2)
    got = _score(net, x, "linear_regions", source="gaussian", samples=200, seed=3)
    gen = torch.Generator().manual_seed(3)
    z = torch.randn(200, 2, generator=gen)
    with torch.no_grad():
        codes = (net[0](z) > 0).numpy()
    assert got == len({tuple(r) for r in codes})
    assert got <= 7  # 3 lines cut the plane into at most 7 regions


def test_random_crops_are_crops_of_one_channel():
    from zcbench.proxies.ntk import random_crops

    images = torch.arange(2 * 3 * 5 * 6, dtype=torch.float32).view(2, 3, 5, 6)
    crops = random_crops(images, 50, 3, torch.Generator().manual_seed(0))
    assert crops.shape == (50, 1, 3, 3)
    windows = {tuple(images[b, c, y:y + 3, x:x + 3].flatten().tolist())
               for b in range(2) for c in range(3) for y in range(3) for x in range(4)}
    assert all(tuple(crop.flatten().tolist()) in windows for crop in crops)
    with pytest.raises(ValueError, match="smaller than the 3x3"):
        random_crops(images[:, :, :2], 5, 3, torch.Generator())


def test_linear_regions_on_tenas_reduced_nb201_cell(real_data):
    """auto = TE-NAS's thin cell on NB201: a cell of 'none' edges has one region, and the
    count is seeded, bounded by the 3,000 crops and far from the 64-image saturation."""
    from zcbench.inputs.datasets import load_batch
    from zcbench.spaces import get_space

    space = get_space("nb201")
    batch = load_batch("cifar10", real_data, 8, seed=0)
    torch.manual_seed(0)
    net = space.build("|nor_conv_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_3x3~0|avg_pool_3x3~1|nor_conv_3x3~2|", 10)
    thin = net.tenas_thin_copy()
    # three 3x3 and one 1x1 conv of width 1, each with its BN; the last BN; the 1 -> 10 head
    assert sum(p.numel() for p in thin.parameters()) == 3 * (9 + 2) + (1 + 2) + 2 + (10 + 10)
    auto = _score(net, batch.inputs, "linear_regions")
    assert auto == _score(net, batch.inputs, "linear_regions", source="thin_cell")
    assert 64 < auto <= 3000 and auto == _score(net, batch.inputs, "linear_regions")
    assert auto != _score(net, batch.inputs, "linear_regions", seed=1)
    assert _score(net, batch.inputs, "linear_regions", source="data") <= 8
    dead = space.build("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|", 10)
    assert _score(dead, batch.inputs, "linear_regions") == 1
    res = score_network(nn.Sequential(nn.Conv2d(3, 2, 3), nn.ReLU()), batch.inputs, None, ["linear_regions"],
                        {"linear_regions": {"source": "thin_cell"}})["linear_regions"]
    assert not res.ok and "tenas_thin_copy" in res.error


def test_linear_regions_on_the_reduced_tnb_micro_cell(real_data):
    """TNB micro: the same reduced cell as NB201's (its cell has NB201's shape); macro has none."""
    from zcbench.inputs.datasets import load_batch
    from zcbench.spaces import get_space

    batch = load_batch("cifar10", real_data, 8, seed=0)
    micro = get_space("tnb101_micro")
    torch.manual_seed(0)
    net = micro.build("64-41414-3_33_333", None, head="class_scene", image_size=32)
    thin = net.tenas_thin_copy()
    # six 3x3 convs of width 1, each with its BN; the last BN; the 1 -> 1 head
    assert sum(p.numel() for p in thin.parameters()) == 6 * (9 + 2) + 2 + 2
    auto = _score(net, batch.inputs, "linear_regions")
    assert 64 < auto <= 3000 and auto == _score(net, batch.inputs, "linear_regions", source="thin_cell")
    dead = micro.build("64-41414-0_00_000", None, head="class_scene", image_size=32)
    assert _score(dead, batch.inputs, "linear_regions") == 1
    # jigsaw's tiles (B x 9 x C x t x t) are cropped like images
    tiles = batch.inputs[:2, :, :16, :16].unsqueeze(1).expand(2, 9, 3, 16, 16).contiguous()
    jig = micro.build("64-41414-3_33_333", None, head="jigsaw", image_size=32)
    assert 64 < _score(jig, tiles, "linear_regions") <= 3000
    macro = get_space("tnb101_macro").build("64-1234-basic", None, head="class_scene", image_size=32)
    assert not hasattr(macro, "tenas_thin_copy")


# ---------------------------------------------------------------------- AZ-NAS
def test_spectral_entropy_isotropic_and_rank_one():
    ch0 = torch.tensor([1.0, -1.0, 1.0, -1.0])
    ch1 = torch.tensor([1.0, 1.0, -1.0, -1.0])
    iso = torch.stack([ch0, ch1]).reshape(1, 2, 2, 2)
    assert az_nas.spectral_entropy(iso) == pytest.approx(math.log(2), abs=1e-7)
    rank_one = torch.stack([ch0, 3 * ch0]).reshape(1, 2, 2, 2)
    assert az_nas.spectral_entropy(rank_one) == pytest.approx(0.0, abs=1e-7)
    tokens = torch.stack([ch0, ch1], dim=-1).reshape(1, 4, 2)  # (B, T, D): channels on the last axis
    assert az_nas.spectral_entropy(tokens) == pytest.approx(math.log(2), abs=1e-7)


@pytest.mark.parametrize("scale", [0.5, 3.0])
def test_block_trainability_of_a_scaling_block(scale):
    """f_out = a f_in with one channel: g_in = a g_out, M = a mean(g^2) = a, score -|a| - 1/|a| + 2."""
    f_in = torch.randn(2, 1, 3, 3, requires_grad=True)
    f_out = scale * f_in
    got = az_nas.block_trainability(f_in, f_out, torch.Generator().manual_seed(0))
    assert got == pytest.approx(-scale - 1 / (scale + 1e-6) + 2, rel=1e-6)
    assert az_nas.block_trainability(f_in, f_in * 1.0, torch.Generator()) == -math.inf


def test_block_trainability_pixel_unshuffles_downsampling_blocks():
    """f_out = the top-left pixel of each 2x2 cell: unshuffled g_in = [g_out, 0, 0, 0], M = (1, 0, 0, 0)^T."""
    f_in = torch.randn(2, 1, 4, 4, requires_grad=True)
    f_out = f_in[:, :, ::2, ::2]
    got = az_nas.block_trainability(f_in, f_out, torch.Generator().manual_seed(0))
    assert got == pytest.approx(-1 - 1 / (1 + 1e-6) + 2, abs=1e-9)


class _Scale(nn.Module):
    def __init__(self, a):
        super().__init__()
        self.a = a

    def forward(self, x):
        return self.a * x


class _Chain(nn.Module):
    """Stem, a chain of blocks (found automatically), global pooling and a head."""

    def __init__(self, channels, *blocks):
        super().__init__()
        self.stem = nn.Conv2d(2, channels, 1, bias=False)
        self.blocks = nn.Sequential(*blocks)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, 3))

    def forward(self, x):
        return self.head(self.blocks(self.stem(x)))


def test_az_components_on_a_known_chain():
    """Blocks that scale their input keep expressivity: entropies h0, h0, h0, h3."""
    torch.manual_seed(0)
    # `head` is a chain too (pool, flatten, linear) but yields one feature map only
    net = _Chain(2, _Scale(2.0), _Scale(0.5), nn.Conv2d(2, 2, 1))
    x = torch.randn(4, 2, 3, 3, generator=torch.Generator().manual_seed(0))
    probe = Probe(net, x, None)
    feats = az_nas.block_features(probe.fresh_copy(), x)
    assert len(feats) == 4 and feats[0].shape == (4, 2, 3, 3)
    h0 = az_nas.spectral_entropy(feats[0])
    names = ["az_expressivity", "az_progressivity", "az_trainability"]
    res = score_network(net, x, None, names, {n: {"init": "none", "inputs": "batch"} for n in names})
    entropies = [h0, h0, h0, az_nas.spectral_entropy(feats[3])]
    assert res["az_expressivity"].score == pytest.approx(sum(entropies), rel=1e-6)
    assert res["az_progressivity"].score == pytest.approx(min(np.diff(entropies)), abs=1e-6)
    assert math.isfinite(res["az_trainability"].score)


def test_az_identity_block_is_worst_or_skipped():
    torch.manual_seed(0)
    net = _Chain(1, _Scale(2.0), nn.Identity(), _Scale(0.5))
    x = torch.randn(4, 2, 3, 3)
    worst = score_network(net, x, None, ["az_trainability"], {"az_trainability": {"init": "none"}})
    assert not worst["az_trainability"].ok and "-inf" in worst["az_trainability"].error
    skip = _score(net, x, "az_trainability", init="none", identity_blocks="skip")
    # one channel: M = a * mean(g^2) = a exactly for the two scaling blocks
    assert skip == pytest.approx(np.mean([-2 - 1 / (2 + 1e-6) + 2, -0.5 - 1 / (0.5 + 1e-6) + 2]), rel=1e-6)


def test_az_feature_components_share_one_pass(monkeypatch, tiny_batch):
    x, y = tiny_batch
    calls = []
    real = az_nas._az_pass
    monkeypatch.setattr(az_nas, "_az_pass", lambda *a: calls.append(1) or real(*a))
    names = ["az_expressivity", "az_progressivity", "az_trainability"]
    res = score_network(tiny_cnn(), x, y, names)
    assert all(r.ok for r in res.values()) and len(calls) == 1
    score_network(tiny_cnn(), x, y, names, {"az_trainability": {"seed": 1}})  # other options: its own pass
    assert len(calls) == 3


def test_az_blocks_found_in_nb201_and_vit(tiny_batch):
    from zcbench.spaces import get_space

    torch.manual_seed(0)
    net = get_space("nb201").build("(0, 2, 3, 4, 2, 0)", 10)
    feats = az_nas.block_features(net, torch.randn(2, 3, 32, 32))
    assert len(feats) == 18  # stem output + 15 cells + 2 reduction blocks
    assert [f.shape[1] for f in (feats[0], feats[6], feats[17])] == [16, 32, 64]
    vit_feats = az_nas.block_features(tiny_vit(), tiny_batch[0])
    assert [tuple(f.shape) for f in vit_feats] == [(16, 5, 16)] * 3  # block input + 2 blocks, not the MLPs


class _PerTile(nn.Module):
    """One encoder chain run once per tile, as TransNAS-Bench-101's jigsaw network does."""

    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 8, 3, stride=2, padding=1))
        self.head = nn.Linear(8 * 2, 5)

    def forward(self, x):
        feats = [self.encoder(x[:, i]).mean((2, 3)) for i in range(x.shape[1])]
        return self.head(torch.cat(feats, 1))


def test_az_chain_run_once_per_tile_gives_the_first_tiles_features():
    torch.manual_seed(0)
    net, x = _PerTile(), torch.randn(3, 2, 3, 8, 8)
    feats = az_nas.block_features(net, x)
    assert [tuple(f.shape) for f in feats] == [(3, 3, 8, 8), (3, 4, 8, 8), (3, 4, 8, 8), (3, 8, 4, 4)]
    assert torch.equal(feats[0], x[:, 0]) and torch.allclose(feats[-1], net.encoder(x[:, 0]))
    got = score_network(net, x, torch.zeros(3, dtype=torch.long), ["az_expressivity", "az_trainability"])
    assert all(r.error == "" and math.isfinite(r.score) for r in got.values())


def test_az_complexity_is_flops(tiny_batch):
    x, _ = tiny_batch
    res = score_network(tiny_cnn(), x, None, ["az_complexity", "flops"])
    assert res["az_complexity"].score == res["flops"].score > 0
