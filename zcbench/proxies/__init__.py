"""Zero-cost proxies: registry, shared probe and scoring of one network."""
from __future__ import annotations

from .base import Needs, Proxy
from .probe import Probe
from .registry import PROXIES, proxy
from . import size, gradient, synflow, activation, zico  # noqa: F401,E402  (register)
from .scoring import ProxyResult, score_network  # noqa: E402

__all__ = ["PROXIES", "Needs", "Probe", "Proxy", "ProxyResult", "proxy", "score_network"]
