"""The proxy registry and the decorator proxies register themselves with."""
from __future__ import annotations

from typing import Any, Callable

from ..registry import Registry
from .base import Needs, Proxy

PROXIES: Registry[Proxy] = Registry("proxy")


def proxy(name: str, *, needs: Needs = Needs(), version: str = "1", orientation: str,
          task_only: dict[str, Any] | None = None, same_as: Any = None,
          **defaults: Any) -> Callable[[Callable[..., float]], Callable[..., float]]:
    """Register `fn(probe, **options) -> float` as proxy `name`.

    orientation: one sentence saying why higher means predicted-better (and
    any sign flip applied to get there). task_only: options (with their
    defaults) that only tasks set, kept out of the proxy's config (Proxy).
    same_as: the proxy this one computes exactly (a name, or options -> name or None; Proxy.alias_of).
    """
    def decorate(fn: Callable[..., float]) -> Callable[..., float]:
        PROXIES.add(name, Proxy(name=name, fn=fn, needs=needs, version=version,
                                orientation=orientation, defaults=dict(defaults),
                                task_only=dict(task_only or {}), same_as=same_as))
        return fn
    return decorate
