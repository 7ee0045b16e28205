"""Tests for zcbench.inputs.datasets: readers, load_batch, fallbacks and the source text."""
from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from zcbench.inputs import datasets as ds
from zcbench.errors import UnknownNameError, ZcbenchError

REPO = Path(__file__).resolve().parents[1]
CIFAR10_MEAN = torch.tensor([0.4914, 0.4822, 0.4465])
CIFAR10_STD = torch.tensor([0.2470, 0.2435, 0.2616])


def _data_root() -> Path:
    return Path(os.environ.get("ZCBENCH_DATA") or REPO.parent / "shared" / "data")


@pytest.fixture(scope="module")
def real_root() -> Path:
    root = _data_root()
    if not ds.cifar10_dir(root).is_dir():
        from conftest import missing_data

        missing_data(f"real CIFAR-10 files not found under {root} (set ZCBENCH_DATA)")
    return root


# ------------------------------------------------------- writers of tiny standard files


def _dump(path: Path, entry: dict, protocol: int = 2) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        pickle.dump(entry, f, protocol=protocol)


def write_cifar10_batch(root: Path, index: int, data: np.ndarray, labels: list[int]) -> Path:
    """A CIFAR-10 python batch: protocol-2 dict with bytes keys, like the real release."""
    path = ds.cifar10_dir(root) / f"data_batch_{index}"
    _dump(path, {b"batch_label": f"training batch {index} of 5".encode(), b"labels": labels,
                 b"data": data, b"filenames": [b"img_%05d.png" % i for i in range(len(labels))]})
    return path


