"""One batch of images for scoring networks, read from the standard on-disk formats.

Layout under the data root (each the dataset's usual python/pickle release):

* CIFAR-10:       ``images/cifar10/cifar-10-batches-py/data_batch_1..5``
* CIFAR-100:      ``images/cifar100/cifar-100-python/train``
* ImageNet16-120: ``images/imagenet16/train_data_batch_1..10`` (NB201's downsampled ImageNet)

When a dataset's own files are absent, CIFAR-100 and ImageNet16-120 fall back to the
real CIFAR-10 images as a stand-in, and failing that to a seeded Gaussian batch.
Every :class:`Batch` says in ``source`` which of these it is.
"""
from __future__ import annotations

import os
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import DataNotFoundError, ZcbenchError
from ..registry import Registry

DATA_ENV = "ZCBENCH_DATA"


class ImageFileError(ZcbenchError, ValueError):
    """An image file that exists but cannot be decoded or has the wrong structure."""


@dataclass
class Batch:
    """A normalised image batch plus a plain account of where it came from."""

    inputs: torch.Tensor  # float32, B x 3 x H x W, normalised
    labels: torch.Tensor  # int64, B
    source: str  # human sentence: real / stand-in / synthetic, and from where
    synthetic: bool
    dataset: str  # the dataset whose files were read, or "synthetic"


@dataclass
class ImageSet:
    """Decoded training images of one dataset: uint8 N x 3 x H x W and int64 labels."""

    images: np.ndarray
    labels: np.ndarray
    directory: Path
    files: list[Path]


# ------------------------------------------------------------------ raw file readers

#: Decoded (data, labels) per file, keyed by (resolved path, mtime_ns, size).
_CACHE: dict[tuple[str, int, int], tuple[np.ndarray, np.ndarray]] = {}


def clear_cache() -> None:
    """Forget every decoded file (frees memory; the next read decodes again)."""
    _CACHE.clear()


def _field(entry: dict, name: str, path: Path) -> Any:
    """Look a key up in an unpickled dict whether it was stored as str or bytes."""
    for key in (name.encode(), name):
        if key in entry:
            return entry[key]
    raise ImageFileError(f"{path}: pickle has no {name!r} entry (keys: {sorted(map(repr, entry))})")


def _unpickle(path: Path, encoding: str) -> dict:
    """Unpickle one dataset file, turning any decoding failure into an error naming it."""
    try:
        with open(path, "rb") as f:
            entry = pickle.load(f, encoding=encoding)
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError,
            ImportError, IndexError, KeyError, MemoryError) as exc:
        raise ImageFileError(f"{path}: not a readable dataset pickle "
                             f"({type(exc).__name__}: {exc})") from exc
    if not isinstance(entry, dict):
        raise ImageFileError(f"{path}: expected a pickled dict, got {type(entry).__name__}")
    return entry


def _read_pickle_batch(path: str | Path, label_key: str, pixels: int,
                       encoding: str) -> tuple[np.ndarray, np.ndarray]:
    """Read (uint8 N x pixels, int64 N) from a CIFAR-style pickle, with caching."""
    path = Path(path)
    stat = path.stat()
    cache_key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    if cache_key in _CACHE:
        return _CACHE[cache_key]
    entry = _unpickle(path, encoding)
    data = np.asarray(_field(entry, "data", path))
    labels = np.asarray(_field(entry, label_key, path))
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != pixels:
        raise ImageFileError(f"{path}: 'data' should be uint8 N x {pixels}, "
                             f"got {data.dtype} {data.shape}")
    if labels.ndim != 1 or len(labels) != len(data) or not np.issubdtype(labels.dtype, np.integer):
        raise ImageFileError(f"{path}: {label_key!r} should be {len(data)} integers, "
                             f"got {labels.dtype} {labels.shape}")
    _CACHE[cache_key] = (data, labels.astype(np.int64))
    return _CACHE[cache_key]


