"""Agreement of l2_norm, plain, grasp, fisher, jacov and epe_nas with NAS-Bench-Suite-Zero's scores.

A seeded sample of NB201 architectures (CIFAR-10) from Suite-Zero's JSON is
built at random initialisation, scored on one real CIFAR-10 batch, and our
score is rank-correlated (Spearman) with the score NASLib stored for the same
architecture (ref_<proxy>). Both sides are one draw of a random initialisation
and a random batch, so only l2_norm (data-free) can agree almost perfectly;
the bounds below are set from measurements, next to each proxy's
reproducibility ceiling: the Spearman between two of OUR runs of the same
archs with different init and batch seeds.

Measured with this file's sample (60 archs, sample seed 0, batch seed 0, init
seed = position in the sample); in brackets a second draw (batch seed 1, init
seeds 1000+i); "run-to-run" is the Spearman between those two runs of ours:

| proxy   | batch 64      | batch 32      | run-to-run, 64 | run-to-run, 32 |
|---------|---------------|---------------|----------------|----------------|
| l2_norm | 0.954 (0.944) | 0.954 (0.944) | 0.941          | 0.941          |
| fisher  | 0.976 (0.966) | 0.981 (0.980) | 0.961          | 0.978          |
| jacov   | 0.881 (0.858) | 0.859 (0.871) | 0.909          | 0.875          |
| epe_nas | 0.711 (0.780) | 0.770 (0.705) | 0.847          | 0.820          |
| grasp   | 0.625 (0.734) | 0.846 (0.729) | 0.569          | 0.801          |
| plain   | 0.234 (0.367) | 0.138 (0.350) | 0.125          | 0.173          |

Every proxy agrees with Suite-Zero about as well as it agrees with itself.
Notes from the investigation:
- fisher without NASLib's per-weight broadcast (weight_by_fan_in=False) agrees
  only 0.888-0.912; with it 0.966-0.981, and the stored values have its scale.
- Suite-Zero's scores were computed on batches of 32 (NASLib's zero-cost config
  has batch_size 32, and every stored jacov is <= -32, which
  -sum(log v + 1/v) over eigenvalues summing to the batch size forces only for
  batch <= 32). GraSP is the proxy most sensitive to it (ours at 32 vs ours at
  64: 0.56).
- NASLib draws a fresh batch for every architecture; we score all on one. For
  epe_nas, whose value scales with the batch's class counts, that alone costs
  agreement: ours with a fresh batch per arch vs ours on one batch is 0.77,
  vs Suite-Zero 0.65 (batch 32). Training-style augmentation (random crop,
  flip, as NASLib's loader does) did not raise it (0.70).
- plain (a signed sum that mostly cancels) is barely reproducible even against
  itself, so its bound only asserts a non-negative agreement.

Part of the default suite (`make test`, CI): about 3 min on one CPU core for the 60 archs.
Run alone: python -m pytest tests/test_suite_zero_agreement_naslib.py -s -p no:cacheprovider
(ZCBENCH_AGREEMENT_BATCH=32 to score on Suite-Zero's batch size.)
"""
from __future__ import annotations

import math
import os

import numpy as np
import pytest
import torch
from scipy import stats

import zcbench.proxies.jacobian  # noqa: F401  (registers jacov, epe_nas)
import zcbench.proxies.saliency  # noqa: F401  (registers l2_norm, plain, grasp, fisher)
from zcbench.tasks import read_ground_truth
from zcbench.inputs.datasets import load_batch
from zcbench.proxies import score_network
from zcbench.spaces import get_space

from conftest import data_root, missing_data

