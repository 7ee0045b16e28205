"""The computation key of a task: which networks it builds and which inputs it feeds them.

Two tasks that build the same networks (space, head, classes) from the same inputs
(dataset, image size, batch size, targets, loss) compute the same score for an
(arch, proxy, seed, settings), whichever ground truth they correlate it with: Auto-Prox's
`autoprox_cifar100_kd` and `autoprox_cifar100_base` read two accuracy columns of the same
subnets. The key is a short hash of the task config without the parts that do not reach a
score: its name and description, its ground truth (`truth`), and its `proxy_options`, which
reach a score only through the proxy options that each row's settings string spells out.

Fields left at their default are left out of the hashed dict, so adding a task field with a
default later does not change the key of any existing task (and of no stored row).
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Mapping

from omegaconf import OmegaConf

if TYPE_CHECKING:
    from .task import Task

#: task fields that do not change a score: what it is called, what it is correlated with, and
#: per-proxy options (those are part of each row's settings).
NOT_COMPUTATION = ("name", "description", "truth", "proxy_options")
KEY_LENGTH = 12  # hex digits of sha256: 48 bits, no collision among a few hundred tasks


def computation_key(task: "Task | Mapping[str, Any]") -> str:
    """The computation key of a Task, or of a task config's dict (its fields by name)."""
    from .task import Task

    values = dataclasses.asdict(task) if isinstance(task, Task) else dict(task)
    defaults = {f.name: (f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default)
                for f in dataclasses.fields(Task)}
    kept = {k: v for k, v in values.items()
            if k not in NOT_COMPUTATION and not (k in defaults and _plain(v) == _plain(defaults[k]))}
    text = json.dumps(_plain(kept), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:KEY_LENGTH]


@lru_cache(maxsize=None)
def task_computation(name: str, image_size: int | None = None) -> str:
    """The computation key of task `name` as zcbench/conf/task/<name>.yaml defines it, "" when no such
    task exists (a renamed or removed task, a test's own name). Reads the file only: the proxy
    options generated for a task do not enter the key, so this skips what load_task merges.

    `image_size`: the key of a run that set `task.image_size` to it (TransNAS-Bench-101 at 64 px);
    ignored for a task whose config leaves the size to the dataset (image_size null).
    """
    from .task import CONF_DIR

    path = CONF_DIR / "task" / f"{name}.yaml"
    if not name or not path.is_file():
        return ""
    config = OmegaConf.load(path)
    if image_size is not None and config.get("image_size") is not None:
        config.image_size = int(image_size)
    data = OmegaConf.to_container(config, resolve=True)
    return computation_key(data) if isinstance(data, dict) else ""


def _plain(value: Any) -> Any:
    """Mappings as dicts and sequences as lists, so equal configs compare and serialise equally."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
