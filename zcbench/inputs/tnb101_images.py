"""Taskonomy images for the TransNAS-Bench-101 tasks (the ``taskonomy`` dataset).

Layout: ``<data_root>/images/taskonomy/rgb/*.png`` (or .jpg), RGB, any size
(decoded on demand and resized to the task's image side), with optional
``labels.csv`` (``file,label`` rows: the class index of each image, needed by the
classification tasks only). Without these files a run uses the CIFAR-10
stand-in resized to the task's side, as load_batch does for every registered
dataset, and says so.
"""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from .datasets import DATASETS, DatasetSpec, ImageFileError, ImageSet
from ..errors import DataNotFoundError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
TASKONOMY_SIDE = 256


def taskonomy_dir(root: str | Path) -> Path:
    return Path(root) / "images" / "taskonomy"


def _read_labels(path: Path, files: list[Path]) -> np.ndarray:
    """Class index per image from labels.csv (file,label), -1 for images it does not list."""
    if not path.is_file():
        return np.full(len(files), -1, dtype=np.int64)
    with open(path, newline="") as f:
        rows = {r[0].strip(): r[1].strip() for r in csv.reader(f) if len(r) >= 2 and r[0] != "file"}
    try:
        return np.array([int(rows.get(p.name, -1)) for p in files], dtype=np.int64)
    except ValueError as exc:
        raise ImageFileError(f"{path}: labels must be integers ({exc})") from exc


class LazyImages:
    """Image files decoded only when indexed (a Taskonomy folder can hold many thousands).

    Indexing with an integer array returns uint8 k x 3 x side x side, as an
    in-memory ImageSet would.
    """

    def __init__(self, files: list[Path], side: int):
        self.files, self.side = files, side

    def __len__(self) -> int:
        return len(self.files)

    @property
    def shape(self) -> tuple[int, int, int, int]:
        return (len(self.files), 3, self.side, self.side)

    def __getitem__(self, index) -> np.ndarray:
        from PIL import Image

        picked = np.arange(len(self.files))[index]
        out = []
        for i in np.atleast_1d(picked):
            path = self.files[int(i)]
            try:
                with Image.open(path) as im:
                    out.append(np.asarray(im.convert("RGB").resize((self.side, self.side), Image.BILINEAR)))
            except OSError as exc:
                raise ImageFileError(f"{path}: not a readable image ({exc})") from exc
        data = np.stack(out).transpose(0, 3, 1, 2)
        return data if np.ndim(picked) else data[0]


def taskonomy_train(root: str | Path, side: int = TASKONOMY_SIDE) -> ImageSet:
    """The RGB images under images/taskonomy/rgb (decoded on demand at side x side), labels.csv classes."""
    directory = taskonomy_dir(root)
    rgb = directory / "rgb"
    files = sorted(p for p in rgb.glob("*") if p.suffix.lower() in IMAGE_SUFFIXES) if rgb.is_dir() else []
    if not files:
        raise DataNotFoundError("Taskonomy RGB images", [str(rgb)],
                                f"Put Taskonomy rgb images (*.png or *.jpg) in {rgb} and optionally "
                                f"{directory / 'labels.csv'} (file,label) for the classification tasks")
    return ImageSet(LazyImages(files, side), _read_labels(directory / "labels.csv", files),  # type: ignore[arg-type]
                    directory, files)


# classes=1: the label check of load_batch is done per task by the target builders instead,
# since Taskonomy's heads have 9 to 1,000 outputs. ImageNet mean/std, as for Taskonomy encoders.
DATASETS.add("taskonomy", DatasetSpec("Taskonomy", TASKONOMY_SIDE, 1, (0.485, 0.456, 0.406),
                                       (0.229, 0.224, 0.225), taskonomy_train, taskonomy_dir))
