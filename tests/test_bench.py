"""zcbench-bench end to end on a tiny case: the page holds every timed row and a memory row whose peak
is a real high-water mark (not a timing test: only that the numbers are there and consistent)."""
from __future__ import annotations

import re

from zcbench.cli.bench import run
from zcbench.harness import compose


def test_bench_writes_the_cost_table_and_the_peak_memory_row(tmp_path, real_data):
    out = tmp_path / "bench.md"
    cfg = compose(["n_archs=1", "proxies=[params,synflow,grad_norm]", "groups={foresight:[grad_norm,synflow]}",
                   'memory=[["task=nb201_cifar10","n_archs=1"]]', "memory_proxies=[params,nwot]",
                   f"out={out}", f"data_root={real_data}"], config_name="bench")
    run(cfg)
    page = out.read_text()
    for row in ("params", "synflow", "grad_norm", "together", "foresight together", "gradients"):
        assert re.search(rf"^\s*{row}\s+\d+\.\d+\s+\d+\.\d+", page, re.M), row
    assert "sum of separate runs" in page
    memory = [line for line in page.splitlines() if line.startswith("| `task=nb201_cifar10")]
    assert len(memory) == 1
    cells = [c.strip() for c in re.split(r"(?<!\\)\|", memory[0])[1:-1]]
    assert len(cells) == 9  # the arch's own '|' are escaped, so the row keeps its 9 columns
    proxies, failed, baseline, peak = int(cells[4]), cells[5], float(cells[7]), float(cells[8])
    assert proxies == 2 and failed == "-"
    assert 0 < baseline <= peak


def test_a_case_reports_its_own_peak_not_its_parents(real_data):
    """A spawned child's ru_maxrss starts at the parent's resident size; the case reads its own VmHWM."""
    import torch

    from zcbench.proxies.peak_memory import measure_cases

    held = torch.ones(768 << 18)  # the parent holds 768 MiB, every page written
    [row] = measure_cases([["task=nb201_cifar10", "n_archs=1", f"data_root={real_data}"]], proxies=["params"])
    assert float(held[0]) == 1.0
    assert row["peak_mb"] < 700, row  # an NB201 case with one data-free proxy needs well under that
