"""Score: `zcbench proxy=<name|[a,b]|all> task=<task> [n_archs=.. seed=.. ...]` (also `python -m zcbench`).

Its config is zcbench/conf/config.yaml (not score.yaml: `python -m zcbench` and the Hydra
multiruns over it compose "config", and its run folder is out_dir, where .hydra/ keeps the
run's exact config). A bad value of a run option (n_archs=-1, batch_size=0, seed=abc, an
out_dir that cannot be written, shard=3/2, device=gpu) ends the command with one line naming
the key and what is valid, exit code 2, before Hydra creates out_dir (CheckOptions, registered
in config.yaml). An exception raised by a bug ends it with its traceback; rows computed before
it are saved (see zcbench/errors.py for which exceptions are per-network failures).
"""
from __future__ import annotations

from typing import Any

import hydra
from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from ..errors import ZcbenchError, exit_on_error


class CheckOptions(Callback):
    """Hydra callback: check the run options before Hydra makes out_dir its run folder.

    Hydra creates its run folder (out_dir, for .hydra/) before main() runs, so an unwritable
    out_dir or a seed that is not a number would otherwise end in Hydra's traceback.
    """

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        from ..options import check_options, check_out_dir

        def check() -> None:
            check_options(config)
            check_out_dir(config.out_dir)

        exit_on_error("zcbench", check)


def load_external_proxies() -> None:
    """Load the proxies of other distributions (entry-point group zcbench.proxies) and their
    generated configs, so that Hydra, which composes `proxy=<name>` before main() runs, finds
    them. Where none is installed this reads only the entry-point metadata (no torch import)."""
    from importlib.metadata import entry_points

    if entry_points(group="zcbench.proxies"):
        from ..proxies.external import load_entry_point_proxies

        load_entry_point_proxies()  # a no-op after the zcbench.proxies import has loaded them


load_external_proxies()


@hydra.main(config_path="../conf", config_name="config", version_base=None)
def main(cfg: DictConfig) -> None:
    from ..harness import run

    exit_on_error("zcbench", run, cfg)


if __name__ == "__main__":
    main()
