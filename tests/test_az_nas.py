"""AZ-NAS components: the Gaussian input of the authors' scorer, and the block chain of a real
TransNAS-Bench-101 jigsaw network (features of tile 0)."""
from __future__ import annotations

import math
import random

import pytest
import torch

import zcbench.proxies.az_nas as az_nas
from zcbench.errors import BadOptionError
from zcbench.proxies import Probe, score_network
from zcbench.spaces import get_space

from conftest import tiny_cnn

FEATURE_PROXIES = ["az_expressivity", "az_progressivity", "az_trainability"]


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    saved = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(saved)


def _scores(net, x, **options):
    res = score_network(net, x, None, FEATURE_PROXIES, {n: dict(options) for n in FEATURE_PROXIES})
    assert all(r.ok for r in res.values()), {n: r.error for n, r in res.items()}
    return {n: r.score for n, r in res.items()}


def test_default_input_is_seeded_gaussian_noise_not_the_batch():
    """AZ-NAS scores on torch.randn inputs: the batch's values do not matter, only its shape."""
    torch.manual_seed(0)
    net = tiny_cnn()
    images = torch.rand(8, 3, 8, 8) * 4 + 3          # far from N(0, 1)
    other = torch.rand(8, 3, 8, 8)
    assert _scores(net, images) == _scores(net, other)
    assert _scores(net, images, seed=1) != _scores(net, images)
    assert _scores(net, images, inputs="batch") != _scores(net, other, inputs="batch")
    # the Gaussian input is the generator's draw after the re-initialisation
    gen = torch.Generator().manual_seed(0)
    work = az_nas.kaiming_fanin_init_(Probe(net, images, None).fresh_copy().float().train(), gen)
    feats = az_nas.block_features(work, torch.randn(images.shape, generator=gen))
    want = sum(az_nas.spectral_entropy(f) for f in feats)
    assert _scores(net, images)["az_expressivity"] == pytest.approx(want, rel=1e-9)


def test_bad_inputs_option_names_the_valid_values():
    x = torch.randn(4, 3, 8, 8)
    with pytest.raises(BadOptionError, match="inputs must be one of gaussian, batch, got 'noise'"):
        az_nas.az_signals(Probe(tiny_cnn(), x, None), inputs="noise")


def test_tnb_micro_jigsaw_block_chain_at_64px():
    """TNB micro jigsaw at image_size 64: the encoder runs once per 16 px tile; AZ reads tile 0's
    stem output and the outputs of the encoder's 5 layers (2 cells each), and scores all three components."""
    torch.manual_seed(0)
    net = get_space("tnb101_micro").build("64-41414-3_33_333", 1000, head="jigsaw", image_size=64)
    tiles = torch.randn(2, 9, 3, 16, 16)
    feats = az_nas.block_features(net, tiles)
    assert [f.shape[1] for f in feats] == [64, 128, 128, 256, 256, 512]
    assert torch.allclose(feats[0], net.encoder.stem(tiles[:, 0]))
    scores = _scores(net, tiles)
    assert all(math.isfinite(v) for v in scores.values())


def test_nb301_cells_are_the_chain_though_each_takes_two_inputs():
    """A DARTS cell reads the two previous cells' outputs; the previous one among them makes
    `cells` a chain: features = stem output + 8 cell outputs (not an op's inner Sequential)."""
    torch.manual_seed(0)
    space = get_space("nb301")
    arch = space.sample(random.Random(0))
    net = space.build(arch, 10)
    x = torch.randn(2, 3, 32, 32)
    feats = az_nas.block_features(net, x)
    assert len(feats) == 1 + len(net.cells)
    assert torch.allclose(feats[0], net.stem(x))
    assert [f.shape[-1] for f in feats] == [32, 32, 32, 16, 16, 16, 8, 8, 8]
