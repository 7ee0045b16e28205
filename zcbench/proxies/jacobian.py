"""Input-Jacobian proxies: jacov (Mellor et al., 2021, v1) and EPE-NAS (Lopes et al., 2021).

Both read the probe's shared input Jacobian J = d(sum of outputs)/d(input),
one row per sample (BatchNorm in train mode), and score the correlations
between the samples' Jacobians as NASLib's zero-cost code does. A NaN
correlation (a sample whose Jacobian is constant, e.g. a network whose output
does not depend on its input) makes the score undefined: the proxy raises, and
the harness records a failure (NASLib stores such scores as -1e8).
"""
from __future__ import annotations

from collections import defaultdict

import numpy as np
import torch

from ..errors import ProxyFailure
from .base import Needs
from .probe import Probe
from .registry import proxy


def jacobian_rows(probe: Probe) -> np.ndarray:
    """The shared input Jacobian as a float64 (batch, features) array."""
    jac = probe.input_jacobian()
    return jac.reshape(jac.shape[0], -1).double().cpu().numpy()


def _correlations(rows: np.ndarray, what: str) -> np.ndarray:
    """np.corrcoef of the rows, raising instead of returning NaN for constant rows."""
    flat = rows.std(axis=1) == 0
    if flat.any():
        raise ProxyFailure(f"{what}: {int(flat.sum())} of {len(rows)} samples have a constant input "
                         "Jacobian, so their correlations are undefined (NaN)")
    with np.errstate(invalid="raise", divide="raise"):
        corr = np.corrcoef(rows)
    if not np.all(np.isfinite(corr)):
        raise ProxyFailure(f"{what}: non-finite Jacobian correlations")
    return corr


def jacov_from_jacobian(rows: np.ndarray, k: float = 1e-5) -> float:
    """-sum over the eigenvalues v of corrcoef(J) of log(v + k) + 1 / (v + k).

    corrcoef(J) is symmetric, so its eigenvalues are real: they are computed by
    eigvalsh on the symmetrised matrix, which gives what NASLib's np.linalg.eig
    gives without spurious imaginary parts from rounding. Eigenvalues that are
    not finite, or with v + k <= 0 (log undefined; NASLib gets NaN there), raise.
    """
    corr = _correlations(rows, "jacov")
    v = np.linalg.eigvalsh((corr + corr.T) / 2)
    if np.iscomplexobj(v) or not np.all(np.isfinite(v)):
        raise ProxyFailure("jacov: eigenvalues of the Jacobian correlation matrix are not finite reals")
    if np.any(v + k <= 0):
        raise ProxyFailure(f"jacov: eigenvalue {v.min():.3g} <= -k = {-k:g}: log(v + k) is undefined")
    return float(-np.sum(np.log(v + k) + 1.0 / (v + k)))


@proxy("jacov", needs=Needs(passes=frozenset({"input_jacobian"})),
       orientation="less correlated input Jacobians across samples = inputs better told apart = "
                   "predicted better (NASLib's -sum(log(v+k) + 1/(v+k)) is already oriented that way)")
def jacov(probe: Probe, k: float = 1e-5) -> float:
    """Jacobian covariance score (NASWOT v1, NASLib's variant): -sum(log(v + k) + 1/(v + k)).

    v are the eigenvalues of the correlation matrix of the per-sample input
    Jacobians (J reshaped to (batch, -1)); each term is minimal at v = 1, so the
    score is at most -batch and highest when the Jacobians are uncorrelated.
    """
    return jacov_from_jacobian(jacobian_rows(probe), k)


def epe_nas_from_jacobian(rows: np.ndarray, labels: np.ndarray, n_classes: int,
                          k: float = 1e-5) -> float:
    """EPE-NAS score of per-sample Jacobian rows grouped by label (NASLib's eval_score_perclass).

    For each class c present in the batch: s_c = sum over the entries of the
    (n_c x n_c) correlation matrix of that class's Jacobians of log(|corr| + k)
    (diagonal included; a class with one sample has the 1x1 matrix [1]).
    If n_classes <= 100: score = sum over c of |s_c|.
    Otherwise each s_c is first divided by n_c (classes with a single sample
    are dropped, as NASLib's code drops them there), and
    score = sum over pairs (c, c') of |s_c - s_c'| / number of classes kept.
    n_classes is the network's output width (NASLib reads y.shape[-1]).
    """
    groups: dict[int, list[int]] = defaultdict(list)
    for i, label in enumerate(labels.tolist()):
        groups[int(label)].append(i)
    per_class: dict[int, float] = {}
    for c, idx in groups.items():
        if len(idx) == 1:
            if n_classes > 100:
                continue  # NASLib: len() of the 0-d corrcoef raises and the class is skipped
            if rows[idx[0]].std() == 0:
                raise ProxyFailure(f"epe_nas: class {c} has a constant input Jacobian (NaN correlation)")
            corr = np.ones((1, 1))
        else:
            corr = _correlations(rows[idx], f"epe_nas class {c}")
        s = float(np.sum(np.log(np.abs(corr) + k)))
        per_class[c] = s / len(idx) if n_classes > 100 else s
    if not per_class:
        raise ProxyFailure("epe_nas: no class has two samples in the batch")
    values = np.array(list(per_class.values()))
    if n_classes <= 100:
        return float(np.abs(values).sum())
    return float(np.abs(values[:, None] - values[None, :]).sum() / len(values))


def output_width(probe: Probe) -> int:
    """The network's number of outputs, read from its last Linear layer (its classifier head)."""
    linears = [m for m in probe.net.modules() if isinstance(m, torch.nn.Linear)]
    if not linears:
        raise ProxyFailure("epe_nas: cannot infer the number of outputs (no Linear layer); "
                         "set the n_classes option")
    return int(linears[-1].out_features)


@proxy("epe_nas", needs=Needs(passes=frozenset({"input_jacobian"}), labels="classes"),
       orientation="larger |sum of log |corr|| per class = Jacobians of same-class inputs less "
                   "correlated = predicted better (NASLib's score, no sign flip)")
def epe_nas(probe: Probe, k: float = 1e-5, n_classes: int | None = None) -> float:
    """EPE-NAS (Lopes et al., 2021): per-class correlations of the input Jacobians (NASLib's code).

    The batch's Jacobian rows are grouped by label; each class contributes
    the sum of log(|corr| + k) over its correlation matrix, and the classes are
    combined by sum of absolute values (<= 100 classes) or by mean pairwise
    absolute difference of the size-normalised values (> 100 classes); see
    epe_nas_from_jacobian. n_classes=None reads the network's output width from
    its last Linear layer (NASLib uses the output's last dimension).
    """
    if probe.labels is None:
        raise ValueError("epe_nas needs labels but the batch has none")
    labels = probe.labels
    if labels.dim() != 1 or labels.is_floating_point():
        kind = "float" if labels.is_floating_point() else str(labels.dtype).replace("torch.", "")
        raise ValueError(f"epe_nas groups samples by class label, but this task's targets are {kind} of shape "
                         f"{tuple(labels.shape)} (a dense or regression target): not defined here")
    width = n_classes if n_classes is not None else output_width(probe)
    return epe_nas_from_jacobian(jacobian_rows(probe), probe.labels.cpu().numpy(), width, k)
