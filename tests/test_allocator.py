"""zcbench.allocator: once applied, a large tensor allocated again lands on pages already mapped."""
import os
import platform
import subprocess
import sys

import pytest
import torch

from zcbench import allocator

glibc = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="the policy applies to glibc only")


_FILLS = """
import resource, sys, torch
from zcbench import allocator
applied = allocator.keep_freed_memory()
def faults():
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    t = torch.ones(96 << 18)  # 96 MiB of float32, every page written
    del t
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
for _ in range(2):  # the heap grows to hold the block
    faults()
print(applied, sum(faults() for _ in range(3)))
"""


def _faults_after_warm_up(policy: str) -> tuple[bool, int]:
    """(policy applied, page faults of three more 96 MiB fills) in a fresh interpreter, whose heap
    holds nothing else (in this process, earlier tests leave the heap in any state)."""
    env = {**os.environ, allocator.ENV: policy, "OMP_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, "-c", _FILLS], env=env, capture_output=True, text=True, check=True)
    applied, faults = out.stdout.split()
    return applied == "True", int(faults)


@glibc
def test_kept_memory_is_reused_without_page_faults():
    one_fill = (96 << 20) // 4096  # pages
    # kept: the fills reuse the heap's pages (now and then one of the three lands on fresh ones)
    applied, faults = _faults_after_warm_up("keep")
    assert applied and faults <= 1.1 * one_fill
    # glibc's default maps a block of this size afresh and faults in every page again, each time
    applied, faults = _faults_after_warm_up("system")
    assert not applied and faults >= 2.9 * one_fill


def test_bad_choice_names_the_valid_ones(monkeypatch):
    monkeypatch.setattr(allocator, "_applied", None)
    monkeypatch.setenv(allocator.ENV, "jemalloc")
    with pytest.raises(ValueError, match="ZCBENCH_MALLOC='jemalloc'; valid values: keep, system"):
        allocator.keep_freed_memory()


def test_system_leaves_the_allocator_alone(monkeypatch):
    monkeypatch.setattr(allocator, "_applied", None)
    monkeypatch.setenv(allocator.ENV, "system")
    assert allocator.keep_freed_memory() is False
