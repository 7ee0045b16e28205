"""Seconds per NB201 architecture, per proxy, for groups of proxies through one shared probe, and
for all of them together.

Each cost is also given in units of one plain forward+backward pass of the same network on the
same batch, the unit the proxy library's target is stated in. That unit is measured on each
architecture just before and just after its proxies run (median of the two series), so that load
from other processes shifts both alike. One untimed warm-up run of every proxy comes first: it
pays the once-per-process costs (torch.func, and torch._dynamo that FlopCounterMode imports on
first use, ~2 s) that a real run over many architectures pays once. zcbench-bench
(zcbench/cli/bench.py) runs it and writes results/benchmark_nb201_cpu.md.
"""
from __future__ import annotations

import random
import statistics
import time
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import torch

from ..inputs.datasets import load_batch
from ..spaces import get_space
from .scoring import score_network

#: the seven measures of foresight (SamsungLabs/zero-cost-nas), the code NASLib's proxies come from
FORESIGHT = ("grad_norm", "snip", "grasp", "fisher", "jacov", "plain", "synflow")


@dataclass
class BenchResult:
    """What bench_nb201 measured: per arch, the unit and the together/group times; per proxy, its time alone."""

    names: list[str]
    batch_source: str
    archs: list[str] = field(default_factory=list)
    unit: list[float] = field(default_factory=list)          # one forward+backward, s, per arch
    together: list[float] = field(default_factory=list)      # all `names` through one probe, s, per arch
    groups: dict[str, list[float]] = field(default_factory=dict)      # group -> s per arch
    group_members: dict[str, list[str]] = field(default_factory=dict)
    per_proxy: dict[str, list[float]] = field(default_factory=dict)   # proxy alone -> s per arch
    pass_times: list[dict[str, float]] = field(default_factory=list)  # shared passes inside `together`

    @property
    def fb(self) -> float:
        return statistics.mean(self.unit)

    def ratio(self, seconds: Sequence[float]) -> float:
        """Mean over archs of each arch's own seconds / forward+backward."""
        return statistics.mean(s / u for s, u in zip(seconds, self.unit))


def forward_backward_seconds(net: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Seconds of one cross-entropy forward+backward pass (gradients cleared after)."""
    start = time.perf_counter()
    torch.nn.functional.cross_entropy(net(x), y).backward()
    elapsed = time.perf_counter() - start
    net.zero_grad(set_to_none=True)
    return elapsed


def _timed(net: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, names: Sequence[str],
           passes: dict[str, float] | None = None) -> float:
    start = time.perf_counter()
    score_network(net, x, y, list(names), pass_seconds=passes)
    return time.perf_counter() - start


def bench_nb201(names: Sequence[str], n_archs: int = 5, batch_size: int = 64, seed: int = 0,
                together_only: bool = False, data_root: str | None = None,
                groups: Mapping[str, Sequence[str]] | None = None) -> BenchResult:
    """Time `names` (together, each alone unless together_only, and each group of `groups` through
    one probe) on n_archs sampled NB201 archs (CIFAR-10 head); progress is printed as it goes."""
    names, groups = list(names), {k: list(v) for k, v in (groups or {}).items()}
    space = get_space("nb201")
    batch = load_batch("cifar10", data_root, batch_size, seed, num_classes=10)
    x, y = batch.inputs, batch.labels
    result = BenchResult(names, batch.source, groups={g: [] for g in groups}, group_members=groups,
                         per_proxy={} if together_only else {n: [] for n in names})
    print(f"inputs: {batch.source}; torch threads: {torch.get_num_threads()}")
    torch.manual_seed(0)
    warm = _timed(space.build(space.sample(random.Random(seed + 1)), 10), x, y, names)
    print(f"warm-up (untimed below): all proxies once on another arch, {warm:.3f} s")
    rng = random.Random(seed)
    for _ in range(n_archs):
        arch = space.sample(rng)
        torch.manual_seed(0)
        net = space.build(arch, 10)
        forward_backward_seconds(net, x, y)  # warm-up
        fb_series = [forward_backward_seconds(net, x, y) for _ in range(3)]
        passes: dict[str, float] = {}
        result.together.append(_timed(net, x, y, names, passes))
        result.pass_times.append(passes)
        for group, members in groups.items():
            result.groups[group].append(_timed(net, x, y, members))
        fb_series += [forward_backward_seconds(net, x, y) for _ in range(3)]
        result.archs.append(arch)
        result.unit.append(statistics.median(fb_series))
        print(f"  {arch}: proxy=all {result.together[-1]:.3f} s = {result.together[-1] / result.unit[-1]:.2f} "
              f"x fwd+bwd ({result.unit[-1]:.3f} s)", flush=True)
        for n in result.per_proxy:
            result.per_proxy[n].append(_timed(net, x, y, [n]))
    return result


def bench_table(result: BenchResult) -> list[str]:
    """The measured table as text lines (the body of results/benchmark_nb201_cpu.md)."""
    fb = result.fb
    lines = [f"one forward+backward: {fb:.3f} s (mean over {len(result.unit)} NB201 archs)",
             f"{'proxy':<18} {'s/arch':>8} {'x fwd+bwd':>10}"]
    for n, secs in result.per_proxy.items():
        lines.append(f"{n:<18} {statistics.mean(secs):8.3f} {result.ratio(secs):10.2f}")
    alone = (f"   (sum of separate runs: {sum(statistics.mean(v) for v in result.per_proxy.values()):.3f} s)"
             if result.per_proxy else "")
    lines.append(f"{'together':<18} {statistics.mean(result.together):8.3f} {result.ratio(result.together):10.2f}{alone}")
    for group, secs in result.groups.items():
        members = [n for n in result.group_members[group] if n in result.per_proxy]
        lines.append(f"{group + ' together':<18} {statistics.mean(secs):8.3f} {result.ratio(secs):10.2f}"
                     + (f"   (sum of separate runs: {sum(statistics.mean(result.per_proxy[n]) for n in members):.3f} s)"
                        if members else ""))
    lines += ["(x fwd+bwd of a row = the mean over archs of each arch's own ratio)",
              "shared passes inside proxy=all (mean s/arch, x fwd+bwd); forward-sharing passes overlap:"]
    for key in result.pass_times[0]:
        secs = [p.get(key, 0.0) for p in result.pass_times]
        lines.append(f"  {key:<40} {statistics.mean(secs):8.3f} {result.ratio(secs):10.2f}")
    return lines
