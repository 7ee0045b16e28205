"""Seconds per NB201 architecture, per proxy and for all proxies through one shared probe.

Also reports each cost in units of one plain forward+backward pass of the same
network on the same batch, the unit the proxy library's target is stated in.
That unit is measured on each architecture just before and just after its
proxy runs (median of the two series), so that load from other processes
shifts both alike. One untimed warm-up run of every proxy comes first: it pays
the once-per-process costs (torch.func, and torch._dynamo that FlopCounterMode
imports on first use, ~2 s) that a real run over many architectures pays once.
Run: python benchmarks/bench_proxies.py [--archs 5] [--batch-size 64] [--proxies a,b] [--together-only]
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import time

import torch

from zcbench.datasets import load_batch
from zcbench.proxies import PROXIES, score_network
from zcbench.spaces import get_space


def forward_backward_seconds(net, x, y) -> float:
    start = time.perf_counter()
    torch.nn.functional.cross_entropy(net(x), y).backward()
    elapsed = time.perf_counter() - start
    net.zero_grad(set_to_none=True)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--archs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--proxies", default=",".join(PROXIES.names()))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--together-only", action="store_true",
                        help="time only proxy=all (skip the per-proxy runs)")
    args = parser.parse_args()
    names = args.proxies.split(",")
    space = get_space("nb201")
    batch = load_batch("cifar10", os.environ.get("ZCBENCH_DATA"), args.batch_size, args.seed, num_classes=10)
    print(f"inputs: {batch.source}; torch threads: {torch.get_num_threads()}")
    rng = random.Random(args.seed)
    per_proxy = {n: [] for n in names}
    together, unit = [], []
    torch.manual_seed(0)
    warm_net = space.build(space.sample(random.Random(args.seed + 1)), 10)
    start = time.perf_counter()
    score_network(warm_net, batch.inputs, batch.labels, names)
    print(f"warm-up (untimed below): all proxies once on another arch, {time.perf_counter() - start:.3f} s")
    ratios, pass_times = [], []
    for _ in range(args.archs):
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
        if not args.together_only:
            for n in names:
                start = time.perf_counter()
                score_network(net, batch.inputs, batch.labels, [n])
                per_proxy[n].append(time.perf_counter() - start)
    fb = statistics.mean(unit)
    print(f"one forward+backward: {fb:.3f} s (mean over {args.archs} NB201 archs, batch {args.batch_size})")
    if not args.together_only:
        print(f"{'proxy':<18} {'s/arch':>8} {'x fwd+bwd':>10}")
        for n in names:
            s = statistics.mean(per_proxy[n])
            print(f"{n:<18} {s:8.3f} {s / fb:10.2f}")
    s = statistics.mean(together)
    alone = (f"   (sum of separate runs: {sum(statistics.mean(v) for v in per_proxy.values()):.3f} s)"
             if not args.together_only else "")
    print(f"{'together':<18} {s:8.3f} {statistics.mean(ratios):10.2f}{alone}")
    print("(together's x fwd+bwd is the mean over archs of each arch's own ratio)")
    print("shared passes inside proxy=all (mean s/arch, x fwd+bwd); forward-sharing passes overlap:")
    for key in pass_times[0]:
        secs = statistics.mean(p.get(key, 0.0) for p in pass_times)
        print(f"  {key:<40} {secs:8.3f} {secs / fb:10.2f}")

if __name__ == "__main__":
    main()
