"""zcbench's commands: one thin Hydra entry module per verb (`python -m zcbench.cli.<verb> key=value ...`,
console script `zcbench-<verb>`; `zcbench` / `python -m zcbench` scores).

Each module reads its config (zcbench/conf/<verb>.yaml), calls the logic that lives elsewhere
(zcbench/analysis, zcbench/search, zcbench/cache, ...) and prints; a ZcbenchError (bad input)
ends it with one line and exit code 2 (zcbench.errors.exit_on_error).
"""
from __future__ import annotations

from typing import Any

from omegaconf import DictConfig, OmegaConf

from ..errors import BadOptionError


def required(cfg: DictConfig, key: str, what: str) -> Any:
    """cfg[key]; BadOptionError naming the key and what it must be when it is unset (??? or null)."""
    if OmegaConf.is_missing(cfg, key) or cfg.get(key) is None:
        raise BadOptionError(f"{key} is not set; give {key}=<{what}>")
    return cfg[key]


def as_list(value: Any) -> list:
    """A config value that may be one item or a list, as a plain list (None -> [])."""
    if value is None:
        return []
    if isinstance(value, (str, int, float)):
        return [value]
    return list(OmegaConf.to_container(value) if OmegaConf.is_config(value) else value)
