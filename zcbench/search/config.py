"""The search command's config (zcbench/conf/search/config.yaml): its strategy presets, composing it, and
the one-line check of a strategy or task name before Hydra prints its longer message."""
from __future__ import annotations

from omegaconf import DictConfig

from ..tasks.task import CONF_DIR, task_names
from ..errors import UnknownNameError

SEARCH_CONF = CONF_DIR / "search"


def preset_names() -> list[str]:
    """The strategy presets (zcbench/conf/search/strategy/)."""
    return sorted(p.stem for p in (SEARCH_CONF / "strategy").glob("*.yaml"))


def check_argv(argv: list[str]) -> None:
    """Name a bad strategy or task in one line before Hydra prints its longer message."""
    for arg in argv:
        key, sep, value = arg.partition("=")
        if not sep:
            continue
        if key == "strategy" and value not in preset_names():
            raise UnknownNameError("strategy", value, preset_names())
        if key == "task" and value not in task_names():
            raise UnknownNameError("task", value, task_names())


def compose(overrides: list[str] | tuple[str, ...] = ()) -> DictConfig:
    """The config the command builds for these overrides (Python API and tests)."""
    from hydra import compose as hydra_compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.initialize import get_gh_backup, restore_gh_from_backup

    outer = get_gh_backup()  # inside a Hydra app (zcbench-search-table) Hydra is already initialised:
    GlobalHydra.instance().clear()  # compose on a clean state, then give the app its own back
    try:
        with initialize_config_dir(config_dir=str(SEARCH_CONF), version_base=None):
            return hydra_compose(config_name="config", overrides=list(overrides))
    finally:
        restore_gh_from_backup(outer)
