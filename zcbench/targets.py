"""What a task's loss compares the network output with.

Classification tasks use the batch's class labels. Dense or regression tasks
(TransNAS-Bench-101's segmentation, normals, autoencoding, room layout) need
targets of another shape; each kind registers a builder here, named by the
task config's ``target`` key. A builder returns the target tensor and a
sentence saying where it came from (real or synthetic), which the run prints.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping

import torch

from .datasets import Batch
from .registry import Registry

#: builder(batch, num_classes, seed, **options) -> (targets, description)
TargetBuilder = Callable[..., tuple[torch.Tensor, str]]
TARGETS: Registry[TargetBuilder] = Registry("target")


@TARGETS.register("classes")
def class_labels(batch: Batch, num_classes: int, seed: int, **_: Any) -> tuple[torch.Tensor, str]:
    """The batch's own class labels (int64, B)."""
    return batch.labels, "class labels of the batch"


def make_targets(kind: str, batch: Batch, num_classes: int, seed: int,
                 options: Mapping[str, Any] | None = None) -> tuple[torch.Tensor, str]:
    """Targets of ``kind`` for ``batch``; unknown kinds are an error listing the valid ones."""
    return TARGETS.get(kind)(batch, num_classes, seed, **dict(options or {}))