N_ARCHS = 60
SAMPLE_SEED = 0
BATCH_SEED = 0
BATCH = int(os.environ.get("ZCBENCH_AGREEMENT_BATCH", "64"))
NASLIB_FAILURE = -1e8  # what NASLib stores for a NaN/inf score
# Lower bounds on Spearman(ours, Suite-Zero's), per batch size (see the module docstring):
# about 0.1 below what was measured, and for fisher above what the variant without
# NASLib's fan-in weighting reaches (0.89-0.91).
LOWER_BOUNDS = {
    64: {"l2_norm": 0.9, "fisher": 0.95, "jacov": 0.8, "epe_nas": 0.6, "grasp": 0.5, "plain": 0.0},
    32: {"l2_norm": 0.9, "fisher": 0.95, "jacov": 0.8, "epe_nas": 0.6, "grasp": 0.6, "plain": 0.0},
}
PROXIES = list(LOWER_BOUNDS[64])


@pytest.fixture(scope="module")
def agreement():
    real_data = data_root()
    if real_data is None:
        missing_data("real data folder not found (set ZCBENCH_DATA)")
    frame = read_ground_truth("suite_zero", real_data, file="suite_zero/zc_nasbench201.json",
                              dataset="cifar10")
    sample = frame.sample(n=N_ARCHS, random_state=SAMPLE_SEED).reset_index(drop=True)
    batch = load_batch("cifar10", real_data, BATCH, BATCH_SEED, num_classes=10)
    if batch.synthetic:
        missing_data("no real CIFAR-10 images: " + batch.source)
    space = get_space("nb201")
    ours = {p: [] for p in PROXIES}
    for i, key in enumerate(sample["key"]):
        torch.manual_seed(i)
        net = space.build(space.from_benchmark_key(key), 10)
        res = score_network(net, batch.inputs, batch.labels, PROXIES)
        for p in PROXIES:
            ours[p].append(res[p].score)
    out = {}
    print(f"\nSuite-Zero agreement, NB201 cifar10, {N_ARCHS} archs, batch {BATCH}")
    print(f"{'proxy':8s} {'rho(ours, ref)':>14s} {'n':>3s} {'failed':>6s} "
          f"{'rho(ours, acc)':>14s} {'rho(ref, acc)':>13s}")
    for p in PROXIES:
        mine = np.array(ours[p], dtype=float)
        ref = sample[f"ref_{p}"].to_numpy(dtype=float)
        ref_failed = ~np.isfinite(ref) | (ref == NASLIB_FAILURE)
        ok = np.isfinite(mine) & ~ref_failed
        rho = float(stats.spearmanr(mine[ok], ref[ok]).statistic)
        acc = sample["accuracy"].to_numpy(dtype=float)
        rho_acc = float(stats.spearmanr(mine[ok], acc[ok]).statistic)
        ref_acc = float(stats.spearmanr(ref[ok], acc[ok]).statistic)
        print(f"{p:8s} {rho:14.3f} {int(ok.sum()):3d} {int((~np.isfinite(mine)).sum()):6d} "
              f"{rho_acc:14.3f} {ref_acc:13.3f}")
        out[p] = {"rho": rho, "n": int(ok.sum()), "ours_failed": ~np.isfinite(mine),
                  "ref_failed": ref_failed}
    return out


@pytest.mark.parametrize("proxy", PROXIES)
def test_agreement_with_suite_zero(agreement, proxy):
    result = agreement[proxy]
    assert result["n"] >= N_ARCHS - 3
    assert math.isfinite(result["rho"])
    if BATCH not in LOWER_BOUNDS:
        pytest.skip(f"no bounds measured for batch {BATCH} (printed rho: {result['rho']:.3f})")
    bound = LOWER_BOUNDS[BATCH][proxy]
    assert result["rho"] >= bound, f"{proxy}: Spearman {result['rho']:.3f} < {bound}"


@pytest.mark.parametrize("proxy", ["jacov", "epe_nas"])
def test_failures_where_naslib_failed(agreement, proxy):
    """Constant Jacobians (disconnected cells) fail here exactly where NASLib stored -1e8."""
    result = agreement[proxy]
    assert np.array_equal(result["ours_failed"], result["ref_failed"])
