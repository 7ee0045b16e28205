"""`zcbench-bench [n_archs=5] [proxies=[a,b]] [together_only=true]`: what each proxy costs on NB201.

Prints seconds per architecture, per proxy and for all of them through one shared probe, and
each in units of one forward+backward pass (zcbench/proxies/timing.py; keys: zcbench/conf/bench.yaml).
"""
from __future__ import annotations

import hydra
from omegaconf import DictConfig

from ..errors import exit_on_error
from . import as_list


def run(cfg: DictConfig) -> None:
    """Time the chosen proxies and print the table."""
    from ..proxies import PROXIES
    from ..proxies.timing import bench_nb201

    names = PROXIES.names() if cfg.proxies == "all" else [PROXIES.get(str(n)).name for n in as_list(cfg.proxies)]
    bench_nb201(names, int(cfg.n_archs), int(cfg.batch_size), int(cfg.seed), bool(cfg.together_only),
                cfg.data_root)


@hydra.main(config_path="../conf", config_name="bench", version_base=None)
def main(cfg: DictConfig) -> None:
    exit_on_error("zcbench-bench", run, cfg)


if __name__ == "__main__":
    main()
