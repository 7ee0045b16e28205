"""ViT ground truth (Auto-Prox, OoD-ViT-NAS, the kept mini benchmark), ViT tasks and image readers."""
from __future__ import annotations

import gzip
import json
import pickle
import random
from pathlib import Path

import numpy as np
import pytest
import torch

from zcbench.tasks import read_ground_truth
from zcbench.tasks.readers import GroundTruthFormatError
from zcbench.tasks.task import ground_truth, load_task, task_names
from zcbench.inputs.datasets import load_batch, load_split
from zcbench.errors import DataNotFoundError, UnknownNameError
from zcbench.harness import compose, run
from zcbench.spaces import get_space
from zcbench.spaces.autoformer_net import ViTOptions, param_count

REPO = Path(__file__).resolve().parents[1]
AUTOPROX_TASKS = [t for t in task_names() if t.startswith("autoprox_")]
OOD_TASKS = [t for t in task_names() if t.startswith("ood_autoformer_")]
MINI = REPO / "results" / "benchmarks" / "autoformer_t_cifar10_mini.h5"


# ----------------------------------------------------------------- Auto-Prox
@pytest.mark.parametrize("task", AUTOPROX_TASKS)
def test_autoprox_tasks_join_every_arch(task, real_data):
    t = load_task(task)
    truth = ground_truth(t, real_data)
    expected = 100 if task.endswith("_base") else 200
    assert len(truth) == expected and truth["arch"].is_unique
    assert truth["accuracy"].notna().all()
    space = get_space(t.space)
    assert all(space.canonical(a) == a for a in truth["arch"])


def test_autoprox_ranges_and_column_choice(real_data):
    files = ["vit/autoprox/gt_autoformer.pth", "vit/autoprox/gt_autoformer_2.pth"]
    kd = read_ground_truth("autoprox", real_data, files=files, column="c100_kd_acc")
    base = read_ground_truth("autoprox", real_data, files=files, column="c100_base_acc")
    assert (kd["accuracy"].min(), kd["accuracy"].max()) == (75.08, 78.8)
    assert (base["accuracy"].min(), base["accuracy"].max()) == (67.69, 69.91)
    assert len(base) == 100  # the second file has None in every *_base column
    with pytest.raises(UnknownNameError, match="c100_kd_acc"):
        read_ground_truth("autoprox", real_data, files=files[:1], column="c100_acc")


def test_autoprox_networks_are_built_as_autoprox_built_them(real_data):
    """qkv width = embed_dim: the head counts do not change the parameter count (data README)."""
    t = load_task("autoprox_cifar100_kd")
    truth = ground_truth(t, real_data)
    space = get_space("autoformer_t")
    opts = ViTOptions(**t.space_options)
    counts = {}
    for arch in truth["arch"]:
        sub = space.subnet(arch)
        counts.setdefault((sub.embed_dim, sub.mlp_ratio), set()).add(param_count(sub, 100, opts))
    assert all(len(c) == 1 for c in counts.values())
    arch = truth["arch"].iloc[0]
    net = space.build(arch, 100, **t.space_options)
    assert sum(p.numel() for p in net.parameters()) == param_count(space.subnet(arch), 100, opts)
    assert all(b.attn.qkv.out_features == 3 * space.subnet(arch).embed_dim for b in net.blocks)


def test_autoprox_bad_files(tmp_path):
    with pytest.raises(DataNotFoundError, match="gt_autoformer.pth"):
        read_ground_truth("autoprox", tmp_path, files=["gt_autoformer.pth"], column="c100_kd_acc")
    (tmp_path / "junk.pth").write_bytes(b"not a torch file")
    with pytest.raises(GroundTruthFormatError, match="junk.pth"):
        read_ground_truth("autoprox", tmp_path, files=["junk.pth"], column="c100_kd_acc")
    torch.save({"arch": 1}, tmp_path / "dict.pth")
    with pytest.raises(GroundTruthFormatError, match="list of records"):
        read_ground_truth("autoprox", tmp_path, files=["dict.pth"], column="c100_kd_acc")
    arch = {"hidden_dim": 192, "depth": 12, "mlp_ratio": [4.0] * 12, "num_heads": [3] * 12}
    torch.save([{"arch": arch, "c100_kd_acc": 70.0}, {"arch": arch, "c100_kd_acc": 71.0}], tmp_path / "dup.pth")
    with pytest.raises(GroundTruthFormatError, match="appears twice"):
        read_ground_truth("autoprox", tmp_path, files=["dup.pth"], column="c100_kd_acc")


