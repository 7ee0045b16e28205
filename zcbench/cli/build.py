"""`zcbench-build task=<task> recipe=<recipe> n_archs=.. [key=value ...]`: build a benchmark by training.

Trains archs sampled from the task's space with the recipe and writes their accuracies to `out`
(zcbench/conf/build.yaml; the builder and its file format: zcbench/build.py). One job per arch:
`zcbench-build -m task=... arch_index='range(0,N)'`.
"""
from __future__ import annotations

import hydra
from omegaconf import DictConfig

from ..errors import exit_on_error


@hydra.main(config_path="../conf", config_name="build", version_base=None)
def main(cfg: DictConfig) -> None:
    from ..build import build

    exit_on_error("zcbench-build", build, cfg)


if __name__ == "__main__":
    main()
