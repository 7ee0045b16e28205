"""The run options of zcbench/conf/config.yaml, checked before anything is read or written.

A bad value (n_archs=-1, batch_size=0, seed=abc, an out_dir that cannot be written,
shard=3/2, device=gpu) raises BadOptionError naming the key and what is valid. Kept free
of torch so the CLI answers a typo in a second (zcbench.cli.score.CheckOptions).
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Mapping

from .errors import BadOptionError


def parse_shard(shard: str | None) -> tuple[int, int] | None:
    if shard in (None, "", "null"):
        return None
    try:
        i, n = (int(x) for x in str(shard).split("/"))
        assert 0 <= i < n
    except (ValueError, AssertionError):
        raise BadOptionError(f"shard={shard!r} is not 'i/n' with 0 <= i < n (e.g. shard=0/4)") from None
    return i, n


def _int_option(cfg: Mapping[str, Any], key: str, minimum: int, valid: str) -> None:
    value = cfg.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise BadOptionError(f"{key}={value!r} is not valid; {key} must be {valid}")


def check_options(cfg: Mapping[str, Any]) -> None:
    """Each run option has a value it can use, else BadOptionError naming the key and what is valid.

    Checked before anything is read or written, so a typo costs nothing and leaves nothing behind.
    """
    if str(cfg.get("n_archs")) != "all":
        _int_option(cfg, "n_archs", 1, "a whole number >= 1 or 'all'")
    if cfg.get("batch_size") is not None:
        _int_option(cfg, "batch_size", 2, "null (the task's batch size) or a whole number >= 2 "
                                          "(BatchNorm in train mode needs two samples)")
    _int_option(cfg, "seed", 0, "a whole number >= 0")
    if "checkpoint_every" in cfg:  # the scoring run's; zcbench-select-layers samples the same way but has none
        _int_option(cfg, "checkpoint_every", 1, "a whole number >= 1")
    for key in ("retry_failed", "progress", "write_table"):
        if not isinstance(cfg.get(key, False), bool):
            raise BadOptionError(f"{key}={cfg.get(key)!r} is not valid; {key} must be true or false")
    device = str(cfg.get("device", "cpu"))
    if not re.fullmatch(r"cpu|auto|cuda(:\d+)?", device):
        raise BadOptionError(f"device={device!r} is not valid; device must be cpu, cuda, cuda:<index> or auto")
    parse_shard(cfg.get("shard"))
    share_from = cfg.get("share_from") or []
    for path in [share_from] if isinstance(share_from, str) else share_from:
        if not Path(str(path)).exists():
            raise BadOptionError(f"share_from={str(path)!r} does not exist; share_from must list existing score "
                                 "files (scores.h5) or folders of them, e.g. share_from=[runs/nb201_cifar10]")


def check_out_dir(out_dir: str | Path) -> Path:
    """out_dir, created if needed, once a file could be written in it; else BadOptionError."""
    path = Path(out_dir)
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".zcbench-write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as err:
        raise BadOptionError(f"out_dir={str(out_dir)!r} is not a writable folder ({err.strerror or err}); "
                             "out_dir must be a folder this user can create and write") from None
    return path
