"""CLI: python -m zcbench proxy=<name|[a,b]|all> task=<task> [n_archs=.. seed=.. ...].

A bad value of a run option (n_archs=-1, batch_size=0, seed=abc, an out_dir that cannot be
written, shard=3/2, device=gpu) ends the command with one line naming the key and what is
valid, exit code 2, before Hydra creates out_dir (CheckOptions, registered in
zcbench/conf/config.yaml). An exception raised by a bug ends it with its traceback; rows computed
before it are saved (see zcbench/errors.py for which exceptions are per-network failures).
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import hydra
from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from .errors import ZcbenchError

CONF_DIR = Path(__file__).resolve().parent / "conf"  # = benchmarks.tasks.CONF_DIR, without importing torch


def _exit_with(err: ZcbenchError) -> None:
    print(f"zcbench: error: {err}", file=sys.stderr)
    sys.exit(2)


class CheckOptions(Callback):
    """Hydra callback: check the run options before Hydra makes out_dir its run folder.

    Hydra creates its run folder (out_dir, for .hydra/) before main() runs, so an unwritable
    out_dir or a seed that is not a number would otherwise end in Hydra's traceback.
    """

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        from .options import check_options, check_out_dir

        try:
            check_options(config)
            check_out_dir(config.out_dir)
        except ZcbenchError as err:
            _exit_with(err)


@hydra.main(config_path=str(CONF_DIR), config_name="config", version_base=None)
def main(cfg: DictConfig) -> None:
    from .harness import run

    try:
        run(cfg)
    except ZcbenchError as err:
        _exit_with(err)


if __name__ == "__main__":
    main()
