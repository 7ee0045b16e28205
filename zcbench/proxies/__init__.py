"""Zero-cost proxies: registry, shared probe and scoring of one network.

Importing the package registers every proxy: the built-in modules below, then those of
other distributions through the `zcbench.proxies` entry-point group (external.py).
"""
from __future__ import annotations

from .base import Needs, Proxy
from .probe import Probe
from .registry import PROXIES, proxy
from . import (  # noqa: F401,E402  (each module registers its proxies)
    size, gradient, saliency, synflow, activation, swap_reg, jacobian, zico, zen, meco, ntk,
    az_nas, gradsign, lswag,
)
from .scoring import ProxyResult, score_network  # noqa: E402
from .external import load_entry_point_proxies  # noqa: E402

load_entry_point_proxies()  # proxies of other distributions (group zcbench.proxies), after the built-in ones

__all__ = ["PROXIES", "Needs", "Probe", "Proxy", "ProxyResult", "proxy", "score_network"]
