"""Build a benchmark: train sampled architectures of a task and store their accuracies.

    zcbench-build task=<task> recipe=<recipe> n_archs=20 seed=0 train_seed=0 \\
        out=results/benchmarks/<name>.h5            (zcbench/cli/build.py)

The archs are drawn from the task's space with `seed` (the same draw every
time), each is built at its seeded initialisation and trained with the
recipe (zcbench/conf/recipe/, zcbench.training) on the task dataset's real training
images, then evaluated on its test images (or a held-out slice). Each
finished network is written at once as its own record file next to the
output (`<out>.records/`), and the HDF5 benchmark file is rebuilt from the
records atomically, so a kill loses at most the network in training and a
rerun goes on from there. Networks are independent jobs: `arch_index=k`
trains only the k-th sampled arch, so Hydra multirun (or a SLURM array)
spreads them over workers:

    zcbench-build -m task=... arch_index='range(0,20)'

Train a subset again with another `train_seed` to measure how much the
ranking moves between runs: every build prints the Spearman between the
training runs on the archs they share (`seed_agreement`).

Benchmark file (format "zcbench-benchmark", version 1): attrs task, space,
dataset, image_size, space_options, recipes (JSON {digest: recipe}); group
/archs/ with one column per field of RECORD_FIELDS. The task reader
"zcbench_benchmark" reads it like any other ground truth.
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Any, Sequence

import h5py
import numpy as np
import pandas as pd
import torch
from omegaconf import DictConfig, OmegaConf
from tqdm import tqdm

from .tasks.task import Task
from .inputs.datasets import load_split
from .errors import CacheError, ZcbenchError
from .harness import arch_seed, pick_device, sample_from_space
from .proxies.size import count_flops
from .spaces import get_space
from .training import Recipe, split_images, train_and_evaluate

FORMAT, FORMAT_VERSION = "zcbench-benchmark", 1
RECORD_FIELDS = ["arch", "train_seed", "accuracy", "train_loss", "params", "flops", "epochs", "steps",
                 "seconds", "recipe_hash"]
OPTIONAL_FIELDS = ["eval_loss"]   # absent from records written before it existed: read as NaN
_STRINGS = {"arch", "recipe_hash"}


# ------------------------------------------------------------------ records
def record_path(records_dir: Path, arch: str, train_seed: int, recipe_hash: str) -> Path:
    digest = hashlib.sha256(f"{arch}|{train_seed}|{recipe_hash}".encode()).hexdigest()[:16]
    return records_dir / f"{digest}.json"


def write_record(path: Path, record: dict) -> None:
    """Write one network's record atomically (temporary file, fsync, rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w") as f:
        json.dump(record, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def read_records(records_dir: Path) -> pd.DataFrame:
    rows = []
    for path in sorted(records_dir.glob("*.json")):
        try:
            rows.append(json.loads(path.read_text()))
        except json.JSONDecodeError:
            raise CacheError(f"{path} is not a readable record; delete it to retrain that network") from None
    return pd.DataFrame(rows, columns=RECORD_FIELDS + OPTIONAL_FIELDS + ["recipe", "curve"])


# ------------------------------------------------------------------ benchmark file
def write_benchmark(path: Path, records: pd.DataFrame, meta: dict[str, Any]) -> None:
    """The HDF5 benchmark file from all records, written atomically."""
    tmp = path.with_name(path.name + ".tmp")
    recipes = {r["recipe_hash"]: r["recipe"] for r in records.to_dict("records")}
    with h5py.File(tmp, "w") as f:
        f.attrs["format"], f.attrs["format_version"] = FORMAT, FORMAT_VERSION
        for key, value in meta.items():
            f.attrs[key] = value if isinstance(value, (str, int, float)) else json.dumps(value)
        f.attrs["recipes"] = json.dumps(recipes, sort_keys=True)
        g = f.create_group("archs")
        for c in RECORD_FIELDS + OPTIONAL_FIELDS:
            values = records[c].to_numpy()
            if c in _STRINGS:
                g.create_dataset(c, data=np.asarray(values, dtype=object), dtype=h5py.string_dtype("utf-8"))
            else:
                g.create_dataset(c, data=values.astype("float64"))
    with open(tmp, "rb+") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def read_benchmark(path: str | Path) -> tuple[pd.DataFrame, dict[str, Any]]:
    """(one row per trained network, file attributes) of a zcbench benchmark file."""
    path = Path(path)
    try:
        f = h5py.File(path, "r")
    except OSError as err:
        raise CacheError(f"{path} is not a readable HDF5 file ({err})") from None
    with f:
        if f.attrs.get("format") != FORMAT:
            raise CacheError(f"{path} is not a zcbench benchmark file (format {f.attrs.get('format')!r}, "
                             f"expected {FORMAT!r})")
        attrs = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f.attrs.items()}
        data = {}
        for c in RECORD_FIELDS:
            if c not in f["archs"]:
                raise CacheError(f"{path} is missing archs/{c}: the file is damaged")
            values = f["archs"][c][()]
            data[c] = [v.decode() if isinstance(v, bytes) else v for v in values] if c in _STRINGS else values
        for c in OPTIONAL_FIELDS:
            data[c] = f["archs"][c][()] if c in f["archs"] else np.full(len(data["arch"]), np.nan)
    frame = pd.DataFrame(data)
    frame["train_seed"] = frame["train_seed"].astype(int)
    return frame, attrs


