"""Histogram entropies and information gain over a sample of architectures.

LIBRA-NAS picks its second member by the information it adds about the
validation accuracy y beyond the best proxy z1:

    IG(z) = H(y | z1) - H(y | z1, z),   H(a | b) = H(a, b) - H(b),

with every entropy a plug-in (histogram) estimate over the sampled
architectures, as in NAS-Bench-Suite-Zero's information-theoretic analysis.
Continuous values are discretised first. Two rules are offered:

- "quantile" (default): equal-frequency bins, i.e. bins of the ranks. The
  entropies then depend only on the order of the values, like the Spearman rho
  the rest of LIBRA uses, and a heavy-tailed score (params, synflow) does not
  pile into one bin.
- "uniform": equal-width bins over [min, max] (numpy.histogram's rule).

Number of bins: the information gain needs the joint histogram of three
variables (y, z1, z), whose b^3 cells must not outnumber the archs, or every
conditional entropy collapses to 0 and every candidate gets the same IG.
bins="auto" (the default) takes the largest b with b^3 <= n / 5, at least 2,
i.e. at least 5 archs per joint cell on average (b = 5 for 1,000 archs,
b = 2 for 50). NAS-Bench-Suite-Zero's exact bin rule could not be recovered
from the sources we searched, so the choice is ours and is an option.

Entropies are in bits. The plug-in estimate is biased low when cells are
sparse; all candidates are compared under the same bins, so the ordering by
IG, which is all LIBRA uses, is what matters.
"""
from __future__ import annotations

import numpy as np

from ..errors import UnknownNameError

DISCRETISATIONS = ("quantile", "uniform")


def auto_bins(n: int, variables: int = 3, per_cell: float = 5.0) -> int:
    """The largest b with b**variables <= n / per_cell, at least 2."""
    b = max(2, int((n / per_cell) ** (1.0 / variables)))
    while b > 2 and b ** variables > n / per_cell:  # guard against float rounding up
        b -= 1
    return b


def discretise(values, bins: int = 10, method: str = "quantile") -> np.ndarray:
    """Integer bin codes 0..bins-1 of `values` (tied values always share a bin)."""
    if method not in DISCRETISATIONS:
        raise UnknownNameError("discretisation", method, list(DISCRETISATIONS))
    if int(bins) < 1:
        raise ValueError(f"bins={bins}; need at least 1 bin")
    values = np.asarray(values, dtype=float)
    if values.size == 0:
        return np.zeros(0, dtype=int)
    if not np.isfinite(values).all():
        raise ValueError("discretise() got NaN or inf values; rank failures last before binning")
    if method == "uniform":
        lo, hi = values.min(), values.max()
        if hi == lo:
            return np.zeros(values.size, dtype=int)
        return np.minimum(((values - lo) / (hi - lo) * bins).astype(int), bins - 1)
    # quantile: the bin of a value is set by its (average) rank, so ties share a bin
    from scipy.stats import rankdata

    ranks = rankdata(values, method="average")  # 1..n
    return np.minimum(((ranks - 0.5) / values.size * bins).astype(int), bins - 1)


def entropy(*codes: np.ndarray) -> float:
    """Joint Shannon entropy (bits) of one or more aligned arrays of discrete codes."""
    if not codes:
        raise ValueError("entropy() needs at least one array of codes")
    stacked = np.column_stack([np.asarray(c) for c in codes])
    if stacked.shape[0] == 0:
        return 0.0
    _, counts = np.unique(stacked, axis=0, return_counts=True)
    p = counts / counts.sum()
    return float(-(p * np.log2(p)).sum())


def conditional_entropy(target: np.ndarray, *given: np.ndarray) -> float:
    """H(target | given...) = H(target, given...) - H(given...), in bits."""
    if not given:
        return entropy(target)
    return entropy(target, *given) - entropy(*given)


def information_gain(accuracy, z1, z, bins: int | str = "auto", method: str = "quantile") -> float:
    """IG(z) = H(y | z1) - H(y | z1, z): what z tells about accuracy beyond z1 (bits, >= 0)."""
    if bins == "auto":
        bins = auto_bins(len(np.asarray(accuracy)))
    y, a, b = (discretise(v, int(bins), method) for v in (accuracy, z1, z))
    return conditional_entropy(y, a) - conditional_entropy(y, a, b)