# ---------------------------------------------------------------- OoD-ViT-NAS
@pytest.mark.parametrize("task", OOD_TASKS)
def test_ood_tasks_join_and_match_the_recorded_params(task, real_data):
    t = load_task(task)
    truth = ground_truth(t, real_data)
    assert len(truth) == 1001 and truth["accuracy"].notna().all()
    space, opts = get_space(t.space), ViTOptions(**t.space_options)
    ours = np.array([param_count(space.subnet(a), 1000, opts) for a in truth["arch"]]) / 1e6
    assert np.abs(ours - truth["ref_params"].to_numpy()).max() < 1e-6  # every one of the 1,001


def test_ood_built_network_matches_the_file(real_data):
    t = load_task("ood_autoformer_t_imagenet")
    row = ground_truth(t, real_data).iloc[7]
    net = get_space(t.space).build(row["arch"], 1000, **t.space_options)
    assert sum(p.numel() for p in net.parameters()) == round(row["ref_params"] * 1e6)


def test_ood_bad_field_and_missing_file(tmp_path, real_data):
    with pytest.raises(GroundTruthFormatError, match="keys there: \\['clean', 'corruption'\\]"):
        read_ground_truth("ood_vit_nas", real_data, file="vit/ood_vit_nas/1k_Vit_Architecture_from_AutoFM_tiny.json",
                          field=["Imagenet", "top1"])
    with pytest.raises(DataNotFoundError, match="OoD-ViT-NAS"):
        read_ground_truth("ood_vit_nas", tmp_path, file="small.json")


# -------------------------------------------------------------- end to end
def test_autoprox_run_joins_ground_truth(tmp_path, real_data):
    cfg = compose([f"out_dir={tmp_path}", f"data_root={real_data}", "progress=false", "task=autoprox_cifar100_kd",
                   "proxy=[params,nwot,grad_norm]", "n_archs=3", "batch_size=4",
                   "task.image_size=32", "task.space_options.patch_size=8"])
    result = run(cfg)
    table = result.correlations.set_index("proxy")
    assert (table["n_archs"] == 3).all() and (table["n_failed"] == 0).all()
    import zcbench
    frame = zcbench.load_scores(tmp_path)
    assert frame["accuracy"].notna().all() and len(frame) == 9


