"""A proxy's Hydra config: its packaged zcbench/conf/proxy/<name>.yaml, or one generated from its signature.

Built-in proxies ship a YAML (Hydra composes `proxy=<name>` from it; a test holds its
values equal to the signature defaults). A proxy from another distribution
(zcbench/proxies/external.py) has none, so its signature defaults are stored in
Hydra's ConfigStore under the same group and package, and `proxy=<name>` composes alike.
"""
from __future__ import annotations

from typing import Any

from omegaconf import OmegaConf

from ..tasks.task import CONF_DIR
from .registry import PROXIES

PROXY_CONF_DIR = CONF_DIR / "proxy"


def config_options(name: str) -> dict[str, Any]:
    """The options `proxy=<name>` composes: the packaged YAML's, else the proxy's signature defaults."""
    registered = PROXIES.get(name)  # an unknown name: one error listing the valid ones
    path = PROXY_CONF_DIR / f"{name}.yaml"
    if path.exists():
        return dict(OmegaConf.to_container(OmegaConf.load(path), resolve=True) or {})
    return dict(registered.defaults)


def store_generated_config(name: str) -> None:
    """Give a proxy without a packaged YAML a config (its signature defaults) in Hydra's ConfigStore."""
    from hydra.core.config_store import ConfigStore

    if (PROXY_CONF_DIR / f"{name}.yaml").exists():
        return
    ConfigStore.instance().store(group="proxy", name=name, node=dict(PROXIES.get(name).defaults),
                                 package=f"proxy.{name}")
