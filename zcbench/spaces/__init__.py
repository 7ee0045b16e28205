"""Search-space registry: name -> SearchSpace instance."""
from __future__ import annotations

from ..registry import Registry
from .base import SearchSpace

SPACES: Registry[SearchSpace] = Registry("space")


def get_space(name: str) -> SearchSpace:
    return SPACES.get(name)


from . import nb201  # noqa: E402,F401  (registers itself)

__all__ = ["SPACES", "SearchSpace", "get_space"]
