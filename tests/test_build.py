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

from zcbench.tasks import read_ground_truth
from zcbench.tasks.task import CONF_DIR
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
    args = [sys.executable, "-m", "zcbench.cli.build", *TINY, "n_archs=3", f"out={out}", f"data_root={real_data}"]
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


def test_evaluate_reports_accuracy_and_plain_cross_entropy():
    from zcbench.training import evaluate

    class Constant(torch.nn.Module):  # logits favour class 0 by log(3) over the other two
        def forward(self, x):
            return torch.log(torch.tensor([3.0, 1.0, 1.0])).expand(len(x), 3)

    labels = torch.tensor([0, 0, 1, 2])
    accuracy, loss = evaluate(Constant(), torch.zeros(4, 1), labels, batch_size=3)
    assert accuracy == 50.0
    p = np.array([0.6, 0.2, 0.2])  # softmax of the logits
    assert loss == pytest.approx(-np.log(p[[0, 0, 1, 2]]).mean())


def test_learning_curve_does_not_change_the_trained_network():
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 3, 96)
    images = rng.integers(0, 255, (96, 3, 8, 8)).astype(np.uint8)
    recipe = Recipe(epochs=3, batch_size=32, lr=0.01, warmup_epochs=0)
    results = []
    for curve in (False, True):
        torch.manual_seed(0)
        net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 64, 3))
        results.append(train_and_evaluate(net, (images, labels), (images[:32], labels[:32]), "cifar10", None,
                                          recipe, seed=3, curve=curve))
    plain, with_curve = results
    assert "curve" not in plain and [p["epoch"] for p in with_curve["curve"]] == [1, 2, 3]
    assert with_curve["accuracy"] == plain["accuracy"] and with_curve["eval_loss"] == plain["eval_loss"]
    assert with_curve["curve"][-1] == {"epoch": 3, "accuracy": plain["accuracy"], "eval_loss": plain["eval_loss"]}


def test_curve_agreement_ranks_each_epoch_separately():
    import pandas as pd
    from zcbench.build import curve_agreement

    def record(arch, seed, accs):
        return {"arch": arch, "train_seed": seed,
                "curve": [{"epoch": e + 1, "accuracy": a, "eval_loss": -a} for e, a in enumerate(accs)]}

    # epoch 1: the runs disagree completely; epoch 2: they agree completely
    rows = [record(f"a{i}", 0, [i, i]) for i in range(4)] + [record(f"a{i}", 1, [3 - i, i]) for i in range(4)]
    table = curve_agreement(pd.DataFrame(rows)).set_index(["epoch", "metric"])["spearman"]
    assert table[(1, "accuracy")] == pytest.approx(-1.0) and table[(2, "accuracy")] == pytest.approx(1.0)
    assert table[(2, "eval_loss")] == pytest.approx(1.0)


def test_benchmark_files_without_eval_loss_still_read(tmp_path, real_data):
    import h5py

    out = tmp_path / "bench.h5"
    build(compose_build([*TINY, f"out={out}", f"data_root={real_data}"]))
    assert read_benchmark(out)[0]["eval_loss"].notna().all()
    with h5py.File(out, "a") as f:  # a file written before eval_loss existed
        del f["archs/eval_loss"]
    assert read_benchmark(out)[0]["eval_loss"].isna().all()


def test_build_report_shows_the_agreement_between_runs(tmp_path, real_data):
    from zcbench.build_report import report, spearman_brown

    out = tmp_path / "bench.h5"
    for train_seed in (0, 1):
        build(compose_build([*TINY, "n_archs=3", "recipe.epochs=2", "curve=true", f"train_seed={train_seed}",
                             f"out={out}", f"data_root={real_data}"]))
    text = report(out)
    assert "| networks trained | 6 (3 archs; runs per train_seed: 0: 3, 1: 3) |" in text
    assert "| accuracy | 0 vs 1 | 3 |" in text and "| eval_loss | 0 vs 1 | 3 |" in text
    assert "| 1 | 3 |" in text and "| 2 | 3 |" in text  # agreement after each of the 2 epochs
    assert spearman_brown(0.5, 2) == pytest.approx(2 / 3) and spearman_brown(1.0, 5) == pytest.approx(1.0)
