"""Peak resident memory and seconds of scoring one network, each case in a fresh process.

The peak resident set size (VmHWM) is a per-process high-water mark, so each case runs in its
own spawned process and reports its own peak: the figure includes the interpreter, torch and the
task's input batch (measured separately as `baseline_mb`, the peak before the network is built),
as a user's run would. zcbench-bench (zcbench/cli/bench.py) runs the cases of its `memory` key.
"""
from __future__ import annotations

import multiprocessing
import resource
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Sequence

import torch


def _peak_mb() -> float:
    """This process's peak resident size in MiB: VmHWM of its own address space where Linux has it.

    ru_maxrss is not that: a child's starts at its parent's resident size when it is forked, and
    exec keeps it, so a case spawned by a parent holding 1.9 GiB reported at least 1.9 GiB.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def _case(overrides: list[str], proxies: list[str] | None, threads: int) -> dict:
    """Run in the child: prepare the task, build its first arch, score the proxies once with their
    configured options and the task's (e.g. synflow keeping LayerNorm on ViTs), as the main command does."""
    torch.set_num_threads(threads)
    from ..harness import apply_task_options, build_network, compose, prepare
    from .configs import config_options
    from .registry import PROXIES
    from .scoring import score_network

    setup = prepare(compose(overrides))
    baseline = _peak_mb()
    arch = setup.archs[0]
    net = build_network(setup, arch)
    params = sum(p.numel() for p in net.parameters())
    names = proxies or PROXIES.names()
    options = apply_task_options({n: config_options(n) for n in names}, setup.task)
    start = time.perf_counter()
    results = score_network(net, setup.inputs, setup.labels, names, options, loss_fn=setup.loss_fn)
    return {"task": setup.task.name, "arch": arch, "params_m": params / 1e6,
            "batch": "x".join(str(d) for d in setup.inputs.shape), "proxies": len(names),
            "failed": sorted(n for n, r in results.items() if not r.ok),
            "seconds": time.perf_counter() - start, "baseline_mb": baseline, "peak_mb": _peak_mb()}


def measure_cases(cases: Sequence[Sequence[str]], proxies: Sequence[str] | None = None,
                  threads: int = 1) -> list[dict]:
    """One row per case (a list of main-command overrides: task, batch_size, ...), each measured
    in a fresh spawned process: seconds of scoring `proxies` (None = all) and the peak RSS."""
    rows = []
    for overrides in cases:
        with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
            row = pool.submit(_case, list(overrides), list(proxies) if proxies else None, threads).result()
        print(f"  {row['task']} {row['arch']} ({row['params_m']:.1f}M params, batch {row['batch']}): "
              f"{row['proxies']} proxies in {row['seconds']:.1f} s, peak {row['peak_mb'] / 1024:.2f} GiB resident "
              f"(before the network: {row['baseline_mb'] / 1024:.2f} GiB)", flush=True)
        rows.append({**row, "overrides": " ".join(overrides)})
    return rows
