"""`zcbench-bench [n_archs=3] [proxies=[a,b]] [together_only=true] [out=FILE.md]`: what each proxy costs.

Times each proxy, the groups of `groups` and all of them together on sampled NB201 archs, in seconds
and in units of one forward+backward pass (zcbench/proxies/timing.py), then the peak memory of the
`memory` cases (zcbench/proxies/peak_memory.py); with `out`, writes the page (keys: zcbench/conf/bench.yaml).
"""
from __future__ import annotations

import os
import sys

import hydra
from omegaconf import DictConfig, OmegaConf

from ..errors import exit_on_error
from . import as_list


def run(cfg: DictConfig) -> None:
    """Time the chosen proxies, print the table, measure the memory cases, write the page."""
    from ..analysis.bench_page import machine_line, write_bench_page
    from ..proxies import PROXIES
    from ..proxies.peak_memory import measure_cases
    from ..proxies.timing import bench_nb201, bench_table

    load = os.getloadavg()
    names = PROXIES.names() if cfg.proxies == "all" else [PROXIES.get(str(n)).name for n in as_list(cfg.proxies)]
    groups = {str(g): [PROXIES.get(str(n)).name for n in members]
              for g, members in (OmegaConf.to_container(cfg.groups) or {}).items()}
    result = bench_nb201(names, int(cfg.n_archs), int(cfg.batch_size), int(cfg.seed), bool(cfg.together_only),
                         cfg.data_root, groups)
    print("\n".join(bench_table(result)))
    memory = measure_cases([[*map(str, case), f"seed={cfg.seed}"] + ([f"data_root={cfg.data_root}"] if cfg.data_root else [])
                            for case in (OmegaConf.to_container(cfg.memory) or [])],
                           proxies=as_list(cfg.memory_proxies) if cfg.memory_proxies else None)
    if cfg.out:
        overrides = " ".join(sys.argv[1:])
        page = write_bench_page(cfg.out, f"zcbench-bench {overrides}".strip(), machine_line(load), result, memory)
        print(f"[zcbench-bench] wrote {page}")


@hydra.main(config_path="../conf", config_name="bench", version_base=None)
def main(cfg: DictConfig) -> None:
    exit_on_error("zcbench-bench", run, cfg)


if __name__ == "__main__":
    main()
