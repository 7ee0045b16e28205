"""Ground truth from a benchmark zcbench built itself (zcbench-build)."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from ..errors import DataNotFoundError
from .readers import READERS, GroundTruthFormatError

REPO_ROOT = Path(__file__).resolve().parents[2]  # the project checkout, when zcbench runs from one
BASES = ("data_root", "repo")


def project_root() -> Path:
    """Where `base: repo` files are: the project checkout zcbench runs from, else (zcbench installed
    as a package, away from any checkout) the working directory, like every results/ path."""
    return REPO_ROOT if (REPO_ROOT / "pyproject.toml").is_file() else Path.cwd()


@READERS.register("zcbench_benchmark")
def read_built_benchmark(root: Path, file: str, base: str = "data_root", train_seed: str | int = "mean",
                         recipe_hash: str | None = None) -> pd.DataFrame:
    """Accuracy per arch from a zcbench benchmark HDF5 file.

    file: path relative to `base` ("data_root", or "repo" for benchmarks kept in the project: see
    project_root()).
    train_seed: "mean" averages the accuracy over the training runs present; an int takes that run.
    recipe_hash: which recipe's accuracies, required only when the file holds several.
    """
    from ..build import read_benchmark

    if base not in BASES:
        raise GroundTruthFormatError(f"base={base!r}; valid bases: {', '.join(BASES)}")
    path = (project_root() if base == "repo" else root) / file
    if not path.exists():
        raise DataNotFoundError("built benchmark file", [str(path)],
                                "build it with zcbench-build (see README)")
    frame, attrs = read_benchmark(path)
    recipes = sorted(json.loads(attrs.get("recipes", "{}")))
    if recipe_hash is None:
        if len(set(frame["recipe_hash"])) > 1:
            raise GroundTruthFormatError(f"{path} holds accuracies from several recipes {recipes}; "
                                         "choose one with truth.recipe_hash")
    else:
        if recipe_hash not in set(frame["recipe_hash"]):
            raise GroundTruthFormatError(f"{path} has no recipe {recipe_hash!r}; recipes there: {recipes}")
        frame = frame[frame["recipe_hash"] == recipe_hash]
    if train_seed != "mean":
        seeds = sorted(set(frame["train_seed"]))
        if int(train_seed) not in seeds:
            raise GroundTruthFormatError(f"{path} has no train_seed {train_seed}; seeds there: {seeds}")
        frame = frame[frame["train_seed"] == int(train_seed)]
    table = frame.groupby("arch", sort=True)["accuracy"].mean().reset_index()
    return pd.DataFrame({"key": table["arch"], "accuracy": table["accuracy"].astype(float)})