def test_lswag_on_a_task_without_its_dataset_announces_synthetic_inputs(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    cfg = compose([f"out_dir={tmp_path / 'out'}", f"data_root={empty}", "progress=false", "task=autoformer_cifar100",
                   "proxy=lswag", "n_archs=1", "batch_size=4", "task.image_size=32", "task.space_options.patch_size=8"])
    result = run(cfg)
    out = capsys.readouterr().out
    assert "SYNTHETIC" in out and result.n_failed == 0


# ------------------------------------------------------------ mini benchmark
def test_mini_benchmark_is_readable_and_consistent_with_its_recipes(real_data):
    if not MINI.exists():
        pytest.skip(f"{MINI} not built yet (make vit-mini-benchmark)")
    from omegaconf import OmegaConf

    from zcbench.build import read_benchmark
    from zcbench.training import Recipe

    frame, attrs = read_benchmark(MINI)
    recipes = {name: Recipe.from_config(OmegaConf.to_container(OmegaConf.load(REPO / "zcbench" / "conf" / "recipe" / f"{name}.yaml")))
               for name in ("vit_cpu_mini", "vit_cpu_small")}
    assert set(frame["recipe_hash"]) == {r.digest() for r in recipes.values()}
    assert attrs["task"] == "autoformer_t_cifar10_mini" and attrs["space"] == "autoformer_t"
    for recipe in recipes.values():
        rows = frame[frame["recipe_hash"] == recipe.digest()]
        n_train = recipe.max_train_images or 4737  # all of the data folder's CIFAR-10 training images
        assert (rows["epochs"] == recipe.epochs).all() and len(rows) >= 6
        assert (rows["steps"] == recipe.epochs * int(np.ceil(n_train / recipe.batch_size))).all()
        assert set(rows["train_seed"]) == {0, 1}
    assert frame["accuracy"].between(0, 100).all()
    t = load_task("autoformer_t_cifar10_mini")
    space, opts = get_space("autoformer_t"), ViTOptions(**t.space_options)
    for arch, params in zip(frame["arch"], frame["params"]):
        assert param_count(space.subnet(arch), 10, opts) == params
    # the task reads the 8-epoch runs, both of them, through the normal reader path
    small = frame[frame["recipe_hash"] == recipes["vit_cpu_small"].digest()]
    assert t.truth["recipe_hash"] == recipes["vit_cpu_small"].digest()
    truth = ground_truth(t, real_data)
    assert set(truth["arch"]) == set(small["arch"])
    means = small.groupby("arch")["accuracy"].mean()
    assert truth.set_index("arch")["accuracy"].sort_index().tolist() == pytest.approx(means.sort_index().tolist())


# ---------------------------------------------------------------- image files
def test_svhn_mat_files(tmp_path):
    from scipy.io import savemat

    d = tmp_path / "images" / "svhn"
    d.mkdir(parents=True)
    x = np.random.default_rng(0).integers(0, 255, (32, 32, 3, 12), dtype=np.uint8)
    y = np.array([[10], [1], [2], [3], [4], [5], [6], [7], [8], [9], [10], [1]])
    savemat(d / "train_32x32.mat", {"X": x, "y": y})
    images = load_split("svhn", tmp_path, "train")
    assert images.images.shape == (12, 3, 32, 32) and images.labels[0] == 0 and images.labels.max() == 9
    assert np.array_equal(images.images[3], x[:, :, :, 3].transpose(2, 0, 1))
    batch = load_batch("svhn", tmp_path, 4, seed=0, image_size=64, num_classes=10)
    assert batch.inputs.shape == (4, 3, 64, 64) and not batch.synthetic and "SVHN" in batch.source
    with pytest.raises(DataNotFoundError, match="test_32x32.mat"):
        load_split("svhn", tmp_path, "test")


def test_spherical_cifar100_pickle(tmp_path):
    d = tmp_path / "images" / "spherical_cifar100"
    d.mkdir(parents=True)
    rng = np.random.default_rng(0)
    part = {"images": rng.random((6, 3, 60, 60)).astype(np.float32), "labels": np.arange(6)}
    with gzip.open(d / "s2_cifar100.gz", "wb") as f:
        pickle.dump({"train": part, "test": part}, f)
    images = load_split("spherical_cifar100", tmp_path, "train")
    assert images.images.dtype == np.uint8 and images.images.shape == (6, 3, 60, 60)
    assert images.images.max() > 200  # [0, 1] floats scaled to 0..255


def test_jpeg_folders_pets_and_chaoyang(tmp_path):
    from PIL import Image

    pets = tmp_path / "images" / "pets"
    (pets / "images").mkdir(parents=True)
    (pets / "annotations").mkdir()
    lines = []
    for i in range(4):
        Image.new("RGB", (300 + 10 * i, 240), (60 * i, 0, 0)).save(pets / "images" / f"cat_{i}.jpg")
        lines.append(f"cat_{i} {i % 2 + 1} 1 1")
    (pets / "annotations" / "trainval.txt").write_text("\n".join(lines))
    images = load_split("pets", tmp_path, "train")
    assert images.images.shape == (4, 3, 224, 224) and list(images.labels) == [0, 1, 0, 1]
    chaoyang = tmp_path / "images" / "chaoyang"
    (chaoyang / "train").mkdir(parents=True)
    Image.new("RGB", (512, 512), (0, 90, 0)).save(chaoyang / "train" / "a.jpg")
    (chaoyang / "train.json").write_text(json.dumps([{"name": "train/a.jpg", "label": 3}]))
    images = load_split("chaoyang", tmp_path, "train")
    assert images.images.shape == (1, 3, 224, 224) and images.labels[0] == 3
    assert abs(int(images.images[0, 1].mean()) - 90) <= 2


def test_builder_trains_vit_subnets_resumes_and_joins(tmp_path, real_data, capsys):
    from zcbench.build import build, compose_build, read_benchmark

    out = tmp_path / "mini.h5"
    common = ["task=autoformer_t_cifar10", "recipe=vit_cpu_mini", "task.image_size=16", "task.space_options.patch_size=8",
              "recipe.epochs=1", "recipe.batch_size=8", "recipe.max_train_images=16", "recipe.max_eval_images=16",
              f"out={out}", f"data_root={real_data}", "progress=false"]
    build(compose_build(common + ["n_archs=1"]))
    build(compose_build(common + ["n_archs=2"]))  # the first network is not trained again
    assert "1 already trained, 1 to train" in capsys.readouterr().out
    frame, attrs = read_benchmark(out)
    assert len(frame) == 2 and json.loads(attrs["space_options"])["patch_size"] == 8
    truth = read_ground_truth("zcbench_benchmark", tmp_path, file="mini.h5")
    space = get_space("autoformer_t")
    assert set(truth["key"]) == {space.sample(random.Random(0))} | set(frame["arch"])
