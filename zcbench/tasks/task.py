"""Tasks: which space, which images, which head and loss, which ground truth.

A task is defined by its config, zcbench/conf/task/<name>.yaml, so the Hydra CLI and
the Python API read the same definition. `load_task(name)` reads that file
without Hydra; the CLI builds a Task from the composed config.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import pandas as pd
import torch
from omegaconf import OmegaConf

from ..errors import UnknownNameError, ZcbenchError
from ..registry import Registry
from ..spaces import get_space

# Task losses for gradient-based proxies, by the name a task config gives.
LOSSES: Registry = Registry("loss")
LOSSES.add("cross_entropy", torch.nn.functional.cross_entropy)

CONF_DIR = Path(__file__).resolve().parents[1] / "conf"  # packaged with the code (pyproject package-data)


@dataclass(frozen=True)
class Task:
    """One benchmark task.

    truth: reader name and its options (see tasks.readers), plus
        `metric` (what the number is) and `higher_is_better`; accuracies are
        oriented so that higher = better before any correlation. Empty for a
        task without ground truth: its archs are sampled from the space and
        only scores come out.
    space_options: keyword options for the space's build() (a head, an
        image size, a qkv rule).
    target: what the loss compares outputs with (see zcbench.tasks.targets), with
        `target_options` for its builder.
    proxy_options: per-proxy option values this task chose; they fill the
        options a proxy config leaves null. Values a tool derived for the task
        (the L-SWAG layer window, swap_reg's size prior: zcbench/conf/derived/,
        see tasks/derived.py) are merged under the config's own.
    """

    name: str
    space: str
    dataset: str
    num_classes: int
    batch_size: int = 64
    image_size: int | None = None
    loss: str = "cross_entropy"
    truth: Mapping[str, Any] = field(default_factory=dict)
    space_options: Mapping[str, Any] = field(default_factory=dict)
    target: str = "classes"
    target_options: Mapping[str, Any] = field(default_factory=dict)
    proxy_options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    description: str = ""

    @property
    def has_truth(self) -> bool:
        return bool(self.truth)

    @property
    def computation(self) -> str:
        """Short hash of what this task builds and feeds its networks (not its name, ground truth or
        proxy options): tasks with equal keys compute equal scores (see tasks/computation.py)."""
        from .computation import computation_key

        return computation_key(self)

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any]) -> "Task":
        """The task of a config (a task yaml, or Hydra's composed cfg.task with its overrides), with
        the proxy options generated for it (zcbench/conf/derived/) merged under the config's own."""
        from .derived import derived_proxy_options, merge_under

        data = OmegaConf.to_container(cfg, resolve=True) if OmegaConf.is_config(cfg) else dict(cfg)
        derived = derived_proxy_options(str(data.get("name")))
        if derived:
            data["proxy_options"] = merge_under(derived, data.get("proxy_options"))
        known = set(cls.__dataclass_fields__)
        extra = set(data) - known
        if extra:
            raise ZcbenchError(f"task config {data.get('name')!r} has unknown keys {sorted(extra)}; "
                               f"valid keys: {sorted(known)}")
        get_space(data["space"])  # fail early on a typo
        LOSSES.get(data.get("loss", "cross_entropy"))
        from .targets import TARGETS

        TARGETS.get(data.get("target", "classes"))
        return cls(**data)


def task_names() -> list[str]:
    return sorted(p.stem for p in (CONF_DIR / "task").glob("*.yaml"))


def load_task(name: str) -> Task:
    """The task defined by zcbench/conf/task/<name>.yaml, with its generated proxy options
    (zcbench/conf/derived/) merged under the file's own."""
    path = CONF_DIR / "task" / f"{name}.yaml"
    if not path.exists():
        raise UnknownNameError("task", name, task_names())
    return Task.from_config(OmegaConf.load(path))


def ground_truth(task: Task, data_root: str | Path) -> pd.DataFrame:
    """Columns arch (canonical string), accuracy (higher = better), plus ref_* scores from the file."""
    from . import read_ground_truth

    options = {k: v for k, v in task.truth.items() if k not in ("reader", "metric", "higher_is_better")}
    frame = read_ground_truth(task.truth["reader"], Path(data_root), **options)
    space = get_space(task.space)
    frame.insert(0, "arch", [space.from_benchmark_key(k) for k in frame["key"]])
    if not task.truth.get("higher_is_better", True):
        frame["accuracy"] = -frame["accuracy"]
    if frame["arch"].duplicated().any():
        dup = frame.loc[frame["arch"].duplicated(), "arch"].iloc[0]
        raise ZcbenchError(f"ground truth of {task.name} lists architecture {dup} twice")
    return frame.drop(columns=["key"]).reset_index(drop=True)
