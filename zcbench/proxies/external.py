"""Proxies from other distributions, found through the `zcbench.proxies` entry-point group.

A distribution declares in its pyproject.toml

    [project.entry-points."zcbench.proxies"]
    my_proxy = "my_package.my_proxy"

naming a module whose @proxy functions register when it is imported. zcbench.proxies
imports every such module once, after the built-in proxies, and gives each proxy they
add a config generated from its signature (configs.store_generated_config), so
`python -m zcbench proxy=my_proxy` works as for a built-in proxy.
"""
from __future__ import annotations

import warnings
from importlib.metadata import entry_points

from .configs import store_generated_config
from .registry import PROXIES

ENTRY_POINT_GROUP = "zcbench.proxies"


def load_entry_point_proxies() -> list[str]:
    """Import every module of the entry-point group; return the names of the proxies they added.

    A module that fails to import (or registers a name already taken) is skipped
    with a warning naming it, so one broken plugin does not stop every command.
    """
    before = set(PROXIES)
    for point in entry_points(group=ENTRY_POINT_GROUP):
        try:
            point.load()
        except Exception as exc:  # a plugin's own bug: reported, not fatal to zcbench
            warnings.warn(f"skipped proxy entry point {point.name} = {point.value!r} "
                          f"(group {ENTRY_POINT_GROUP}): {type(exc).__name__}: {exc}", stacklevel=2)
    added = [name for name in PROXIES if name not in before]
    for name in added:
        store_generated_config(name)
    return added
