"""LIBRA-NAS (Low Information gain and Bias Re-Alignment), from cached scores.

On a tuning sample of architectures with ground truth (docs/method.md#libra-nas):

1. z1 = the proxy with the highest Spearman rho against accuracy.
2. Candidates = the other proxies with rho in (rho(z1) - window, rho(z1)];
   z2 = the candidate with the LOWEST information gain
   IG(z) = H(y | z1) - H(y | z1, z) (histogram entropies, see information.py).
3. z3 = among the remaining candidates, the one whose bias (Spearman with
   #params) is closest to the bias of the accuracy itself.
4. Score = rank sum of z1, z2, z3 (the paper leaves the fusion open; the rank
   sum needs no scale matching and is what the baselines use too).

The pool holds each computation once: a proxy that is an alias of another
on this task (declared in the registry or with an identical ranking,
analysis/aliases.py) and a near-duplicate (|Spearman| >= NEAR_DUPLICATE with a
proxy of higher rho, on the tuning archs) are merged into that proxy and are
never members; otherwise LIBRA's lowest-information-gain rule picks the copy of
z1 (IG ~ 0), one signal counted twice. The four variants share this pool.

When the window holds fewer than two candidates the ensemble has fewer
members (z1 alone when it holds none); the selection records that. Failures
rank last for rho, IG (they share the lowest bin) and bias.

Variants for the paper's ablation (Table 4) change one rule at a time: z2 by
highest rho instead of lowest IG, z3 without bias matching (next-lowest IG),
and simply the top three proxies by rho.
"""
from __future__ import annotations

import math
from functools import partial

import numpy as np
from scipy import stats

from ..errors import ZcbenchError
from .base import MissingMembersError, Selection
from .information import auto_bins, information_gain
from ..analysis.stats import ranks_failed_last, spearman_failed_last
from .table import ScoreTable

MIN_TUNING_ARCHS = 5
NEAR_DUPLICATE = 0.99  # |Spearman| between two proxies on the tuning archs at or above which they are one candidate
Z2_RULES = ("lowest_ig", "highest_rho")
Z3_RULES = ("bias", "lowest_ig")


def proxy_rhos(table: ScoreTable) -> dict[str, float]:
    """Spearman rho (failures last) of every proxy in the table; constant proxies are dropped."""
    if len(table.accuracy) < MIN_TUNING_ARCHS:
        raise ZcbenchError(f"task {table.task}: {len(table.accuracy)} tuning archs; choosing members needs "
                           f"at least {MIN_TUNING_ARCHS} (score more archs)")
    acc = table.accuracy.to_numpy()
    out = {p: spearman_failed_last(table.scores[p].to_numpy(), acc) for p in table.proxies}
    return {p: r for p, r in out.items() if not math.isnan(r)}


def candidate_pool(table: ScoreTable, rhos: dict[str, float], near: float = NEAR_DUPLICATE
                   ) -> tuple[list[str], dict[str, str]]:
    """(proxies by decreasing rho with each computation once, merged proxy -> the one it merged into).

    Aliases (analysis.aliases.alias_map) go to their representative; then, in rho order, a proxy whose
    |Spearman| with an already kept proxy is >= `near` on these archs merges into that proxy.
    """
    from ..analysis.aliases import alias_map

    aliases = alias_map(table)
    kept, ranks, merged = [], {}, {}
    for p in sorted(rhos, key=lambda p: (-rhos[p], p)):
        if p in aliases:
            merged[p] = aliases[p].same_as
            continue
        r = ranks_failed_last(table.scores[p].to_numpy())
        twin = next((q for q in kept if abs(stats.spearmanr(r, ranks[q]).statistic) >= near), None)
        if twin is not None:
            merged[p] = twin
            continue
        kept.append(p)
        ranks[p] = r
    for p, q in list(merged.items()):  # an alias whose representative merged into a near-duplicate
        while q in merged:
            q = merged[q]
        merged[p] = q
    return kept, merged


