"""Seconds per NB201 architecture, per proxy and for all proxies through one shared probe.

Each cost is also given in units of one plain forward+backward pass of the same network on the
same batch, the unit the proxy library's target is stated in. That unit is measured on each
architecture just before and just after its proxies run (median of the two series), so that load
from other processes shifts both alike. One untimed warm-up run of every proxy comes first: it
pays the once-per-process costs (torch.func, and torch._dynamo that FlopCounterMode imports on
first use, ~2 s) that a real run over many architectures pays once. zcbench-bench
(zcbench/cli/bench.py) runs it; results/benchmark_nb201_cpu.md keeps a measured table.
"""
from __future__ import annotations

import random
import statistics
import time
from typing import Sequence

import torch

from ..inputs.datasets import load_batch
from ..spaces import get_space
from .scoring import score_network


def forward_backward_seconds(net: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Seconds of one cross-entropy forward+backward pass (gradients cleared after)."""
    start = time.perf_counter()
    torch.nn.functional.cross_entropy(net(x), y).backward()
    elapsed = time.perf_counter() - start
    net.zero_grad(set_to_none=True)
    return elapsed


def bench_nb201(names: Sequence[str], n_archs: int = 5, batch_size: int = 64, seed: int = 0,
                together_only: bool = False, data_root: str | None = None) -> None:
    """Time `names` on n_archs sampled NB201 archs (CIFAR-10 head) and print the table as it goes."""
    names = list(names)
    space = get_space("nb201")
    batch = load_batch("cifar10", data_root, batch_size, seed, num_classes=10)
    print(f"inputs: {batch.source}; torch threads: {torch.get_num_threads()}")
    rng = random.Random(seed)
    per_proxy: dict[str, list[float]] = {n: [] for n in names}
    together, unit, ratios, pass_times = [], [], [], []
    torch.manual_seed(0)
    warm_net = space.build(space.sample(random.Random(seed + 1)), 10)
    start = time.perf_counter()
    score_network(warm_net, batch.inputs, batch.labels, names)
    print(f"warm-up (untimed below): all proxies once on another arch, {time.perf_counter() - start:.3f} s")
    for _ in range(n_archs):
        arch = space.sample(rng)
        torch.manual_seed(0)
        net = space.build(arch, 10)
        forward_backward_seconds(net, batch.inputs, batch.labels)  # warm-up
        fb_series = [forward_backward_seconds(net, batch.inputs, batch.labels) for _ in range(3)]
        start = time.perf_counter()
        passes: dict[str, float] = {}
        score_network(net, batch.inputs, batch.labels, names, pass_seconds=passes)
        together.append(time.perf_counter() - start)
        pass_times.append(passes)
        fb_series += [forward_backward_seconds(net, batch.inputs, batch.labels) for _ in range(3)]
        unit.append(statistics.median(fb_series))
        ratios.append(together[-1] / unit[-1])
        print(f"  {arch}: proxy=all {together[-1]:.3f} s = {ratios[-1]:.2f} x fwd+bwd ({unit[-1]:.3f} s)",
              flush=True)
        if not together_only:
            for n in names:
                start = time.perf_counter()
                score_network(net, batch.inputs, batch.labels, [n])
                per_proxy[n].append(time.perf_counter() - start)
    fb = statistics.mean(unit)
    print(f"one forward+backward: {fb:.3f} s (mean over {n_archs} NB201 archs, batch {batch_size})")
    if not together_only:
        print(f"{'proxy':<18} {'s/arch':>8} {'x fwd+bwd':>10}")
        for n in names:
            s = statistics.mean(per_proxy[n])
            print(f"{n:<18} {s:8.3f} {s / fb:10.2f}")
    s = statistics.mean(together)
    alone = (f"   (sum of separate runs: {sum(statistics.mean(v) for v in per_proxy.values()):.3f} s)"
             if not together_only else "")
    print(f"{'together':<18} {s:8.3f} {statistics.mean(ratios):10.2f}{alone}")
    print("(together's x fwd+bwd is the mean over archs of each arch's own ratio)")
    print("shared passes inside proxy=all (mean s/arch, x fwd+bwd); forward-sharing passes overlap:")
    for key in pass_times[0]:
        secs = statistics.mean(p.get(key, 0.0) for p in pass_times)
        print(f"  {key:<40} {secs:8.3f} {secs / fb:10.2f}")
