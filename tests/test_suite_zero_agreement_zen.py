"""zen against NASLib's own zen scores on NB201 (the NAS-Bench-Suite-Zero full-space files).

NASLib computed those scores with the Zen-NAS recipe this proxy follows
(Gaussian re-initialisation, Gaussian inputs, BN in train mode, running
variances), on its own random draws, so values differ a little per
architecture but the ranking must agree. Architectures whose every path is
cut by 'none' ops have no feature difference: NASLib stores -1e8 for them and
our proxy fails with -inf; both are ranked last here.

Part of the default suite (`make test`, CI): about 2 min on one CPU core.
"""
from __future__ import annotations

import math
import random
import time

import numpy as np
import torch
from scipy.stats import spearmanr

import zcbench.proxies.zen  # noqa: F401  (registers)
from zcbench.tasks import read_ground_truth
from zcbench.proxies import score_network
from zcbench.spaces import get_space

N_ARCHS = 60
SEED = 0
NASLIB_FAILED = -1e8  # NASLib's stand-in for a nan/inf score


def test_zen_agrees_with_naslib_nb201_cifar10(real_data):
    truth = read_ground_truth("naslib_full_space", real_data, dir="full_space/nb201_zen/zen",
                              pattern="benchmark--nasbench201--cifar10--*.json")
    space = get_space("nb201")
    rows = truth.sort_values("key").reset_index(drop=True)
    picked = rows.iloc[random.Random(SEED).sample(range(len(rows)), N_ARCHS)]
    batch = torch.zeros(64, 3, 32, 32)  # zen draws its own Gaussian inputs; only the shape is read
    ours, refs = [], []
    start = time.perf_counter()
    for key, ref in zip(picked["key"], picked["ref_zen"]):
        torch.manual_seed(SEED)
        net = space.build(space.canonical(key), 10)
        res = score_network(net, batch, None, ["zen"])["zen"]
        assert res.ok or "-inf" in res.error, f"{key}: {res.error}"
        assert res.ok == (ref > NASLIB_FAILED), f"{key}: ours {res.score} / {res.error}, NASLib {ref}"
        ours.append(res.score if res.ok else -math.inf)
        refs.append(ref)
    seconds = (time.perf_counter() - start) / N_ARCHS
    ours, refs = np.array(ours), np.array(refs)
    rho = spearmanr(ours, refs).statistic
    ok = np.isfinite(ours)
    rho_finite = spearmanr(ours[ok], refs[ok]).statistic
    print(f"\nzen vs NASLib zen, NB201 cifar10, {N_ARCHS} archs (seed {SEED}): Spearman {rho:.4f} "
          f"({ok.sum()} scorable: {rho_finite:.4f}); median |ours - NASLib| "
          f"{np.median(np.abs(ours[ok] - refs[ok])):.3f}; {seconds:.2f} s per arch")
    assert rho >= 0.9
    assert rho_finite >= 0.9
