"""What a proxy is: a scoring function plus a declaration of what it needs.

The declaration lets the harness build one Probe per network and run each
shared pass (forward with activation hooks, backward for gradients, ...) once
for all proxies that asked for it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:  # pragma: no cover
    from .probe import Probe

# Shared passes a proxy may declare; the Probe implements each one.
PASSES = ("activation_codes", "gradients", "channel_saliency", "hessian_gradient", "split_gradients",
          "input_jacobian", "per_sample_gradients", "forward_flops", "shared")


@dataclass(frozen=True)
class Needs:
    """What a proxy reads.

    passes: shared Probe passes it consumes (see PASSES); a proxy with no
        passes works on the network itself or on its own copy (params, flops,
        synflow).
    labels: whether it reads the batch labels (through the task loss).
    bn: BatchNorm mode of the passes it reads: "train" (batch statistics, the
        NASLib convention at initialisation), "eval", or "bypass" (BN removed).
    inputs: "data" (the task's image batch), "ones" or "gaussian".
    dtype: precision of its computation.
    """

    passes: frozenset[str] = frozenset()
    labels: bool = False
    bn: str = "train"
    inputs: str = "data"
    dtype: str = "float32"

    def __post_init__(self) -> None:
        unknown = set(self.passes) - set(PASSES)
        if unknown:
            raise ValueError(f"unknown probe passes {sorted(unknown)}; valid: {PASSES}")


@dataclass(frozen=True)
class Proxy:
    """A registered zero-cost proxy.

    fn(probe, **options) returns a float, oriented so that higher = predicted
    better. `version` is stored beside every cached score: bump it whenever a
    change to the code changes the scores, and cached values are recomputed.
    `task_only` options are not in conf/proxy/<name>.yaml: only a task's
    proxy_options sets them, so they enter the cache key of those tasks alone
    (an option added later does not invalidate every other task's cache).
    """

    name: str
    fn: Callable[..., float]
    needs: Needs
    version: str
    orientation: str
    defaults: dict[str, Any] = field(default_factory=dict)
    task_only: dict[str, Any] = field(default_factory=dict)
    # another proxy this one computes exactly: its name, or a function of the options giving it (or None)
    same_as: str | Callable[[dict[str, Any]], str | None] | None = None

    def alias_of(self, **options: Any) -> str | None:
        """The proxy whose scores this one reproduces exactly under `options` (defaults filled), or None."""
        if self.same_as is None or isinstance(self.same_as, str):
            return self.same_as
        return self.same_as({**self.defaults, **self.task_only, **options})

    def __call__(self, probe: "Probe", **options: Any) -> float:
        return self.fn(probe, **{**self.defaults, **self.task_only, **options})
