"""What a task's loss compares the network output with.

Classification tasks use the batch's class labels. Dense or regression tasks
(TransNAS-Bench-101's segmentation, normals, autoencoding, room layout) need
targets of another shape; each kind registers a builder here, named by the
task config's ``target`` key. A builder returns a ``Targets``: the target
tensor, a sentence saying where it came from (real or synthetic), which the run
prints, and, for tasks whose network input is made from the images (jigsaw's
shuffled tiles), the replacement inputs. Builders never modify the batch.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping, NamedTuple

import torch

from ..inputs.datasets import Batch
from ..registry import Registry



class Targets(NamedTuple):
    """A target builder's result."""

    targets: torch.Tensor
    source: str  # where the targets came from, printed by the run
    inputs: torch.Tensor | None = None  # the network's inputs when they are not the batch's images


#: builder(batch, num_classes, seed, **options) -> Targets
TargetBuilder = Callable[..., Targets]
TARGETS: Registry[TargetBuilder] = Registry("target")


@TARGETS.register("classes")
def class_labels(batch: Batch, num_classes: int, seed: int, **_: Any) -> Targets:
    """The batch's own class labels (int64, B)."""
    return Targets(batch.labels, "class labels of the batch")


def make_targets(kind: str, batch: Batch, num_classes: int, seed: int,
                 options: Mapping[str, Any] | None = None) -> Targets:
    """Targets of ``kind`` for ``batch``; unknown kinds are an error listing the valid ones."""
    made = TARGETS.get(kind)(batch, num_classes, seed, **dict(options or {}))
    if not isinstance(made, Targets):
        raise TypeError(f"target builder {kind!r} returned {type(made).__name__}, not a targets.Targets")
    return made
