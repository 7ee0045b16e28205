"""`zcbench-report benchmark=<file>.h5 [out=<file>.md]`: the report of a benchmark built by zcbench-build.

Per recipe: the accuracy spread across archs, how far two training runs of one arch differ and
their rank agreement (zcbench/build_report.py), which decides whether the file can judge proxies.
"""
from __future__ import annotations

from pathlib import Path

import hydra
from omegaconf import DictConfig

from ..errors import exit_on_error
from . import required

PROG = "zcbench-report"


def run(cfg: DictConfig) -> None:
    """Print the benchmark's report, or write it to `out`."""
    from ..build_report import report

    text = report(required(cfg, "benchmark", "benchmark .h5 file written by zcbench-build"))
    if cfg.out:
        Path(cfg.out).write_text(text + "\n")
        print(f"[{PROG}] wrote {cfg.out}")
    else:
        print(text)


@hydra.main(config_path="../conf", config_name="report", version_base=None)
def main(cfg: DictConfig) -> None:
    exit_on_error(PROG, run, cfg)


if __name__ == "__main__":
    main()
