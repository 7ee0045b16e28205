"""The proxy registry and the decorator proxies register themselves with."""
from __future__ import annotations

from typing import Any, Callable

from ..registry import Registry
from .base import Needs, Proxy

PROXIES: Registry[Proxy] = Registry("proxy")


def proxy(name: str, *, needs: Needs = Needs(), version: str = "1", orientation: str,
          **defaults: Any) -> Callable[[Callable[..., float]], Callable[..., float]]:
    """Register `fn(probe, **options) -> float` as proxy `name`.

    orientation: one sentence saying why higher means predicted-better (and
    any sign flip applied to get there).
    """
    def decorate(fn: Callable[..., float]) -> Callable[..., float]:
        PROXIES.add(name, Proxy(name=name, fn=fn, needs=needs, version=version,
                                orientation=orientation, defaults=dict(defaults)))
        return fn
    return decorate
