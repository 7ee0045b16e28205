"""How glibc hands memory back: chosen once per process, where zcbench first probes a network.

glibc serves every allocation above its mmap threshold (at most 32 MiB) with a fresh
mmap and unmaps it on free, so each large tensor costs one page fault per 4 KiB page
when it is first written, and the kernel zeroes every page. Zero-cost proxies allocate
such tensors over and over (per-sample gradients of a TransNAS-Bench-101 decoder are
hundreds of MB per chunk): measured on one autoencoder arch at 64 px, the per-sample
pass spent twice its user time in the kernel (7M page faults), and took 2.5-3x longer
than with the freed memory kept (results/benchmark_nb201_cpu.md, `make bench`).

Three policies, named by ZCBENCH_MALLOC (unset: "keep" for networks with BatchNorm, the
CNN spaces where it was measured to pay, "system" for the others, the ViTs):

- keep: every allocation from glibc's heap, freed memory never handed back, so later tensors
  land on pages already mapped. The resident size stays at the run's peak, and holes in the
  heap add to it: proxy=all on AutoFormer-S at 224 px, batch 16, peaked at 10.0 GiB kept
  against 7.1 GiB under glibc's defaults, for no gain in time.
- system: glibc's defaults.
- release: every block above 128 KiB mapped on its own and unmapped when freed, so the resident
  size follows the live tensors instead of the heap's high-water mark and its holes: for nodes
  short of memory. proxy=all on AutoFormer-T at 224 px, batch 16: 2.15 GiB against 3.4-3.8 (system)
  and 3.65 (keep); AutoFormer-S 5.1 GiB against 6.8-7.1 (system); ~1.6x the time.

Only glibc on Linux is tuned; elsewhere every policy leaves the allocator alone.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import platform

ENV = "ZCBENCH_MALLOC"
CHOICES = ("keep", "system", "release")

# mallopt parameters (glibc malloc.h)
_M_TRIM_THRESHOLD = -1
_M_TOP_PAD = -2
_M_MMAP_THRESHOLD = -3
_M_MMAP_MAX = -4

_applied: str | None = None


def choose_policy(default: str = "keep") -> str:
    """Apply ZCBENCH_MALLOC's policy, or `default` where it is unset, once per process; later calls
    return the policy applied first ("system" also where glibc is not the C library)."""
    global _applied
    if _applied is not None:
        return _applied
    choice = os.environ.get(ENV) or default
    if choice not in CHOICES:
        raise ValueError(f"{ENV}={choice!r}; valid values: {', '.join(CHOICES)}")
    _applied = "system"
    if choice == "system" or platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return _applied
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    if choice == "keep":
        ok = (libc.mallopt(_M_MMAP_MAX, 0)                  # large blocks from the heap too
              and libc.mallopt(_M_TRIM_THRESHOLD, 2**31 - 1)  # never give the heap top back
              and libc.mallopt(_M_TOP_PAD, 64 << 20))        # grow the heap in 64 MiB steps
    else:  # a fixed threshold (glibc's own rises after each free) and a heap top given back
        ok = libc.mallopt(_M_MMAP_THRESHOLD, 128 << 10) and libc.mallopt(_M_TRIM_THRESHOLD, 128 << 10)
    _applied = choice if ok else "system"
    return _applied