def read_cifar10_batch(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Raw CIFAR-10 python batch: uint8 N x 3072 (CHW row-major) and int64 labels 0..9."""
    return _read_pickle_batch(path, "labels", 3 * 32 * 32, "bytes")


def read_cifar100_file(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Raw CIFAR-100 python file: uint8 N x 3072 and int64 fine labels 0..99."""
    return _read_pickle_batch(path, "fine_labels", 3 * 32 * 32, "bytes")


def read_imagenet16_batch(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Raw ImageNet16 batch: uint8 N x 768 (16x16 CHW) and int64 labels, 1-based 1..1000."""
    data, labels = _read_pickle_batch(path, "labels", 3 * 16 * 16, "latin1")
    if len(labels) and (labels.min() < 1 or labels.max() > 1000):
        raise ImageFileError(f"{path}: labels should be 1-based in 1..1000, "
                             f"found {labels.min()}..{labels.max()}")
    return data, labels


# ------------------------------------------------------------ per-dataset training sets


def _existing(directory: Path, names: list[str], what: str, hint: str) -> list[Path]:
    """The files of ``names`` present in ``directory``; DataNotFoundError when none are."""
    found = [directory / n for n in names if (directory / n).is_file()]
    if not found:
        raise DataNotFoundError(what, [str(directory)], hint)
    return found


def _stack(reader: Callable[[Path], tuple[np.ndarray, np.ndarray]], files: list[Path],
           side: int) -> tuple[np.ndarray, np.ndarray]:
    """Read and concatenate files into uint8 N x 3 x side x side plus labels."""
    parts = [reader(p) for p in files]
    data = np.concatenate([d for d, _ in parts]).reshape(-1, 3, side, side)
    return data, np.concatenate([lab for _, lab in parts])


def cifar10_dir(root: str | Path) -> Path:
    return Path(root) / "images" / "cifar10" / "cifar-10-batches-py"


def cifar100_dir(root: str | Path) -> Path:
    return Path(root) / "images" / "cifar100" / "cifar-100-python"


def imagenet16_dir(root: str | Path) -> Path:
    return Path(root) / "images" / "imagenet16"


def _image_set(directory: Path, names: list[str], what: str, hint: str,
               reader: Callable[[Path], tuple[np.ndarray, np.ndarray]], side: int) -> ImageSet:
    """The images of the files of ``names`` present in ``directory`` (DataNotFoundError naming
    ``what`` and ``hint`` when none are)."""
    files = _existing(directory, names, what, hint)
    images, labels = _stack(reader, files, side)
    return ImageSet(images, labels, directory, files)


def cifar10_train(root: str | Path) -> ImageSet:
    """All CIFAR-10 training images present (whichever of data_batch_1..5 exist)."""
    directory = cifar10_dir(root)
    return _image_set(directory, [f"data_batch_{i}" for i in range(1, 6)], "CIFAR-10 training batches",
                      f"Put the CIFAR-10 python release (cifar-10-python.tar.gz) data_batch_1..5 files in {directory}",
                      read_cifar10_batch, 32)


def cifar10_test(root: str | Path) -> ImageSet:
    """The CIFAR-10 test images (test_batch)."""
    directory = cifar10_dir(root)
    return _image_set(directory, ["test_batch"], "CIFAR-10 test batch",
                      f"Put the CIFAR-10 python release's test_batch file in {directory}", read_cifar10_batch, 32)


def cifar100_train(root: str | Path) -> ImageSet:
    """The CIFAR-100 training images with their fine labels."""
    directory = cifar100_dir(root)
    return _image_set(directory, ["train"], "CIFAR-100 training file",
                      f"Put the CIFAR-100 python release (cifar-100-python.tar.gz) 'train' file in {directory}",
                      read_cifar100_file, 32)


def imagenet16_train(root: str | Path, num_classes: int = 120) -> ImageSet:
    """ImageNet16 training images of the first ``num_classes`` classes, labels mapped to 0-based."""
    directory = imagenet16_dir(root)
    files = _existing(directory, [f"train_data_batch_{i}" for i in range(1, 11)],
                      "ImageNet16 training batches",
                      f"Put NB201's downsampled ImageNet 16x16 files "
                      f"train_data_batch_1..10 in {directory}")
    images, labels = _stack(read_imagenet16_batch, files, 16)
    keep = labels <= num_classes
    return ImageSet(images[keep], labels[keep] - 1, directory, files)


# ------------------------------------------------------------------- dataset table


@dataclass(frozen=True)
class DatasetSpec:
    """How to find, decode and normalise one dataset's training images."""

    title: str
    side: int  # native image side in pixels
    classes: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    train: Callable[[str | Path], ImageSet]
    directory: Callable[[str | Path], Path]
    test: Callable[[str | Path], ImageSet] | None = None  # held-out images, where the release has them


#: Every loadable dataset by name. This module registers CIFAR-10/100 and ImageNet16-120;
#: vit_datasets.py and tnb101_images.py register theirs, and importing zcbench.inputs imports all three.
DATASETS: Registry[DatasetSpec] = Registry("dataset")
DATASETS.add("cifar10", DatasetSpec("CIFAR-10", 32, 10, (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616),
                                    cifar10_train, cifar10_dir, cifar10_test))
DATASETS.add("cifar100", DatasetSpec("CIFAR-100", 32, 100, (0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762),
                                     cifar100_train, cifar100_dir))
DATASETS.add("imagenet16_120", DatasetSpec("ImageNet16-120", 16, 120, (0.481, 0.457, 0.408),
                                           (0.247, 0.240, 0.255), imagenet16_train, imagenet16_dir))


def load_split(dataset: str, data_root: str | Path | None, split: str) -> ImageSet:
    """All images of one split ("train" or "test") of a dataset's own files (no stand-in, no synthetic).

    Training a network needs the real dataset, so a missing file is an error
    saying where it was looked for.
    """
    spec = DATASETS.get(dataset)
    root = _resolve_root(data_root)
    if root is None:
        raise DataNotFoundError(f"{spec.title} {split} images", [f"(no data root given and ${DATA_ENV} unset)"],
                                "pass data_root= or set ZCBENCH_DATA")
    if split == "train":
        return spec.train(root)
    if split == "test":
        if spec.test is None:
            raise ZcbenchError(f"dataset {dataset} has no test split reader; hold out part of its "
                               f"training images instead (eval_split=holdout)")
        return spec.test(root)
    raise ZcbenchError(f"split {split!r}; valid splits: train, test")


def _resolve_root(data_root: str | Path | None) -> Path | None:
    """data_root, else $ZCBENCH_DATA, else None."""
    if data_root is None:
        data_root = os.environ.get(DATA_ENV) or None
    return None if data_root is None else Path(data_root)


# ------------------------------------------------------------------- tensor helpers


def to_tensor(images: np.ndarray, spec_name: str, size: int | None = None) -> torch.Tensor:
    """uint8 N x 3 x H x W -> float32, scaled to [0,1], resized to ``size``, normalised."""
    spec = DATASETS.get(spec_name)
    x = torch.from_numpy(np.ascontiguousarray(images)).float().div_(255.0)
    if size is not None and size != x.shape[-1]:
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False,
                          antialias=size < x.shape[-1])
    mean = torch.tensor(spec.mean).view(1, 3, 1, 1)
    std = torch.tensor(spec.std).view(1, 3, 1, 1)
    return ((x - mean) / std).contiguous()


def _pick(n_available: int, batch_size: int, seed: int, where: str) -> np.ndarray:
    """Indices of a seeded sample without replacement."""
    if batch_size > n_available:
        raise ValueError(f"batch_size {batch_size} is larger than the {n_available:,} "
                         f"training images available in {where}")
    return np.random.default_rng(seed).choice(n_available, size=batch_size, replace=False)


def _check_classes(num_classes: int | None, needed: int, what: str) -> None:
    if num_classes is not None and num_classes < needed:
        raise ValueError(f"num_classes={num_classes} is too small for {what}, "
                         f"whose labels go up to {needed - 1}")


def _synthetic(dataset: str, batch_size: int, seed: int, size: int,
               num_classes: int | None, searched: list[str]) -> Batch:
    """A seeded standard-normal batch with uniform labels, marked synthetic."""
    rng = np.random.default_rng(seed)
    inputs = rng.standard_normal((batch_size, 3, size, size)).astype(np.float32)
    labels = rng.integers(0, num_classes or 10, size=batch_size)
    where = ", ".join(searched) if searched else f"(no data root given and ${DATA_ENV} unset)"
    return Batch(torch.from_numpy(inputs), torch.from_numpy(labels.astype(np.int64)),
                 f"SYNTHETIC Gaussian batch: no image files for {dataset} at {where}",
                 synthetic=True, dataset="synthetic")


def _real(name: str, images: ImageSet, batch_size: int, seed: int,
          size: int | None) -> tuple[torch.Tensor, torch.Tensor]:
    idx = _pick(len(images.labels), batch_size, seed, str(images.directory))
    inputs = to_tensor(images.images[idx], name, size)
    return inputs, torch.from_numpy(images.labels[idx].copy())


# ------------------------------------------------------------------------ load_batch


def load_batch(dataset: str, data_root: str | Path | None, batch_size: int, seed: int,
               image_size: int | None = None, num_classes: int | None = None) -> Batch:
    """A seeded batch of training images for ``dataset``, with fallbacks (see module doc).

    Images are drawn without replacement by ``numpy.random.default_rng(seed)``.
    ``image_size`` resizes (bilinear; antialiased when shrinking). ``num_classes``
    is the network head's class count: real labels must fit in it, and synthetic
    labels are drawn from ``range(num_classes or 10)``.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    spec = DATASETS.get(dataset)
    root = _resolve_root(data_root)
    if root is None:
        return _synthetic(dataset, batch_size, seed, image_size or spec.side, num_classes, [])
    try:
        own = spec.train(root)
    except DataNotFoundError:
        own = None
    if own is not None:
        _check_classes(num_classes, spec.classes, spec.title)
        inputs, labels = _real(dataset, own, batch_size, seed, image_size)
        source = (f"{spec.title} training images (real; {len(own.labels):,} available) "
                  f"from {own.directory}")
        return Batch(inputs, labels, source, synthetic=False, dataset=dataset)
    searched = [str(spec.directory(root))]
    if dataset != "cifar10":
        try:
            stand_in = cifar10_train(root)
        except DataNotFoundError:
            searched.append(str(cifar10_dir(root)))
        else:
            return _stand_in_batch(dataset, stand_in, searched[0], batch_size, seed,
                                   image_size, num_classes)
    return _synthetic(dataset, batch_size, seed, image_size or spec.side, num_classes, searched)


def _stand_in_batch(dataset: str, images: ImageSet, searched: str, batch_size: int, seed: int,
                    image_size: int | None, num_classes: int | None) -> Batch:
    """Real CIFAR-10 images standing in for a dataset whose files are absent."""
    spec = DATASETS.get(dataset)
    classes = 10
    if num_classes is not None and num_classes < 10:  # e.g. Chaoyang's 4: only CIFAR-10 classes 0..k-1
        keep = images.labels < num_classes
        images = ImageSet(images.images[keep], images.labels[keep], images.directory, images.files)
        classes = num_classes
    size = image_size or spec.side
    inputs, labels = _real("cifar10", images, batch_size, seed, size)
    resized = f", resized to {size}x{size}" if size != 32 else ""
    which = "labels 0..9" if classes == 10 else (f"only the images of CIFAR-10 classes 0..{classes - 1}, "
                                                  f"as the task has {classes} classes")
    source = (f"CIFAR-10 training images as a STAND-IN for {spec.title} (no {dataset} files "
              f"at {searched}; real CIFAR-10 images{resized}, {which}, normalised with "
              f"CIFAR-10 mean/std; {len(images.labels):,} available) from {images.directory}")
    return Batch(inputs, labels, source, synthetic=False, dataset="cifar10")
