"""Score one network with several proxies through one shared Probe."""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import torch
from torch import nn

from ..errors import failure_reason
from .probe import LossFn, Probe
from .registry import PROXIES


@dataclass
class ProxyResult:
    """One proxy on one network: a finite score, or NaN and the reason it failed."""

    score: float
    seconds: float
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.error


def score_network(net: nn.Module, inputs: torch.Tensor, labels: torch.Tensor | None,
                  names: Sequence[str], options: Mapping[str, Mapping[str, Any]] | None = None,
                  loss_fn: LossFn | None = None,
                  pass_seconds: dict[str, float] | None = None) -> dict[str, ProxyResult]:
    """Run proxies `names` on `net`; passes they share are run once.

    `seconds` of a proxy is its own computation plus the shared passes it read,
    i.e. what it would cost if it were run alone. A proxy that gives a non-finite
    value, or raises a runtime failure of the network (zcbench.errors.failure_reason:
    ProxyFailure, out of memory, no double backward, ...), is recorded as a failure
    and the others go on; any other exception is a bug and propagates, with a note
    naming the proxy. If a dict is given as `pass_seconds`, it receives the time of
    each shared pass that ran (where the time of a proxy=all run goes).
    """
    options = options or {}
    proxies = [PROXIES.get(n) for n in names]
    probe = Probe(net, inputs, labels, loss_fn, planned=[p.needs for p in proxies])
    results: dict[str, ProxyResult] = {}
    for p in proxies:
        start = time.perf_counter()
        passes_before = dict(probe.pass_seconds)
        try:
            value = float(p(probe, **dict(options.get(p.name, {}))))
            error = "" if math.isfinite(value) else f"non-finite score ({value})"
        except Exception as err:
            error = failure_reason(err)
            if error is None:  # a bug, not a property of this network: never cached
                err.add_note(f"(raised by proxy {p.name}; not a runtime failure of the network, "
                             "see zcbench/errors.py for the failure contract)")
                raise
            value = math.nan
        elapsed = time.perf_counter() - start
        # time spent inside passes computed during this call belongs to the passes
        new_pass_time = sum(v for k, v in probe.pass_seconds.items() if k not in passes_before)
        own = max(elapsed - new_pass_time, 0.0)
        results[p.name] = ProxyResult(score=value if not error else math.nan,
                                      seconds=own + probe.seconds_for(p.needs), error=error)
    if pass_seconds is not None:
        pass_seconds.update(probe.pass_seconds)
    return results
