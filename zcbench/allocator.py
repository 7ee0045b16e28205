"""Keep freed memory in the process: large tensors reuse pages instead of faulting in fresh ones.

glibc serves every allocation above its mmap threshold (at most 32 MiB) with a fresh
mmap and unmaps it on free, so each large tensor costs one page fault per 4 KiB page
when it is first written, and the kernel zeroes every page. Zero-cost proxies allocate
such tensors over and over (per-sample gradients of a TransNAS-Bench-101 decoder are
hundreds of MB per chunk): measured on one autoencoder arch at 64 px, the per-sample
pass spent twice its user time in the kernel (7M page faults), and took 2.5-3x longer
than with the freed memory kept (results/benchmark_nb201_cpu.md, `make bench`).

`keep_freed_memory()` tells glibc to serve every allocation from its heap and never to
hand freed heap back, so later tensors land on pages already mapped. The cost: the
resident size stays at the run's peak (it never shrinks between archs). It is applied
once per process, where zcbench starts probing networks (zcbench.proxies.probe.Probe),
and only on glibc. ZCBENCH_MALLOC=system leaves the C library's defaults alone.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import platform

ENV = "ZCBENCH_MALLOC"
CHOICES = ("keep", "system")

# mallopt parameters (glibc malloc.h)
_M_TRIM_THRESHOLD = -1
_M_TOP_PAD = -2
_M_MMAP_MAX = -4

_applied: bool | None = None


def keep_freed_memory() -> bool:
    """Apply the policy once; True when glibc now keeps freed memory, False when left alone."""
    global _applied
    if _applied is not None:
        return _applied
    choice = os.environ.get(ENV, "keep")
    if choice not in CHOICES:
        raise ValueError(f"{ENV}={choice!r}; valid values: {', '.join(CHOICES)}")
    _applied = False
    if choice == "keep" and platform.system() == "Linux" and platform.libc_ver()[0] == "glibc":
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        _applied = bool(libc.mallopt(_M_MMAP_MAX, 0)            # large blocks from the heap too
                        and libc.mallopt(_M_TRIM_THRESHOLD, 2**31 - 1)  # never give the heap top back
                        and libc.mallopt(_M_TOP_PAD, 64 << 20))        # grow the heap in 64 MiB steps
    return _applied
