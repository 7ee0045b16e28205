"""Image readers for the ViT tasks' datasets, in each dataset's standard release format.

Registered into zcbench.inputs.datasets.DATASETS (``load_batch``/``load_split`` then read them):

* ``svhn``:      ``images/svhn/{train,test}_32x32.mat`` (SVHN cropped digits; label 10 means digit 0)
* ``spherical_cifar100``: ``images/spherical_cifar100/s2_cifar100.gz`` (NAS-Bench-360's
  gzipped pickle ``{'train'|'test': {'images': N x 3 x 60 x 60, 'labels': N}}``)
* ``pets``:      ``images/pets/images/*.jpg`` + ``annotations/{trainval,test}.txt`` (Oxford-IIIT Pet, 37 classes)
* ``flowers102``: ``images/flowers102/jpg/image_%05d.jpg`` + ``imagelabels.mat`` + ``setid.mat``
* ``chaoyang``:  ``images/chaoyang/{train,test}.json`` (``[{"name": path, "label": k}]``) + the images
* ``imagenet``:  ``images/imagenet/{train,val}/<wnid>/*.JPEG`` (class index = sorted wnid order)

JPEG datasets are decoded at ``side`` x ``side`` (shorter side resized, centre
crop), and at most ``JPEG_LIMIT`` images per split are decoded, taken round-robin
over the classes, so that one scoring batch does not decode all of ImageNet. A
missing dataset falls back as datasets.load_batch does (CIFAR-10 stand-in, else
a synthetic batch), and says so.
"""
from __future__ import annotations

import gzip
import json
import pickle
from pathlib import Path
from typing import Sequence

import numpy as np

from .datasets import DATASETS, DatasetSpec, ImageFileError, ImageSet
from ..errors import DataNotFoundError

JPEG_LIMIT = 2048
_IMAGENET_MEAN, _IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


# ------------------------------------------------------------------ helpers
def _require(path: Path, what: str, hint: str) -> Path:
    if not path.exists():
        raise DataNotFoundError(what, [str(path)], hint)
    return path


def _round_robin(labels: Sequence[int], limit: int) -> list[int]:
    """Indices of at most `limit` items, taking one per class in turn (deterministic)."""
    by_class: dict[int, list[int]] = {}
    for i, lab in enumerate(labels):
        by_class.setdefault(int(lab), []).append(i)
    queues = [by_class[c] for c in sorted(by_class)]
    picked: list[int] = []
    depth = 0
    while len(picked) < limit and any(depth < len(q) for q in queues):
        picked += [q[depth] for q in queues if depth < len(q)][:limit - len(picked)]
        depth += 1
    return sorted(picked)


def decode_jpegs(paths: Sequence[Path], labels: Sequence[int], side: int,
                 limit: int = JPEG_LIMIT) -> tuple[np.ndarray, np.ndarray]:
    """uint8 N x 3 x side x side (shorter side resized, centre crop) and int64 labels."""
    from PIL import Image, UnidentifiedImageError

    keep = _round_robin(labels, limit)
    out = np.empty((len(keep), 3, side, side), dtype=np.uint8)
    for j, i in enumerate(keep):
        try:
            with Image.open(paths[i]) as im:
                im = im.convert("RGB")
                scale = side / min(im.size)
                w, h = max(side, round(im.size[0] * scale)), max(side, round(im.size[1] * scale))
                im = im.resize((w, h), Image.BILINEAR)
                left, top = (w - side) // 2, (h - side) // 2
                out[j] = np.asarray(im.crop((left, top, left + side, top + side))).transpose(2, 0, 1)
        except (OSError, UnidentifiedImageError) as exc:
            raise ImageFileError(f"{paths[i]}: not a readable image ({exc})") from exc
    return out, np.asarray([labels[i] for i in keep], dtype=np.int64)


# --------------------------------------------------------------------- SVHN
def svhn_dir(root) -> Path:
    return Path(root) / "images" / "svhn"


