"""Search-space registry: name -> SearchSpace instance."""
from __future__ import annotations

from ..registry import Registry
from .base import SearchSpace

SPACES: Registry[SearchSpace] = Registry("space")


def get_space(name: str) -> SearchSpace:
    return SPACES.get(name)


from . import nb201  # noqa: E402,F401  (registers itself)
from . import nb101  # noqa: E402,F401  (registers itself)
from . import autoformer  # noqa: E402,F401  (registers autoformer_t/s/b)
from . import nb301  # noqa: E402,F401  (registers nb301 and darts)
from . import tnb101  # noqa: E402,F401  (registers tnb101_micro and tnb101_macro)

__all__ = ["SPACES", "SearchSpace", "get_space"]
