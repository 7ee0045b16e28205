"""Which proxies of a score table are the same computation, so that tables and ensembles hold each once.

Two sources, both per task (a proxy can be an alias on one task and not on another):

- declared: the registry says so (`Proxy.alias_of`, e.g. az_complexity = flops;
  lswag_psi = swap when its window reaches the last bin; swap_reg = swap
  without a prior), read against the options the proxy was scored under (the
  settings string of its cached rows);
- from the data: two proxies whose rankings (failures last) are identical on
  every arch of the table, whatever the registry says.

Each group keeps one representative: the declared target, else the first name
in alphabetical order. Near-duplicates (|Spearman| >= 0.99 but not identical)
are not aliases here: they are different computations that agree, and only
LIBRA's candidate pool merges them (ensembles/libra.py).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import yaml

from ..ensembles.table import ScoreTable
from .stats import ranks_failed_last

#: settings keys that describe the batch and the space, not the proxy's options
_NOT_OPTIONS = ("input", "batch")


@dataclass(frozen=True)
class Alias:
    """`alias` computes what `same_as` computes on this table; `reason` says how we know."""

    alias: str
    same_as: str
    reason: str


def options_from_settings(settings: str) -> dict[str, Any]:
    """The proxy options of a cache settings string ('input=...;batch=...;window_lo=80;...')."""
    out: dict[str, Any] = {}
    for part in filter(None, (settings or "").split(";")):
        key, _, value = part.partition("=")
        if key in _NOT_OPTIONS or key.startswith("space."):
            continue
        parsed = yaml.safe_load(value) if value not in ("None", "") else None
        out[key] = parsed
    return out


def declared_aliases(table: ScoreTable) -> dict[str, Alias]:
    """Proxies of the table that the registry declares equal to another proxy OF THE TABLE."""
    from ..proxies import PROXIES

    out = {}
    for proxy in table.proxies:
        if proxy not in PROXIES.names():
            continue
        target = PROXIES.get(proxy).alias_of(**options_from_settings(table.settings.get(proxy, "")))
        if target and target != proxy and target in table.proxies:
            out[proxy] = Alias(proxy, target, f"declared: {proxy} computes {target} under its settings")
    return out


def identical_rankings(table: ScoreTable) -> dict[str, Alias]:
    """Proxies whose ranking (failures last) equals an alphabetically earlier proxy's on every arch."""
    ranks = {p: ranks_failed_last(table.scores[p].to_numpy()) for p in sorted(table.proxies)}
    out: dict[str, Alias] = {}
    names = list(ranks)
    for i, p in enumerate(names):
        for q in names[:i]:
            if q not in out and np.array_equal(ranks[p], ranks[q]):
                out[p] = Alias(p, q, f"identical ranking on all {len(table.scores)} archs of the table")
                break
    return out


def alias_map(table: ScoreTable) -> dict[str, Alias]:
    """alias -> Alias(representative) for every proxy of the table that repeats another's computation.

    Declared aliases point at their declared target; a pair found only from the data points at the
    representative of the group it joins. Chains resolve to the end, so a representative is never
    itself an alias.
    """
    found = dict(identical_rankings(table))
    declared = declared_aliases(table)
    for alias in declared.values():  # a declared alias decides the direction of its pair
        if found.get(alias.same_as) is not None and found[alias.same_as].same_as == alias.alias:
            del found[alias.same_as]
    found.update(declared)

    def root(p: str, seen: tuple = ()) -> str:
        nxt = found.get(p)
        return p if nxt is None or nxt.same_as in seen else root(nxt.same_as, seen + (p,))

    return {p: Alias(p, root(p), a.reason) for p, a in found.items() if root(p) != p}


def representatives(table: ScoreTable) -> list[str]:
    """The table's proxies with each computation once (aliases left out), in table order."""
    aliases = alias_map(table)
    return [p for p in table.proxies if p not in aliases]