def _svhn(root, split: str) -> ImageSet:
    from scipy.io import loadmat

    directory = svhn_dir(root)
    path = _require(directory / f"{split}_32x32.mat", f"SVHN {split}_32x32.mat",
                    f"Put the SVHN cropped-digits release ({split}_32x32.mat) in {directory}")
    try:
        mat = loadmat(path)
    except (ValueError, OSError) as exc:
        raise ImageFileError(f"{path}: not a readable .mat file ({exc})") from exc
    if "X" not in mat or "y" not in mat:
        raise ImageFileError(f"{path}: expected variables 'X' and 'y', found {sorted(k for k in mat if k[0] != '_')}")
    x, y = mat["X"], mat["y"].reshape(-1).astype(np.int64)
    if x.ndim != 4 or x.shape[:3] != (32, 32, 3) or x.shape[3] != len(y):
        raise ImageFileError(f"{path}: 'X' should be 32 x 32 x 3 x N, got {x.shape}")
    y = np.where(y == 10, 0, y)  # SVHN writes digit 0 as label 10
    return ImageSet(np.ascontiguousarray(x.transpose(3, 2, 0, 1)), y, directory, [path])


# ------------------------------------------------------- Spherical CIFAR-100
def spherical_dir(root) -> Path:
    return Path(root) / "images" / "spherical_cifar100"


def _spherical(root, split: str) -> ImageSet:
    directory = spherical_dir(root)
    path = _require(directory / "s2_cifar100.gz", "Spherical CIFAR-100 s2_cifar100.gz",
                    f"Put NAS-Bench-360's s2_cifar100.gz in {directory}")
    try:
        with gzip.open(path, "rb") as f:
            content = pickle.load(f)
        part = content[split]
        images, labels = np.asarray(part["images"]), np.asarray(part["labels"]).reshape(-1)
    except (OSError, EOFError, pickle.UnpicklingError, KeyError, TypeError) as exc:
        raise ImageFileError(f"{path}: expected a gzipped pickle with {split}/images and {split}/labels "
                             f"({type(exc).__name__}: {exc})") from exc
    if images.ndim != 4 or images.shape[1] != 3 or len(images) != len(labels):
        raise ImageFileError(f"{path}: {split} images should be N x 3 x H x W, got {images.shape}")
    if images.dtype != np.uint8:  # float releases: [0, 1] or [0, 255]
        scale = 255.0 if float(np.nanmax(images)) <= 1.0 else 1.0
        images = np.clip(np.rint(images * scale), 0, 255).astype(np.uint8)
    return ImageSet(images, labels.astype(np.int64), directory, [path])


# ---------------------------------------------------------------------- Pets
def pets_dir(root) -> Path:
    return Path(root) / "images" / "pets"


def _pets(root, split: str, side: int = 224) -> ImageSet:
    directory = pets_dir(root)
    listing = "trainval.txt" if split == "train" else "test.txt"
    ann = _require(directory / "annotations" / listing, f"Oxford-IIIT Pet annotations/{listing}",
                   f"Put the Oxford-IIIT Pet images/ and annotations/ folders in {directory}")
    names, labels = [], []
    for line in ann.read_text().splitlines():
        parts = line.split()
        if len(parts) >= 2 and not line.startswith("#"):
            names.append(directory / "images" / f"{parts[0]}.jpg")
            labels.append(int(parts[1]) - 1)  # class ids are 1..37
    images, labels_arr = decode_jpegs(names, labels, side)
    return ImageSet(images, labels_arr, directory, [ann])


# ------------------------------------------------------------------- Flowers
def flowers_dir(root) -> Path:
    return Path(root) / "images" / "flowers102"


def _flowers(root, split: str, side: int = 224) -> ImageSet:
    from scipy.io import loadmat

    directory = flowers_dir(root)
    hint = f"Put Oxford Flowers-102's jpg/ folder, imagelabels.mat and setid.mat in {directory}"
    labels = loadmat(_require(directory / "imagelabels.mat", "Flowers-102 imagelabels.mat", hint))["labels"].reshape(-1)
    sets = loadmat(_require(directory / "setid.mat", "Flowers-102 setid.mat", hint))
    ids = np.concatenate([sets["trnid"].reshape(-1), sets["valid"].reshape(-1)]) if split == "train" \
        else sets["tstid"].reshape(-1)
    paths = [directory / "jpg" / f"image_{int(i):05d}.jpg" for i in ids]
    images, labels_arr = decode_jpegs(paths, [int(labels[int(i) - 1]) - 1 for i in ids], side)
    return ImageSet(images, labels_arr, directory, [directory / "imagelabels.mat", directory / "setid.mat"])


