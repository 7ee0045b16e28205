"""CLI: python -m zcbench.search task=<task> strategy=<name> fitness=<proxy|ensemble|random|oracle> [key=value ...]."""
from __future__ import annotations

import sys

import hydra
from omegaconf import DictConfig

from ..benchmarks.tasks import CONF_DIR, task_names
from ..errors import UnknownNameError, exit_on_error

SEARCH_CONF = CONF_DIR / "search"


def _preset_names() -> list[str]:
    return sorted(p.stem for p in (SEARCH_CONF / "strategy").glob("*.yaml"))


def check_argv(argv: list[str]) -> None:
    """Name a bad strategy or task in one line before Hydra prints its longer message."""
    for arg in argv:
        key, sep, value = arg.partition("=")
        if not sep:
            continue
        if key == "strategy" and value not in _preset_names():
            raise UnknownNameError("strategy", value, _preset_names())
        if key == "task" and value not in task_names():
            raise UnknownNameError("task", value, task_names())


def compose(overrides: list[str] | tuple[str, ...] = ()) -> DictConfig:
    """The config the CLI builds for these overrides (Python API and tests)."""
    from hydra import compose as hydra_compose, initialize_config_dir

    with initialize_config_dir(config_dir=str(SEARCH_CONF), version_base=None):
        return hydra_compose(config_name="config",
                             overrides=[*overrides, f"hydra.searchpath=[file://{CONF_DIR}]"])


@hydra.main(config_path=str(SEARCH_CONF), config_name="config", version_base=None)
def main(cfg: DictConfig) -> None:
    from .driver import run_search

    exit_on_error("zcbench.search", run_search, cfg)


def entry() -> None:
    """Validate names, point Hydra at the task configs, run."""
    exit_on_error("zcbench.search", check_argv, sys.argv[1:])
    sys.argv.append(f"hydra.searchpath=[file://{CONF_DIR}]")  # zcbench/conf/task/ beside zcbench/conf/search/
    main()


if __name__ == "__main__":
    entry()
