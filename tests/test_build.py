"""Benchmark builder: training recipe, records, resume after a kill, the reader that joins it."""
from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf

from zcbench.benchmarks import read_ground_truth
from zcbench.benchmarks.tasks import CONF_DIR
from zcbench.build import build, compose_build, read_benchmark, read_records
from zcbench.errors import ZcbenchError
from zcbench.training import Recipe, _augment, train_and_evaluate

REPO = Path(__file__).resolve().parents[1]
TINY = ["task=nb201_cifar10", "n_archs=2", "recipe.epochs=1", "recipe.batch_size=16",
        "recipe.max_train_images=32", "recipe.max_eval_images=32", "progress=false"]


@pytest.mark.parametrize("name", sorted(p.stem for p in (CONF_DIR / "recipe").glob("*.yaml")))
def test_every_recipe_config_is_a_valid_recipe(name):
    cfg = compose_build([f"recipe={name}"])
    recipe = Recipe.from_config(OmegaConf.to_container(cfg.recipe))
    assert recipe.epochs >= 1 and len(recipe.digest()) == 12


def test_recipe_rejects_unknown_keys_and_digest_tracks_every_field():
    with pytest.raises(ZcbenchError, match="unknown keys \\['epochz'\\]"):
        Recipe.from_config({"epochz": 3})
    assert Recipe(epochs=3).digest() != Recipe(epochs=4).digest()
    assert Recipe(epochs=3).digest() == Recipe(epochs=3).digest()


def test_augmentation_crops_within_padding_and_flips():
    x = torch.arange(2 * 3 * 4 * 4, dtype=torch.float32).view(2, 3, 4, 4)
    out = _augment(x, Recipe(crop_padding=1, flip=False), torch.Generator().manual_seed(0))
    assert out.shape == x.shape
    same = _augment(x, Recipe(crop_padding=0, flip=False), torch.Generator().manual_seed(0))
    assert torch.equal(same, x)
    flipped = _augment(x, Recipe(crop_padding=0, flip=True), torch.Generator().manual_seed(1))
    assert all(torch.equal(f, o) or torch.equal(f, o.flip(2)) for f, o in zip(flipped, x))


def test_training_learns_a_separable_problem():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 256)
    images = np.zeros((256, 3, 8, 8), dtype=np.uint8)
    images[labels == 1, 0] = 255  # class 1 has a bright red channel
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 64, 2))
    torch.manual_seed(0)
    result = train_and_evaluate(net, (images, labels), (images[:64], labels[:64]), "cifar10", None,
                                Recipe(epochs=3, batch_size=32, lr=0.01, crop_padding=0, flip=False,
                                       warmup_epochs=0), seed=0)
    assert result["accuracy"] == 100.0 and result["steps"] == 24


def test_build_writes_a_benchmark_that_the_reader_joins(tmp_path, real_data):
    out = tmp_path / "bench.h5"
    build(compose_build([*TINY, f"out={out}", f"data_root={real_data}"]))
    frame, attrs = read_benchmark(out)
    assert len(frame) == 2 and attrs["task"] == "nb201_cifar10"
    assert frame["accuracy"].between(0, 100).all() and (frame["params"] > 0).all()
    assert (frame["epochs"] == 1).all() and frame["recipe_hash"].nunique() == 1
    truth = read_ground_truth("zcbench_benchmark", tmp_path, file="bench.h5")
    assert sorted(truth["key"]) == sorted(frame["arch"])
    # a second training run of the same archs: the reader averages, or picks one
    build(compose_build([*TINY, f"out={out}", f"data_root={real_data}", "train_seed=1"]))
    assert len(read_benchmark(out)[0]) == 4
    one = read_ground_truth("zcbench_benchmark", tmp_path, file="bench.h5", train_seed=1)
    assert len(one) == 2
    with pytest.raises(ZcbenchError, match="no train_seed 7; seeds there: \\[0, 1\\]"):
        read_ground_truth("zcbench_benchmark", tmp_path, file="bench.h5", train_seed=7)


def test_build_resumes_after_a_kill(tmp_path, real_data):
    out = tmp_path / "bench.h5"
    args = [sys.executable, "-m", "zcbench.build", *TINY, "n_archs=3", f"out={out}", f"data_root={real_data}"]
    proc = subprocess.Popen(args, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    records = out.with_name(out.name + ".records")
    deadline = time.time() + 300
    while time.time() < deadline and not list(records.glob("*.json")):
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = {p.name: p.stat().st_mtime_ns for p in records.glob("*.json")}
    assert 1 <= len(done) <= 3
    subprocess.run(args, cwd=REPO, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    after = {p.name: p.stat().st_mtime_ns for p in records.glob("*.json")}
    assert len(after) == 3 and all(after[name] == t for name, t in done.items())
    assert len(read_records(records)) == 3 and len(read_benchmark(out)[0]) == 3


def test_arch_index_out_of_range_is_named(tmp_path, real_data):
    with pytest.raises(ZcbenchError, match="arch_index=5 outside 0..1"):
        build(compose_build([*TINY, "arch_index=5", f"out={tmp_path / 'b.h5'}", f"data_root={real_data}"]))


def test_seed_agreement_pairs_runs_on_shared_archs():
    import pandas as pd
    from zcbench.build import seed_agreement

    acc = np.arange(6, dtype=float)
    frame = pd.DataFrame({"arch": [f"a{i}" for i in range(6)] * 2 + ["only0"],
                          "train_seed": [0] * 6 + [1] * 6 + [0],
                          "accuracy": list(acc) + list(acc[::-1]) + [50.0]})
    table = seed_agreement(frame)
    assert len(table) == 1 and table["n_archs"].iloc[0] == 6
    assert table["spearman"].iloc[0] == pytest.approx(-1.0)