# ------------------------------------------------------------------ Chaoyang
def chaoyang_dir(root) -> Path:
    return Path(root) / "images" / "chaoyang"


def _chaoyang(root, split: str, side: int = 224) -> ImageSet:
    directory = chaoyang_dir(root)
    listing = _require(directory / f"{split}.json", f"Chaoyang {split}.json",
                       f"Put the Chaoyang release (train/, test/, train.json, test.json) in {directory}")
    try:
        entries = json.loads(listing.read_text())
        paths = [directory / e["name"] for e in entries]
        labels = [int(e["label"]) for e in entries]
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise ImageFileError(f"{listing}: expected a JSON list of {{'name', 'label'}} ({exc})") from exc
    images, labels_arr = decode_jpegs(paths, labels, side)
    return ImageSet(images, labels_arr, directory, [listing])


# ------------------------------------------------------------------ ImageNet
def imagenet_dir(root) -> Path:
    return Path(root) / "images" / "imagenet"


def _imagenet(root, split: str, side: int = 224) -> ImageSet:
    directory = imagenet_dir(root) / ("train" if split == "train" else "val")
    _require(directory, f"ImageNet {directory.name}/ folder",
             f"Put ILSVRC-2012 {directory.name} images as {directory}/<wnid>/*.JPEG")
    classes = sorted(p.name for p in directory.iterdir() if p.is_dir())
    if not classes:
        raise DataNotFoundError("ImageNet class folders", [str(directory)], "expected <wnid>/*.JPEG folders")
    paths, labels = [], []
    for k, wnid in enumerate(classes):
        files = sorted(f for f in (directory / wnid).iterdir() if f.suffix.lower() in (".jpeg", ".jpg", ".png"))
        paths += files
        labels += [k] * len(files)
    images, labels_arr = decode_jpegs(paths, labels, side)
    return ImageSet(images, labels_arr, directory, [directory])


# ---------------------------------------------------------------- registration
def _split(reader, split: str):
    return lambda root: reader(root, split)


_CIFAR100_MEAN, _CIFAR100_STD = (0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762)
DATASETS.add("svhn", DatasetSpec("SVHN", 32, 10, (0.4377, 0.4438, 0.4728), (0.1980, 0.2010, 0.1970),
                                 _split(_svhn, "train"), svhn_dir, _split(_svhn, "test")))
DATASETS.add("spherical_cifar100", DatasetSpec("Spherical CIFAR-100", 60, 100, _CIFAR100_MEAN, _CIFAR100_STD,
                                               _split(_spherical, "train"), spherical_dir,
                                               _split(_spherical, "test")))
DATASETS.add("pets", DatasetSpec("Oxford-IIIT Pet", 224, 37, _IMAGENET_MEAN, _IMAGENET_STD,
                                 _split(_pets, "train"), pets_dir, _split(_pets, "test")))
DATASETS.add("flowers102", DatasetSpec("Oxford Flowers-102", 224, 102, _IMAGENET_MEAN, _IMAGENET_STD,
                                       _split(_flowers, "train"), flowers_dir, _split(_flowers, "test")))
DATASETS.add("chaoyang", DatasetSpec("Chaoyang", 224, 4, _IMAGENET_MEAN, _IMAGENET_STD,
                                     _split(_chaoyang, "train"), chaoyang_dir, _split(_chaoyang, "test")))
DATASETS.add("imagenet", DatasetSpec("ImageNet-1k", 224, 1000, _IMAGENET_MEAN, _IMAGENET_STD,
                                     _split(_imagenet, "train"), imagenet_dir, _split(_imagenet, "test")))
