"""What a proxy is: a scoring function plus a declaration of what it needs.

The declaration lets the harness build one Probe per network and run each
shared pass (forward with activation hooks, backward for gradients, ...) once
for all proxies that asked for it, and decide once per task whether a proxy
applies at all (benchopt's skip(dataset) -> reason): Needs.unmet(TaskTraits)
gives the reason a proxy's definition cannot be computed on a task (e.g. EPE-NAS
groups samples by class label and a room-layout task has regression targets);
the run then prints "skipped <proxy> on <task>: n/a: <reason>" and writes no rows.

A proxy that applies to a task but cannot score one of its networks raises
zcbench.errors.ProxyFailure with the reason (a cached per-arch failure); any
other exception from a proxy is a bug and stops the run (zcbench/errors.py).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from .probe import Probe

# Shared passes a proxy may declare; the Probe implements each one.
PASSES = ("activation_codes", "gradients", "channel_saliency", "hessian_gradient", "split_gradients",
          "input_jacobian", "per_sample_gradients", "forward_flops", "shared")
LABELS = (False, True, "classes")
BN_MODES = ("train", "eval", "bypass")
INPUTS = ("data", "ones", "gaussian", "shape", "none")
DTYPES = ("float32", "float64")


@dataclass(frozen=True)
class TaskTraits:
    """What a task offers a proxy, read by Needs.unmet.

    targets: "classes" when the loss compares the output with one integer class
        per sample, "dense" for any other target (per-pixel maps, images,
        regression vectors), "none" when the batch has no targets.
    target_desc: the targets' dtype and shape, for the reason a proxy is skipped.
    """

    task: str
    targets: str
    target_desc: str

    @classmethod
    def from_batch(cls, task: str, targets: "torch.Tensor | None") -> "TaskTraits":
        """The traits of a task as its prepared batch shows them (the targets its loss reads)."""
        if targets is None:
            return cls(task, "none", "no targets")
        dtype = str(targets.dtype).replace("torch.", "")
        desc = f"{dtype} targets of shape {tuple(targets.shape)}"
        kind = "classes" if targets.dim() == 1 and not targets.is_floating_point() else "dense"
        return cls(task, kind, desc)


@dataclass(frozen=True)
class Needs:
    """What a proxy reads.

    passes: shared Probe passes it consumes (see PASSES); a proxy with no
        passes works on the network itself or on its own copy (params, flops,
        synflow).
    labels: what it reads of the batch targets: False (nothing), True (any
        target, through the task loss) or "classes" (one integer class label per
        sample, e.g. to group samples by class; implies reading them).
    bn: BatchNorm mode of the passes it reads: "train" (batch statistics, the
        NASLib convention at initialisation), "eval", or "bypass" (BN removed).
    inputs: "data" (the task's image batch), "ones" or "gaussian" (inputs of the batch's shape),
        "shape" (one input's size only, not the batch: FLOPs) or "none" (the weights only: params).
    dtype: precision of its computation.
    """

    passes: frozenset[str] = frozenset()
    labels: bool | str = False
    bn: str = "train"
    inputs: str = "data"
    dtype: str = "float32"

    def __post_init__(self) -> None:
        unknown = set(self.passes) - set(PASSES)
        if unknown:
            raise ValueError(f"unknown probe passes {sorted(unknown)}; valid: {PASSES}")
        for key, value, valid in (("labels", self.labels, LABELS), ("bn", self.bn, BN_MODES),
                                  ("inputs", self.inputs, INPUTS), ("dtype", self.dtype, DTYPES)):
            if value not in valid:
                raise ValueError(f"Needs({key}={value!r}); valid values: {', '.join(valid)}")

    def unmet(self, traits: TaskTraits) -> str | None:
        """Why a proxy with these needs does not apply to the task (None when it does).

        labels=True needs targets of any kind; labels="classes" needs one class
        per sample. bn, inputs and dtype are modes of the proxy's own passes (every
        task gives images, and the proxy sets BatchNorm and precision itself), so
        they are checked for valid values and rule out no task.
        """
        if self.labels and traits.targets == "none":
            return f"reads the batch targets; task {traits.task} has none"
        if self.labels == "classes" and traits.targets != "classes":
            return (f"needs one class label per sample; task {traits.task} has {traits.target_desc} "
                    "(a dense or regression target)")
        return None


@dataclass(frozen=True)
class Proxy:
    """A registered zero-cost proxy.

    fn(probe, **options) returns a float, oriented so that higher = predicted
    better. `version` is stored beside every cached score: bump it whenever a
    change to the code changes the scores, and cached values are recomputed.
    `task_only` options are not in zcbench/conf/proxy/<name>.yaml: only a task's
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