def _binnable(values: np.ndarray, method: str) -> np.ndarray:
    """Finite values for binning: failures take the lowest bin (ranks for quantile bins)."""
    if method == "quantile":
        return ranks_failed_last(values)
    v = np.asarray(values, dtype=float).copy()
    ok = np.isfinite(v)
    v[~ok] = v[ok].min() if ok.any() else 0.0
    return v


def bias(table: ScoreTable, values, params: str = "params") -> float:
    """Spearman of `values` (failures last) with the network's parameter count."""
    if params not in table.scores.columns:
        raise MissingMembersError("libra (bias matching)", [params], table.proxies)
    return spearman_failed_last(values, table.scores[params].to_numpy())


def select(table: ScoreTable, window: float = 0.1, bins: int | str = "auto", discretisation: str = "quantile",
           z2_rule: str = "lowest_ig", z3_rule: str = "bias", params: str = "params") -> Selection:
    """LIBRA's members {z1, z2, z3} chosen on `table` (the tuning sample), with the statistics used."""
    if z2_rule not in Z2_RULES or z3_rule not in Z3_RULES:
        raise ValueError(f"z2_rule={z2_rule!r}, z3_rule={z3_rule!r}; valid: z2 {Z2_RULES}, z3 {Z3_RULES}")
    rhos = proxy_rhos(table)
    if not rhos:
        raise MissingMembersError("libra", ["any proxy with a non-constant score"], table.proxies)
    order, merged = candidate_pool(table, rhos)
    z1 = order[0]
    candidates = [p for p in order[1:] if rhos[p] > rhos[z1] - window]
    acc = table.accuracy.to_numpy()
    z1_values = _binnable(table.scores[z1].to_numpy(), discretisation)
    gains = {p: information_gain(acc, z1_values, _binnable(table.scores[p].to_numpy(), discretisation),
                                 bins, discretisation) for p in candidates}
    details = {"rho": rhos, "z1": z1, "window": window, "candidates": candidates, "ig": gains, "merged": merged,
               "bins": auto_bins(len(acc)) if bins == "auto" else int(bins),
               "discretisation": discretisation, "z2_rule": z2_rule, "z3_rule": z3_rule}
    members = [z1]
    if candidates:
        if z2_rule == "lowest_ig":
            z2 = min(candidates, key=lambda p: (gains[p], -rhos[p], p))
        else:
            z2 = candidates[0]
        members.append(z2)
        rest = [p for p in candidates if p != z2]
        if rest:
            if z3_rule == "bias":
                acc_bias = bias(table, acc, params)
                biases = {p: bias(table, table.scores[p].to_numpy(), params) for p in rest}
                details.update(accuracy_bias=acc_bias, bias=biases)
                z3 = min(rest, key=lambda p: (abs(biases[p] - acc_bias), -rhos[p], p))
            else:
                z3 = min(rest, key=lambda p: (gains[p], -rhos[p], p))
            members.append(z3)
    return Selection(tuple(members), details)


def select_top_k(table: ScoreTable, k: int = 3) -> Selection:
    """The k proxies with the highest rho on the tuning sample, each computation once (ablation: no IG, no bias)."""
    rhos = proxy_rhos(table)
    if not rhos:
        raise MissingMembersError("top3_rho", ["any proxy with a non-constant score"], table.proxies)
    order, merged = candidate_pool(table, rhos)
    return Selection(tuple(order[:k]), {"rho": rhos, "rule": f"top {k} by rho", "merged": merged})


VARIANTS = {
    "libra": ("LIBRA-NAS: z1 best rho; z2 lowest IG within 0.1 of it; z3 bias-matched to accuracy; rank sum",
              partial(select)),
    "libra_z2_max_rho": ("ablation: z2 = highest rho in the window instead of lowest IG; z3 bias-matched",
                         partial(select, z2_rule="highest_rho")),
    "libra_no_bias": ("ablation: z3 = next-lowest IG instead of bias matching",
                      partial(select, z3_rule="lowest_ig")),
    "top3_rho": ("ablation: the three proxies with the highest rho, rank sum", partial(select_top_k, k=3)),
}
