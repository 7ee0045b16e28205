"""`zcbench-size-prior [write=true] [calibrate=true scores=PATH]`: swap_reg's size prior of every task.

Prints each task's mu and sigma (NB201's calibrated prior moved to the task's size range,
zcbench/proxies/size_prior.py); write=true writes them all to the generated
zcbench/conf/derived/size_priors.yaml. calibrate=true instead redoes NB201's calibration on
cached swap and params scores and records the archs it was chosen on (exit 1 when the grid
no longer peaks at the shipped prior). Keys: zcbench/conf/size_prior.yaml.
"""
from __future__ import annotations

import sys
from pathlib import Path

import hydra
from omegaconf import DictConfig

from ..errors import BadOptionError, exit_on_error


def _size_prior(cfg: DictConfig) -> None:
    from ..tasks.derived import SIZE_PRIORS
    from ..tasks.task import task_names
    from ..proxies.size_prior import prior_entries, run_calibration, write_priors

    for key in ("write", "calibrate"):
        if not isinstance(cfg[key], bool):
            raise BadOptionError(f"{key}={cfg[key]!r}; valid values: true, false")
    if cfg.calibrate:
        code = run_calibration(Path(cfg.scores))
        if code:
            sys.exit(code)
        return
    entries = prior_entries(task_names(), cfg.data_root)
    for name, entry in entries.items():
        prior, how = entry["proxy_options"]["swap_reg"], entry["provenance"]
        lo, hi = how["size_range_k"]
        print(f"{name}: mu {prior['mu']!r}, sigma {prior['sigma']!r} (sizes {lo:,.0f}-{hi:,.0f} thousand params: "
              f"{how['range_from']})")
    if cfg.write:
        print(f"[zcbench-size-prior] wrote {write_priors(entries, cfg.priors_file or SIZE_PRIORS)}")


@hydra.main(config_path="../conf", config_name="size_prior", version_base=None)
def main(cfg: DictConfig) -> None:
    exit_on_error("zcbench-size-prior", _size_prior, cfg)


if __name__ == "__main__":
    main()