def seed_agreement(frame: pd.DataFrame, metrics: Sequence[str] = ("accuracy", "eval_loss")) -> pd.DataFrame:
    """Spearman and Kendall of each metric between each pair of training runs, on the archs both trained.

    This is the benchmark's reliability: how far one training run's ranking predicts another's.
    Metrics that a file lacks (eval_loss in records older than it) are skipped.
    """
    from scipy import stats

    rows = []
    seeds = sorted(set(frame["train_seed"]))
    for metric in metrics:
        if metric not in frame or frame[metric].isna().all():
            continue
        wide = frame.pivot_table(index="arch", columns="train_seed", values=metric, aggfunc="mean")
        for i, a in enumerate(seeds):
            for b in seeds[i + 1:]:
                both = wide[[a, b]].dropna() if {a, b} <= set(wide.columns) else wide.iloc[:0]
                if len(both) >= 3:
                    rows.append({"metric": metric, "seed_a": a, "seed_b": b, "n_archs": len(both),
                                 "spearman": stats.spearmanr(both[a], both[b]).statistic,
                                 "kendall": stats.kendalltau(both[a], both[b]).statistic})
    return pd.DataFrame(rows, columns=["metric", "seed_a", "seed_b", "n_archs", "spearman", "kendall"])


def curve_agreement(records: pd.DataFrame) -> pd.DataFrame:
    """seed_agreement after each epoch, from the per-epoch evaluations of records built with curve=true."""
    rows = [dict(arch=r["arch"], train_seed=r["train_seed"], epoch=point["epoch"], accuracy=point["accuracy"],
                 eval_loss=point["eval_loss"])
            for r in records.to_dict("records") if isinstance(r.get("curve"), list) for point in r["curve"]]
    if not rows:
        return pd.DataFrame(columns=["epoch", "metric", "seed_a", "seed_b", "n_archs", "spearman", "kendall"])
    points = pd.DataFrame(rows)
    parts = [seed_agreement(group).assign(epoch=epoch) for epoch, group in points.groupby("epoch")]
    return pd.concat(parts, ignore_index=True)[["epoch", "metric", "seed_a", "seed_b", "n_archs", "spearman",
                                                 "kendall"]]


# ------------------------------------------------------------------ command
def compose_build(overrides: Sequence[str] = ()) -> DictConfig:
    """The builder's config (zcbench/conf/build.yaml) for these overrides."""
    from .harness import compose

    return compose(overrides, config_name="build")


def build(cfg: DictConfig) -> Path:
    """Train the configured archs (those not yet recorded) and rewrite the benchmark file."""
    task = Task.from_config(cfg.task)
    space = get_space(task.space)
    recipe = Recipe.from_config(OmegaConf.to_container(cfg.recipe, resolve=True))
    recipe_hash = recipe.digest()
    device = pick_device(str(cfg.get("device", "cpu")))
    out = Path(cfg.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    records_dir = out.with_name(out.name + ".records")
    seed, train_seed = int(cfg.seed), int(cfg.train_seed)

    archs = sample_from_space(space, int(cfg.n_archs), seed)
    if cfg.get("arch_index") is not None:
        k = int(cfg.arch_index)
        if not 0 <= k < len(archs):
            raise ZcbenchError(f"arch_index={k} outside 0..{len(archs) - 1} (n_archs={len(archs)})")
        archs = [archs[k]]
    todo = [a for a in archs if not record_path(records_dir, a, train_seed, recipe_hash).exists()]
    print(f"[zcbench-build] task {task.name}: {len(archs)} archs (seed {seed}), train_seed {train_seed}, "
          f"recipe {recipe_hash}; {len(archs) - len(todo)} already trained, {len(todo)} to train")
    if todo:
        train_set = load_split(task.dataset, cfg.get("data_root"), "train")
        test_set = load_split(task.dataset, cfg.get("data_root"), "test") if recipe.eval_split == "test" else None
        train, evaluation = split_images(train_set, test_set, recipe, seed=train_seed)
        print(f"[zcbench-build] {len(train[1])} real training images, {len(evaluation[1])} evaluation images "
              f"({recipe.eval_split}) from {train_set.directory}")
        side = task.image_size or train_set.images.shape[-1]
        for arch in tqdm(todo, desc="train", unit="net", file=sys.stderr, disable=not cfg.get("progress", True)):
            torch.manual_seed(arch_seed(train_seed, arch))
            net = space.build(arch, task.num_classes, **task.space_options).to(device)
            params = float(sum(p.numel() for p in net.parameters()))
            flops = count_flops(net, torch.zeros(1, 3, side, side, device=device))
            result = train_and_evaluate(net, train, evaluation, task.dataset, task.image_size, recipe,
                                        seed=arch_seed(train_seed, arch), device=device,
                                        curve=bool(cfg.get("curve", False)))
            write_record(record_path(records_dir, arch, train_seed, recipe_hash),
                         {"arch": arch, "train_seed": train_seed, "params": params, "flops": flops,
                          "epochs": recipe.epochs, "recipe_hash": recipe_hash,
                          "recipe": json.loads(json.dumps(recipe.__dict__)), **result})
            print(f"[zcbench-build] {arch}: {result['accuracy']:.2f}% (eval loss {result['eval_loss']:.4f}) "
                  f"in {result['seconds']:.0f} s")
    records = read_records(records_dir)
    meta = {"task": task.name, "space": task.space, "dataset": task.dataset,
            "image_size": task.image_size or 0, "space_options": dict(task.space_options)}
    write_benchmark(out, records, meta)
    print(f"[zcbench-build] {len(records)} trained networks in {out}")
    agreement = seed_agreement(records[records["recipe_hash"] == recipe_hash])  # runs of this recipe only
    if not agreement.empty:
        print(f"[zcbench-build] rank agreement between training runs of recipe {recipe_hash} (same archs, "
              "other train_seed):")
        print(agreement.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    return out
