"""Seconds per NB201 architecture, per proxy and for all proxies through one shared probe.

Also reports each cost in units of one plain forward+backward pass of the same
network on the same batch, the unit the proxy library's target is stated in.
Run: python benchmarks/bench_proxies.py [--archs 5] [--batch-size 64] [--proxies a,b]
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
    args = parser.parse_args()
    names = args.proxies.split(",")
    space = get_space("nb201")
    batch = load_batch("cifar10", os.environ.get("ZCBENCH_DATA"), args.batch_size, args.seed, num_classes=10)
    print(f"inputs: {batch.source}; torch threads: {torch.get_num_threads()}")
    rng = random.Random(args.seed)
    per_proxy = {n: [] for n in names}
    together, unit = [], []
    for _ in range(args.archs):
        arch = space.sample(rng)
        torch.manual_seed(0)
        net = space.build(arch, 10)
        forward_backward_seconds(net, batch.inputs, batch.labels)  # warm-up
        unit.append(statistics.median(forward_backward_seconds(net, batch.inputs, batch.labels) for _ in range(3)))
        for n in names:
            start = time.perf_counter()
            score_network(net, batch.inputs, batch.labels, [n])
            per_proxy[n].append(time.perf_counter() - start)
        start = time.perf_counter()
        score_network(net, batch.inputs, batch.labels, names)
        together.append(time.perf_counter() - start)
    fb = statistics.mean(unit)
    print(f"one forward+backward: {fb:.3f} s (mean over {args.archs} NB201 archs, batch {args.batch_size})")
    print(f"{'proxy':<12} {'s/arch':>8} {'x fwd+bwd':>10}")
    for n in names:
        s = statistics.mean(per_proxy[n])
        print(f"{n:<12} {s:8.3f} {s / fb:10.2f}")
    s = statistics.mean(together)
    alone = sum(statistics.mean(v) for v in per_proxy.values())
    print(f"{'together':<12} {s:8.3f} {s / fb:10.2f}   (sum of separate runs: {alone:.3f} s)")


if __name__ == "__main__":
    main()
