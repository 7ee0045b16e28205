"""The proxy registry and the decorator proxies register themselves with."""
from __future__ import annotations

import inspect
from typing import Any, Callable, Sequence

from ..registry import Registry
from .base import Needs, Proxy

PROXIES: Registry[Proxy] = Registry("proxy")


def signature_options(fn: Callable[..., float]) -> dict[str, Any]:
    """A proxy function's options and their defaults, read from its signature.

    The first parameter is the Probe; every later one is an option and must have
    a default, which is the option's default everywhere (the registry, the cache
    key through zcbench/conf/proxy/<name>.yaml, which a test holds equal to it).
    """
    params = list(inspect.signature(fn).parameters.values())[1:]
    options = {p.name: p.default for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    missing = [name for name, default in options.items() if default is inspect.Parameter.empty]
    if missing:
        raise TypeError(f"proxy function {fn.__qualname__}: options {missing} need a default in its signature")
    return options


def proxy(name: str, *, needs: Needs = Needs(), version: str = "1", orientation: str,
          task_only: Sequence[str] = (), same_as: Any = None
          ) -> Callable[[Callable[..., float]], Callable[..., float]]:
    """Register `fn(probe, **options) -> float` as proxy `name`; its options' defaults are its signature's.

    orientation: one sentence saying why higher means predicted-better (and
    any sign flip applied to get there). task_only: names of options that only
    tasks set, kept out of the proxy's config (Proxy). same_as: the proxy this
    one computes exactly (a name, or options -> name or None; Proxy.alias_of).
    """
    def decorate(fn: Callable[..., float]) -> Callable[..., float]:
        options = signature_options(fn)
        unknown = sorted(set(task_only) - set(options))
        if unknown:
            raise TypeError(f"proxy {name}: task_only names {unknown} are not options of {fn.__qualname__}")
        PROXIES.add(name, Proxy(name=name, fn=fn, needs=needs, version=version, orientation=orientation,
                                defaults={k: v for k, v in options.items() if k not in task_only},
                                task_only={k: options[k] for k in task_only}, same_as=same_as))
        return fn
    return decorate
