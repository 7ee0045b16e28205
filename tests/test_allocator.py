"""zcbench.allocator: once applied, a large tensor allocated again lands on pages already mapped."""
import platform
import resource

import pytest
import torch

from zcbench import allocator

glibc = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="the policy applies to glibc only")


def _faults_of_filled_tensor(mib: int) -> int:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    t = torch.ones(mib << 18)  # float32: 4 bytes each, every page written
    del t
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before


@glibc
def test_kept_memory_is_reused_without_page_faults():
    assert allocator.keep_freed_memory() is True
    for _ in range(2):  # the heap grows to hold the block (twice where other allocations sit in between)
        _faults_of_filled_tensor(96)
    pages = (96 << 20) // 4096
    # glibc's default would mmap a 96 MiB block afresh and fault in every page again, each time
    assert sum(_faults_of_filled_tensor(96) for _ in range(3)) < pages // 10


def test_bad_choice_names_the_valid_ones(monkeypatch):
    monkeypatch.setattr(allocator, "_applied", None)
    monkeypatch.setenv(allocator.ENV, "jemalloc")
    with pytest.raises(ValueError, match="ZCBENCH_MALLOC='jemalloc'; valid values: keep, system"):
        allocator.keep_freed_memory()


def test_system_leaves_the_allocator_alone(monkeypatch):
    monkeypatch.setattr(allocator, "_applied", None)
    monkeypatch.setenv(allocator.ENV, "system")
    assert allocator.keep_freed_memory() is False