def write_cifar100_train(root: Path, data: np.ndarray, fine: list[int]) -> Path:
    """CIFAR-100 python 'train': bytes keys, fine and coarse labels."""
    path = ds.cifar100_dir(root) / "train"
    _dump(path, {b"filenames": [b"x_%d.png" % i for i in range(len(fine))],
                 b"batch_label": b"training batch 1 of 1", b"fine_labels": fine,
                 b"coarse_labels": [f // 5 for f in fine], b"data": data})
    return path


def write_imagenet16_batch(root: Path, index: int, data: np.ndarray, labels: list[int]) -> Path:
    """NB201 ImageNet16 batch: py3 pickle, str keys, 1-based labels, a 'mean' entry."""
    path = ds.imagenet16_dir(root) / f"train_data_batch_{index}"
    _dump(path, {"data": data, "labels": labels,
                 "mean": data.mean(axis=0).astype(np.float64)}, protocol=pickle.HIGHEST_PROTOCOL)
    return path


def _images(n: int, pixels: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(n, pixels), dtype=np.uint8)


@pytest.fixture
def tiny_cifar10(tmp_path: Path) -> Path:
    write_cifar10_batch(tmp_path, 1, _images(20, 3072, 1), [i % 10 for i in range(20)])
    write_cifar10_batch(tmp_path, 3, _images(12, 3072, 3), [i % 10 for i in range(12)])
    return tmp_path


@pytest.fixture(autouse=True)
def _no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests pass data roots explicitly; the env var is set only where a test wants it."""
    monkeypatch.delenv(ds.DATA_ENV, raising=False)


# --------------------------------------------------------------------- real CIFAR-10


def test_real_cifar10_raw_known_pixels(real_root: Path) -> None:
    data, labels = ds.read_cifar10_batch(ds.cifar10_dir(real_root) / "data_batch_1")
    assert data.dtype == np.uint8 and data.shape == (932, 3072)
    assert data[0, :4].tolist() == [59, 43, 50, 68]  # the well-known first frog
    assert labels[:10].tolist() == [6, 9, 9, 4, 1, 1, 2, 7, 8, 3]
    assert labels.dtype == np.int64


def test_real_cifar10_batch(real_root: Path) -> None:
    batch = ds.load_batch("cifar10", real_root, 64, seed=0)
    assert batch.inputs.shape == (64, 3, 32, 32) and batch.inputs.dtype == torch.float32
    assert batch.labels.shape == (64,) and batch.labels.dtype == torch.int64
    assert not batch.synthetic and batch.dataset == "cifar10"
    assert "4,737 available" in batch.source and "real" in batch.source
    assert int(batch.labels.min()) >= 0 and int(batch.labels.max()) <= 9
    # normalised: roughly zero mean / unit spread per channel
    assert abs(float(batch.inputs.mean())) < 0.3
    assert 0.7 < float(batch.inputs.std()) < 1.3


def test_real_cifar10_seed_determinism(real_root: Path) -> None:
    a = ds.load_batch("cifar10", real_root, 16, seed=3)
    b = ds.load_batch("cifar10", real_root, 16, seed=3)
    c = ds.load_batch("cifar10", real_root, 16, seed=4)
    assert torch.equal(a.inputs, b.inputs) and torch.equal(a.labels, b.labels)
    assert not torch.equal(a.inputs, c.inputs)


def test_real_cifar10_batch_too_large(real_root: Path) -> None:
    with pytest.raises(ValueError, match="4,737"):
        ds.load_batch("cifar10", real_root, 5000, seed=0)


def test_real_standin_for_imagenet16(real_root: Path) -> None:
    if ds.imagenet16_dir(real_root).exists():
        pytest.skip("real ImageNet16 files present; stand-in not used")
    batch = ds.load_batch("imagenet16_120", real_root, 8, seed=0)
    assert batch.inputs.shape == (8, 3, 16, 16)
    assert batch.dataset == "cifar10" and not batch.synthetic
    assert "stand-in" in batch.source.lower() and "ImageNet16-120" in batch.source


# ------------------------------------------------------------ formats on tiny files


def test_normalisation_and_chw_order(tmp_path: Path) -> None:
    data = np.zeros((3, 3072), np.uint8)
    data[:, :1024] = 255  # red plane full, green and blue zero
    write_cifar10_batch(tmp_path, 1, data, [0, 1, 2])
    batch = ds.load_batch("cifar10", tmp_path, 3, seed=0)
    expected = (torch.tensor([1.0, 0.0, 0.0]) - CIFAR10_MEAN) / CIFAR10_STD
    per_channel = batch.inputs.mean(dim=(0, 2, 3))
    assert torch.allclose(per_channel, expected, atol=1e-5)
    assert torch.allclose(batch.inputs.std(dim=(0, 2, 3)), torch.zeros(3), atol=1e-6)


def test_cifar10_uses_whichever_batches_exist(tiny_cifar10: Path) -> None:
    images = ds.cifar10_train(tiny_cifar10)
    assert [p.name for p in images.files] == ["data_batch_1", "data_batch_3"]
    assert images.images.shape == (32, 3, 32, 32)
    batch = ds.load_batch("cifar10", tiny_cifar10, 32, seed=1)
    assert sorted(batch.labels.tolist()) == sorted([i % 10 for i in range(20)] +
                                                   [i % 10 for i in range(12)])


def test_cifar100_reader(tmp_path: Path) -> None:
    data = _images(6, 3072)
    fine = [0, 17, 42, 99, 5, 63]
    write_cifar100_train(tmp_path, data, fine)
    raw, labels = ds.read_cifar100_file(ds.cifar100_dir(tmp_path) / "train")
    assert np.array_equal(raw, data) and labels.tolist() == fine
    batch = ds.load_batch("cifar100", tmp_path, 6, seed=0, num_classes=100)
    assert batch.dataset == "cifar100" and not batch.synthetic
    assert batch.inputs.shape == (6, 3, 32, 32)
    assert sorted(batch.labels.tolist()) == sorted(fine)
    assert "CIFAR-100 training images (real; 6 available)" in batch.source
    with pytest.raises(ValueError, match="num_classes"):
        ds.load_batch("cifar100", tmp_path, 6, seed=0, num_classes=10)


def test_imagenet16_reader_keeps_first_120_classes(tmp_path: Path) -> None:
    data = _images(6, 768)
    write_imagenet16_batch(tmp_path, 1, data[:3], [1, 121, 120])
    write_imagenet16_batch(tmp_path, 2, data[3:], [1000, 60, 500])
    raw, labels = ds.read_imagenet16_batch(ds.imagenet16_dir(tmp_path) / "train_data_batch_1")
    assert raw.shape == (3, 768) and labels.tolist() == [1, 121, 120]
    images = ds.imagenet16_train(tmp_path)
    assert images.labels.tolist() == [0, 119, 59]
    assert np.array_equal(images.images, data[[0, 2, 4]].reshape(-1, 3, 16, 16))
    batch = ds.load_batch("imagenet16_120", tmp_path, 3, seed=0)
    assert batch.inputs.shape == (3, 3, 16, 16) and batch.dataset == "imagenet16_120"
    assert sorted(batch.labels.tolist()) == [0, 59, 119]
    up = ds.load_batch("imagenet16_120", tmp_path, 3, seed=0, image_size=32)
    assert up.inputs.shape == (3, 3, 32, 32)


def test_imagenet16_rejects_zero_based_labels(tmp_path: Path) -> None:
    write_imagenet16_batch(tmp_path, 1, _images(2, 768), [0, 5])
    with pytest.raises(ZcbenchError, match="1-based"):
        ds.load_batch("imagenet16_120", tmp_path, 1, seed=0)


def test_resize_down_with_antialias(tiny_cifar10: Path) -> None:
    batch = ds.load_batch("cifar10", tiny_cifar10, 4, seed=0, image_size=8)
    assert batch.inputs.shape == (4, 3, 8, 8)
    full = ds.load_batch("cifar10", tiny_cifar10, 4, seed=0)
    unnorm = full.inputs * CIFAR10_STD.view(1, 3, 1, 1) + CIFAR10_MEAN.view(1, 3, 1, 1)
    expected = torch.nn.functional.interpolate(unnorm, size=(8, 8), mode="bilinear",
                                               align_corners=False, antialias=True)
    expected = (expected - CIFAR10_MEAN.view(1, 3, 1, 1)) / CIFAR10_STD.view(1, 3, 1, 1)
    assert torch.allclose(batch.inputs, expected, atol=1e-4)


# ----------------------------------------------------------------------- fallbacks


def test_standin_cifar10_for_cifar100(tiny_cifar10: Path) -> None:
    batch = ds.load_batch("cifar100", tiny_cifar10, 8, seed=0, num_classes=100)
    assert batch.dataset == "cifar10" and not batch.synthetic
    assert batch.inputs.shape == (8, 3, 32, 32)
    assert "stand-in" in batch.source.lower()
    assert str(ds.cifar100_dir(tiny_cifar10)) in batch.source
    assert int(batch.labels.max()) <= 9


def test_standin_for_imagenet16_resized(tiny_cifar10: Path) -> None:
    batch = ds.load_batch("imagenet16_120", tiny_cifar10, 8, seed=0)
    assert batch.inputs.shape == (8, 3, 16, 16) and batch.dataset == "cifar10"
    assert "stand-in" in batch.source.lower() and "16x16" in batch.source
    big = ds.load_batch("imagenet16_120", tiny_cifar10, 8, seed=0, image_size=32)
    assert big.inputs.shape == (8, 3, 32, 32)


def test_synthetic_when_no_files(tmp_path: Path) -> None:
    batch = ds.load_batch("cifar100", tmp_path, 8, seed=0, num_classes=100)
    assert batch.synthetic and batch.dataset == "synthetic"
    assert batch.inputs.shape == (8, 3, 32, 32) and batch.inputs.dtype == torch.float32
    assert batch.labels.dtype == torch.int64 and int(batch.labels.max()) < 100
    assert batch.source.startswith("SYNTHETIC")
    assert str(ds.cifar100_dir(tmp_path)) in batch.source
    assert str(ds.cifar10_dir(tmp_path)) in batch.source
    again = ds.load_batch("cifar100", tmp_path, 8, seed=0, num_classes=100)
    other = ds.load_batch("cifar100", tmp_path, 8, seed=1, num_classes=100)
    assert torch.equal(batch.inputs, again.inputs) and torch.equal(batch.labels, again.labels)
    assert not torch.equal(batch.inputs, other.inputs)


def test_synthetic_labels_default_ten_classes(tmp_path: Path) -> None:
    batch = ds.load_batch("imagenet16_120", tmp_path, 200, seed=0)
    assert batch.inputs.shape == (200, 3, 16, 16)
    assert set(batch.labels.tolist()) == set(range(10))


def test_no_root_and_no_env_is_synthetic() -> None:
    batch = ds.load_batch("cifar10", None, 4, seed=0)
    assert batch.synthetic and "SYNTHETIC" in batch.source


def test_env_var_root(tiny_cifar10: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ds.DATA_ENV, str(tiny_cifar10))
    batch = ds.load_batch("cifar10", None, 4, seed=0)
    assert not batch.synthetic and str(tiny_cifar10) in batch.source


# -------------------------------------------------------------------------- errors


def test_unknown_dataset_lists_valid() -> None:
    with pytest.raises(UnknownNameError) as info:
        ds.load_batch("mnist", None, 4, seed=0)
    for name in ("cifar10", "cifar100", "imagenet16_120"):
        assert name in str(info.value)


ALL_DATASETS = ["chaoyang", "cifar10", "cifar100", "flowers102", "imagenet", "imagenet16_120", "pets",
                "spherical_cifar100", "svhn", "taskonomy"]


def test_every_dataset_resolves_from_a_fresh_interpreter() -> None:
    """Importing only the loader must know every dataset: no module is imported for its side effect."""
    import subprocess
    import sys

    code = ("from zcbench.inputs.datasets import DATASETS, load_batch; "
            "print(','.join(sorted(DATASETS.names())))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().split(",") == ALL_DATASETS


def test_dataset_registry_is_the_shared_registry_kind() -> None:
    from zcbench.registry import Registry

    assert isinstance(ds.DATASETS, Registry)
    with pytest.raises(ValueError, match="registered twice"):
        ds.DATASETS.add("cifar10", ds.DATASETS.get("cifar10"))


@pytest.mark.parametrize("content", [b"not a pickle at all", b"", b"\x80\x02}q\x00(X"])
def test_corrupt_pickle_names_file(tmp_path: Path, content: bytes) -> None:
    path = ds.cifar10_dir(tmp_path) / "data_batch_1"
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    with pytest.raises(ds.ImageFileError) as info:
        ds.load_batch("cifar10", tmp_path, 1, seed=0)
    assert str(path) in str(info.value)


def test_wrong_structure_names_file(tmp_path: Path) -> None:
    path = ds.cifar10_dir(tmp_path) / "data_batch_1"
    _dump(path, {b"data": np.zeros((2, 100), np.uint8), b"labels": [0, 1]})
    with pytest.raises(ds.ImageFileError, match="data_batch_1"):
        ds.load_batch("cifar10", tmp_path, 1, seed=0)
    _dump(path, {b"data": np.zeros((2, 3072), np.uint8)})
    with pytest.raises(ds.ImageFileError, match="'labels'"):
        ds.read_cifar10_batch(path)


def test_cache_reuses_and_notices_rewrites(tmp_path: Path) -> None:
    path = write_cifar10_batch(tmp_path, 1, _images(4, 3072), [0, 1, 2, 3])
    first = ds.read_cifar10_batch(path)
    assert ds.read_cifar10_batch(path)[0] is first[0]
    write_cifar10_batch(tmp_path, 1, _images(5, 3072), [4, 4, 4, 4, 4])
    assert ds.read_cifar10_batch(path)[1].tolist() == [4] * 5


def test_bad_batch_size(tiny_cifar10: Path) -> None:
    with pytest.raises(ValueError, match="larger than the 32"):
        ds.load_batch("cifar10", tiny_cifar10, 33, seed=0)
    with pytest.raises(ValueError, match=">= 1"):
        ds.load_batch("cifar10", tiny_cifar10, 0, seed=0)


def test_standin_for_a_task_with_fewer_than_ten_classes_keeps_only_those_classes(real_root: Path) -> None:
    """Chaoyang has 4 classes: the CIFAR-10 stand-in draws only images of classes 0..3, and says so."""
    batch = ds.load_batch("chaoyang", real_root, 64, seed=0, image_size=32, num_classes=4)
    assert batch.dataset == "cifar10" and "STAND-IN" in batch.source
    assert "classes 0..3" in batch.source and set(batch.labels.tolist()) <= {0, 1, 2, 3}
    assert len(set(batch.labels.tolist())) == 4
