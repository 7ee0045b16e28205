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
applied = allocator.choose_policy() == "keep"
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
    with pytest.raises(ValueError, match="ZCBENCH_MALLOC='jemalloc'; valid values: keep, system, release"):
        allocator.choose_policy()


def test_the_first_policy_holds_for_the_process(monkeypatch):
    monkeypatch.setattr(allocator, "_applied", None)
    monkeypatch.delenv(allocator.ENV, raising=False)
    assert allocator.choose_policy("system") == "system"
    assert allocator.choose_policy("keep") == "system"  # applied once: the first caller's
    monkeypatch.setattr(allocator, "_applied", None)
    monkeypatch.setenv(allocator.ENV, "system")  # the environment wins over a caller's default
    assert allocator.choose_policy("keep") == "system"


_HOLES = """
import torch
from zcbench import allocator
allocator.choose_policy()
def rss_mib():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
first = torch.ones(1 << 20)
del first  # a 4 MiB block freed: glibc's own threshold rises to 4 MiB
blocks, pins = [], []
for _ in range(200):  # 400 MiB of 2 MiB blocks, each followed by a 64 KiB tensor that stays
    blocks.append(torch.ones(1 << 19))
    pins.append(torch.ones(1 << 14))
held = rss_mib()
del blocks
print(held - rss_mib())
"""


def _mib_given_back(policy: str) -> float:
    env = {**os.environ, allocator.ENV: policy, "OMP_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, "-c", _HOLES], env=env, capture_output=True, text=True, check=True)
    return float(out.stdout)


@glibc
def test_release_gives_freed_blocks_back_between_live_ones():
    # 400 MiB freed in holes between small live tensors: only mapped-per-block memory goes back
    assert _mib_given_back("release") > 350
    assert _mib_given_back("system") < 50


_PROBE_DEFAULT = """
import sys, torch
sys.path.insert(0, {tests!r})
from conftest import {net}
from zcbench import allocator
from zcbench.proxies import Probe
Probe({net}(), torch.zeros(2, 3, 8, 8), None)
print(allocator.choose_policy())
"""


@glibc
@pytest.mark.parametrize("net, policy", [("tiny_cnn", "keep"), ("tiny_vit", "system")])
def test_probe_keeps_freed_memory_for_batch_norm_networks_only(net, policy):
    env = {k: v for k, v in os.environ.items() if k != allocator.ENV}
    code = _PROBE_DEFAULT.format(tests=os.path.dirname(__file__), net=net)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split()[-1] == policy
